"""Nobody else can deny an owner their password reset: not by asking, not by guessing.

The attacker here is anonymous and has as many source addresses as it
likes; it knows the owner's username and address.  Each test is a script of
what it does, and then what the owner can still do.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import count
from typing import Any

import pytest
from chalice.local import LambdaEventConverter
from chalice.test import Client

from gatehouse.accounts import guesses, outbox, recovery
from gatehouse.accounts.codes import MAX_LIVE_RESET_CODES
from gatehouse.services import Services
from tests.conftest import DEFAULT_PASSWORD, FakeClock, Mailbox, json_body, post_json

ADDRESS = "alice@example.com"
NEW_PASSWORD = "Orchid-Canyon-31-harbor"
OWNER_SOURCE = "198.51.100.7"
HOUR = 3600
_fresh = count(1)


@pytest.fixture
def alice(client: Client, mailbox: Mailbox) -> str:
    """An account with a verified address."""
    body = {"username": "alice", "password": DEFAULT_PASSWORD, "email": ADDRESS}
    assert post_json(client, "/auth/register", body).status_code == 201
    code = mailbox.last_code(ADDRESS)
    assert post_json(client, "/auth/email/verify", {"username": "alice", "code": code}).status_code == 204
    return "alice"


@contextmanager
def from_source(address: str) -> Iterator[None]:
    """Requests made inside come from ``address`` (API Gateway's ``sourceIp``)."""
    saved = LambdaEventConverter.LOCAL_SOURCE_IP
    LambdaEventConverter.LOCAL_SOURCE_IP = address
    try:
        yield
    finally:
        LambdaEventConverter.LOCAL_SOURCE_IP = saved


def stranger() -> str:
    """A source address never used before: the attacker has as many as it likes."""
    n = next(_fresh)
    return f"203.0.{n // 250}.{n % 250 + 1}"


def forgot(client: Client, source: str, **body: str) -> Any:
    with from_source(source):
        return post_json(client, "/auth/password/forgot", body)


def reset(client: Client, source: str, code: str, password: str = NEW_PASSWORD) -> Any:
    with from_source(source):
        body = {"username": "alice", "code": code, "new_password": password}
        return post_json(client, "/auth/password/reset", body)


def reset_mails(mailbox: Mailbox) -> list[Any]:
    return [m for m in mailbox.to(ADDRESS) if m.subject == recovery.SUBJECT]


def wrong_code(real: str = "") -> str:
    return "0000-0000-0000" if real != "000000000000" else "1111-1111-1111"


def attack(client: Client, asks: int = 4, guesses: int = 3) -> None:
    """Ask for codes by name and by address and guess wrong codes, each from a fresh source."""
    for n in range(asks):
        body = {"username": "alice"} if n % 2 else {"email": ADDRESS}
        assert forgot(client, stranger(), **body).status_code == 202
    for _ in range(guesses):
        assert json_body(reset(client, stranger(), wrong_code()))["error"] == "invalid_code"


def to_next_hour(clock: FakeClock) -> None:
    clock.advance(HOUR - clock.now % HOUR)


def test_strangers_asking_and_guessing_all_day_never_stop_the_owner_from_resetting_within_the_hour(
    client: Client, alice: str, clock: FakeClock, mailbox: Mailbox
) -> None:
    # A whole day of it, from the first second of every hour: the daily caps go in the first
    # hours, and every hour's one remaining mail is taken by the attacker before the owner asks.
    to_next_hour(clock)
    for _ in range(20):
        attack(client)
        clock.advance(HOUR)
    attack(client, guesses=30)
    # 20 minutes into the hour: every code the attacker had mailed has expired; the owner asks.
    clock.advance(20 * 60)
    asked_at = clock.now
    assert forgot(client, OWNER_SOURCE, username="alice").status_code == 202
    # At the next hour the attacker, first again, asks and guesses; its mail reaches the owner.
    to_next_hour(clock)
    attack(client, guesses=30)
    clock.advance(5 * 60)
    assert clock.now - asked_at <= HOUR
    code = mailbox.last_code(ADDRESS)
    assert reset(client, OWNER_SOURCE, code).status_code == 204
    body = {"grant_type": "password", "username": "alice", "password": NEW_PASSWORD}
    assert post_json(client, "/auth/token", body).status_code == 200


def test_wrong_guesses_from_anywhere_never_kill_a_mailed_code(
    client: Client, alice: str, mailbox: Mailbox
) -> None:
    assert forgot(client, OWNER_SOURCE, username="alice").status_code == 202
    code = mailbox.last_code(ADDRESS)
    for _ in range(100):
        response = reset(client, stranger(), wrong_code(code))
        assert (response.status_code, json_body(response)["error"]) == (400, "invalid_code")
    assert reset(client, OWNER_SOURCE, code).status_code == 204


def test_strangers_requests_replace_no_mailed_code(client: Client, alice: str, mailbox: Mailbox) -> None:
    assert forgot(client, OWNER_SOURCE, username="alice").status_code == 202
    code = mailbox.last_code(ADDRESS)
    attack(client, asks=10, guesses=0)
    assert reset(client, OWNER_SOURCE, code).status_code == 204


def test_reset_attempts_are_capped_per_source_and_never_per_account(
    client: Client, alice: str, mailbox: Mailbox, clock: FakeClock
) -> None:
    assert forgot(client, OWNER_SOURCE, username="alice").status_code == 202
    code = mailbox.last_code(ADDRESS)
    guesser = stranger()
    limit = guesses.GUESS_CAPS[0][0]
    answers = [reset(client, guesser, wrong_code(code)).status_code for _ in range(limit + 3)]
    assert answers == [400] * limit + [429] * 3
    refused = reset(client, guesser, code)  # past its cap even the right code is not looked at
    assert (refused.status_code, json_body(refused)["error"]) == (429, "too_many_attempts")
    assert 0 < int(refused.headers["Retry-After"]) <= HOUR
    assert reset(client, OWNER_SOURCE, code).status_code == 204  # the owner's source has its own


def test_a_refused_password_or_a_malformed_code_counts_no_attempt(
    client: Client, alice: str, mailbox: Mailbox
) -> None:
    assert forgot(client, OWNER_SOURCE, username="alice").status_code == 202
    code = mailbox.last_code(ADDRESS)
    for _ in range(guesses.GUESS_CAPS[0][0] + 5):
        assert json_body(reset(client, OWNER_SOURCE, code, "short"))["error"] == "invalid_request"
        assert json_body(reset(client, OWNER_SOURCE, "not-a-code!"))["error"] == "invalid_code"
    assert reset(client, OWNER_SOURCE, code).status_code == 204


def test_past_the_daily_caps_an_address_still_gets_one_reset_mail_in_each_hour_that_had_none(
    client: Client, alice: str, clock: FakeClock, mailbox: Mailbox
) -> None:
    day = outbox.DAY
    clock.advance(day - clock.now % day)  # the start of a UTC day: every window starts empty
    per_hour: list[int] = []
    for hour in range(24):
        before = len(reset_mails(mailbox))
        # Past the daily cap two requests an hour show it: one is mailed, the next is not.
        for _ in range(outbox.ADDRESS_CAPS[0][0] + 1 if hour < 4 else 2):
            assert forgot(client, stranger(), username="alice").status_code == 202
        per_hour.append(len(reset_mails(mailbox)) - before)
        clock.advance(HOUR)
    hourly, daily = outbox.ADDRESS_CAPS[0][0], outbox.ADDRESS_CAPS[1][0]
    assert per_hour[:4] == [hourly, hourly, hourly, daily - 3 * hourly]
    assert per_hour[4:] == [1] * 20
    assert sum(per_hour) == daily + 20 == 30  # the most reset mails one address gets in a day


def test_a_capped_request_stores_no_code(client: Client, alice: str, rt: Services, mailbox: Mailbox) -> None:
    for _ in range(10):
        forgot(client, stranger(), username="alice")
    item = rt.table(rt.settings.users_table).get_item(Key={"username": "alice"})["Item"]
    assert len(item["reset_codes"]) == len(reset_mails(mailbox)) == outbox.ADDRESS_CAPS[0][0]


def test_concurrent_requests_each_add_their_own_code(
    client: Client, alice: str, rt: Services, mailbox: Mailbox, atomic_conditional_writes: None
) -> None:
    barrier = threading.Barrier(3)
    sources = [stranger() for _ in range(3)]

    def ask(source: str) -> None:
        barrier.wait()
        recovery.forgot_password(rt, "alice", None, source=source)

    threads = [threading.Thread(target=ask, args=(s,)) for s in sources]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    item = rt.table(rt.settings.users_table).get_item(Key={"username": "alice"})["Item"]
    assert len(item["reset_codes"]) == len(reset_mails(mailbox)) == 3


def test_expired_codes_leave_the_item_when_a_new_one_is_added(
    client: Client, alice: str, rt: Services, clock: FakeClock, mailbox: Mailbox
) -> None:
    forgot(client, OWNER_SOURCE, username="alice")
    clock.advance(rt.settings.reset_code_ttl)
    forgot(client, OWNER_SOURCE, username="alice")
    item = rt.table(rt.settings.users_table).get_item(Key={"username": "alice"})["Item"]
    assert len(item["reset_codes"]) == 1
    assert reset(client, OWNER_SOURCE, mailbox.last_code(ADDRESS)).status_code == 204


@pytest.mark.parametrize("pending", [0, 1, 3], ids=["none", "one", "three"])
def test_a_wrong_code_makes_the_same_request_and_the_same_comparisons_whatever_is_pending(
    client: Client,
    alice: str,
    rt: Services,
    dynamodb_calls: list[str],
    monkeypatch: pytest.MonkeyPatch,
    pending: int,
) -> None:
    for _ in range(pending):
        assert forgot(client, stranger(), username="alice").status_code == 202
    compared: list[int] = []
    compare = hmac.compare_digest

    def counting(a: Any, b: Any) -> bool:
        compared.append(len(a))
        return compare(a, b)

    monkeypatch.setattr(recovery.hmac, "compare_digest", counting)
    dynamodb_calls.clear()
    assert json_body(reset(client, OWNER_SOURCE, wrong_code()))["error"] == "invalid_code"
    assert dynamodb_calls == ["TransactWriteItems", "GetItem"]  # the source's count, the codes
    assert compared == [64] * MAX_LIVE_RESET_CODES


def device_token_of(client: Client, username: str = "alice") -> str:
    body = {"grant_type": "password", "username": username, "password": DEFAULT_PASSWORD}
    return str(json_body(post_json(client, "/auth/token", body))["device_token"])


def test_the_owners_device_gets_a_code_at_once_whatever_strangers_spent(
    client: Client, alice: str, mailbox: Mailbox
) -> None:
    token = device_token_of(client)
    attack(client, asks=outbox.ADDRESS_CAPS[0][0] + 2, guesses=0)  # this hour's reset mails are spent
    spent = len(reset_mails(mailbox))
    assert forgot(client, OWNER_SOURCE, username="alice").status_code == 202
    assert len(reset_mails(mailbox)) == spent  # anonymous: capped
    # From a source the attacker shares and has spent too, with the device token: mailed at once.
    shared = stranger()
    for _ in range(outbox.SOURCE_CAPS[0][0]):
        forgot(client, shared, username="nobody-here")
    assert forgot(client, shared, username="alice", device_token=token).status_code == 202
    assert len(reset_mails(mailbox)) == spent + 1
    assert reset(client, OWNER_SOURCE, mailbox.last_code(ADDRESS)).status_code == 204


def test_a_device_token_of_another_account_or_a_forged_one_is_just_an_anonymous_request(
    client: Client, alice: str, mailbox: Mailbox
) -> None:
    assert (
        post_json(client, "/auth/register", {"username": "mallory", "password": DEFAULT_PASSWORD}).status_code
        == 201
    )
    others = device_token_of(client, "mallory")
    real = device_token_of(client)
    forged = real[:10] + ("B" if real[10] != "B" else "C") + real[11:]  # another id under the same tag
    attack(client, asks=outbox.ADDRESS_CAPS[0][0], guesses=0)
    spent = len(reset_mails(mailbox))
    for token in (others, forged, "not a token"):
        assert forgot(client, stranger(), username="alice", device_token=token).status_code == 202
    assert len(reset_mails(mailbox)) == spent


def test_the_device_budget_is_the_accounts_own_cap(client: Client, alice: str, mailbox: Mailbox) -> None:
    token = device_token_of(client)
    hourly = outbox.DEVICE_RESET_CAPS[0][0]
    answers = [forgot(client, OWNER_SOURCE, username="alice", device_token=token) for _ in range(hourly + 2)]
    assert {(a.status_code, a.body) for a in answers} == {(202, b"{}")}
    assert len(reset_mails(mailbox)) == hourly
