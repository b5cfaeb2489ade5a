"""Password reset by a mailed one-time code, and the forgot-password answer that tells nobody anything."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from chalice.test import Client

from gatehouse.accounts import outbox, recovery
from gatehouse.accounts.codes import ALPHABET, RESET_CODE_LENGTH, code_digest
from gatehouse.services import Services
from tests.conftest import DEFAULT_PASSWORD, FakeClock, Mailbox, bearer, json_body, post_json

NEW_PASSWORD = "Orchid-Canyon-31-harbor"
ADDRESS = "alice@example.com"


@pytest.fixture
def alice(client: Client, mailbox: Mailbox) -> str:
    """An account with a verified address."""
    body = {"username": "alice", "password": DEFAULT_PASSWORD, "email": ADDRESS}
    assert post_json(client, "/auth/register", body).status_code == 201
    code = mailbox.last_code(ADDRESS)
    assert post_json(client, "/auth/email/verify", {"username": "alice", "code": code}).status_code == 204
    return "alice"


def forgot(client: Client, **body: str) -> Any:
    return post_json(client, "/auth/password/forgot", body)


def reset(client: Client, code: str, password: str = NEW_PASSWORD, username: str = "alice") -> Any:
    return post_json(
        client, "/auth/password/reset", {"username": username, "code": code, "new_password": password}
    )


def login(client: Client, password: str, username: str = "alice") -> Any:
    return post_json(
        client, "/auth/token", {"grant_type": "password", "username": username, "password": password}
    )


def reset_mails(mailbox: Mailbox) -> list[Any]:
    return [m for m in mailbox.to(ADDRESS) if m.subject == recovery.SUBJECT]


# -- forgot: a code goes out only to a verified address --------------------------------------


def test_forgot_by_username_mails_a_60_bit_code_in_groups_from_the_unambiguous_alphabet(
    client: Client, alice: str, mailbox: Mailbox
) -> None:
    response = forgot(client, username="alice")
    assert (response.status_code, json_body(response)) == (202, {})
    assert len(reset_mails(mailbox)) == 1
    code = mailbox.last_code(ADDRESS)
    assert len(code) == RESET_CODE_LENGTH
    assert set(code) <= set(ALPHABET)
    assert not set(code) & set("ILOU")
    assert RESET_CODE_LENGTH * math.log2(len(ALPHABET)) >= 60
    assert f"{code[:4]}-{code[4:8]}-{code[8:]}" in reset_mails(mailbox)[-1].body


def test_forgot_by_email_in_any_case_mails_the_code(client: Client, alice: str, mailbox: Mailbox) -> None:
    assert forgot(client, email="ALICE@Example.com").status_code == 202
    assert len(reset_mails(mailbox)) == 1


def test_the_code_is_stored_only_as_a_digest(
    client: Client, alice: str, mailbox: Mailbox, rt: Services
) -> None:
    forgot(client, username="alice")
    code = mailbox.last_code(ADDRESS)
    item = rt.table(rt.settings.users_table).get_item(Key={"username": "alice"})["Item"]
    assert code not in repr(item)
    assert set(item["reset_codes"]) == {code_digest(recovery.PURPOSE, item["account_id"], code)}


def test_the_mail_carries_a_link_when_a_reset_url_is_set(
    make_runtime: Callable[..., Services], mailbox: Mailbox
) -> None:
    import app as gatehouse_app
    from tests.conftest import ROOT

    rt = make_runtime(reset_url="https://app.example.com/reset")
    client = Client(gatehouse_app.app, project_dir=str(ROOT))
    body = {"username": "alice", "password": DEFAULT_PASSWORD, "email": ADDRESS}
    post_json(client, "/auth/register", body)
    post_json(client, "/auth/email/verify", {"username": "alice", "code": mailbox.last_code(ADDRESS)})
    forgot(client, username="alice")
    code = mailbox.last_code(ADDRESS)
    link = f"https://app.example.com/reset?code={code}&amp;username=alice"
    assert link in reset_mails(mailbox)[-1].body
    assert rt.settings.reset_url


def test_enumeration_unknown_name_unknown_email_unverified_email_all_answer_alike(
    client: Client, alice: str, mailbox: Mailbox
) -> None:
    post_json(
        client,
        "/auth/register",
        {"username": "bob", "password": DEFAULT_PASSWORD, "email": "bob@example.com"},
    )
    sent_before = len(mailbox.sent())
    answers = [
        forgot(client, username="alice"),
        forgot(client, username="nobody-here"),
        forgot(client, username="NOT a valid name!"),
        forgot(client, email="nobody@example.com"),
        forgot(client, username="bob"),  # has an address, not verified
        forgot(client, email="bob@example.com"),
    ]
    assert {(a.status_code, a.body) for a in answers} == {(202, b"{}")}
    assert {a.headers["Content-Type"] for a in answers} == {"application/json"}
    # Only alice, whose address is verified, was mailed.
    assert len(mailbox.sent()) == sent_before + 1
    assert mailbox.to("bob@example.com")[-1].subject != recovery.SUBJECT


@pytest.mark.parametrize(
    "body",
    [{"username": "alice"}, {"username": "nobody-here"}, {"username": "bad name"}, {"username": "bob"}],
    ids=["verified", "unknown", "malformed", "unverified"],
)
def test_forgot_by_username_makes_the_same_dynamodb_requests_whatever_the_account(
    client: Client, alice: str, dynamodb_calls: list[str], body: dict[str, str]
) -> None:
    post_json(
        client,
        "/auth/register",
        {"username": "bob", "password": DEFAULT_PASSWORD, "email": "bob@example.com"},
    )
    dynamodb_calls.clear()
    assert forgot(client, **body).status_code == 202
    # The mail caps are counted (the transaction) before a code is stored (the update).
    assert dynamodb_calls == ["GetItem", "TransactWriteItems", "UpdateItem"]


@pytest.mark.parametrize("email", [ADDRESS, "nobody@example.com", "bob@example.com"])
def test_forgot_by_email_makes_the_same_dynamodb_requests_whatever_the_account(
    client: Client, alice: str, dynamodb_calls: list[str], email: str
) -> None:
    post_json(
        client,
        "/auth/register",
        {"username": "bob", "password": DEFAULT_PASSWORD, "email": "bob@example.com"},
    )
    dynamodb_calls.clear()
    assert forgot(client, email=email).status_code == 202
    assert dynamodb_calls == ["GetItem", "GetItem", "TransactWriteItems", "UpdateItem"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"username": "alice", "email": ADDRESS},
        {"email": "not an address"},
        {"username": ""},
        {"email": ""},
        {"username": "alice", "email": None},
        {"username": None},
    ],
)
def test_forgot_needs_exactly_one_well_formed_username_or_email(client: Client, body: dict[str, Any]) -> None:
    response = post_json(client, "/auth/password/forgot", body)
    assert (response.status_code, json_body(response)["error"]) == (400, "invalid_request")


def test_a_failing_mail_service_still_answers_202_and_logs_no_code(
    client: Client, alice: str, rt: Services, mailbox: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    class Down:
        def send_email(self, **_: Any) -> None:
            raise ConnectionError("SES is down")

    rt.mailer._client = Down()
    caplog.set_level("INFO")
    response = forgot(client, username="alice")
    assert (response.status_code, json_body(response)) == (202, {})
    item = rt.table(rt.settings.users_table).get_item(Key={"username": "alice"})["Item"]
    lines = [r.getMessage() for r in caplog.records]
    assert any('"outcome":"failed"' in line for line in lines)
    [digest] = item["reset_codes"]
    assert all(str(digest) not in line for line in lines)


def test_the_forgot_answer_takes_at_least_the_configured_floor(rt: Services) -> None:
    slept: list[float] = []
    # A floor far above what the work takes, even on a loaded machine: the pause is what is left.
    floor_rt = Services(replace(rt.settings, forgot_min_ms=20_000), clock=rt.clock, table=rt.table)
    started = time.monotonic()
    recovery.forgot_password(floor_rt, "nobody-here", None, sleep=slept.append)
    worked = time.monotonic() - started
    [pause] = slept
    assert 0 < pause <= 20
    assert pause + worked >= 20


# -- rate limit, replacement, expiry ----------------------------------------------------------


def test_requests_over_the_hourly_cap_still_answer_202_but_send_nothing(
    client: Client, alice: str, rt: Services, clock: FakeClock, mailbox: Mailbox
) -> None:
    limit = outbox.ADDRESS_CAPS[0][0]
    answers = [forgot(client, username="alice") for _ in range(limit + 2)]
    assert {(a.status_code, a.body) for a in answers} == {(202, b"{}")}
    assert len(reset_mails(mailbox)) == limit
    clock.advance(3601)
    forgot(client, username="alice")
    assert len(reset_mails(mailbox)) == limit + 1


def test_each_mailed_code_stays_valid_beside_later_ones_and_using_one_ends_the_others(
    client: Client, alice: str, mailbox: Mailbox
) -> None:
    forgot(client, username="alice")
    first = mailbox.last_code(ADDRESS)
    forgot(client, username="alice")
    second = mailbox.last_code(ADDRESS)
    assert first != second  # 60 random bits each
    assert reset(client, first).status_code == 204  # a later request replaced nothing
    response = reset(client, second, "Another-Fine-77-password")
    assert (response.status_code, json_body(response)["error"]) == (400, "invalid_code")


def test_an_expired_code_is_invalid(
    client: Client, alice: str, rt: Services, clock: FakeClock, mailbox: Mailbox
) -> None:
    forgot(client, username="alice")
    code = mailbox.last_code(ADDRESS)
    clock.advance(rt.settings.reset_code_ttl)
    response = reset(client, code)
    assert (response.status_code, json_body(response)["error"]) == (400, "invalid_code")
    assert login(client, DEFAULT_PASSWORD).status_code == 200


def test_a_code_just_inside_its_life_still_works(
    client: Client, alice: str, rt: Services, clock: FakeClock, mailbox: Mailbox
) -> None:
    forgot(client, username="alice")
    clock.advance(rt.settings.reset_code_ttl - 1)
    assert reset(client, mailbox.last_code(ADDRESS)).status_code == 204


# -- reset ----------------------------------------------------------------------------------------


def test_reset_sets_the_password_ends_every_session_and_the_code_works_once(
    client: Client, alice: str, mailbox: Mailbox
) -> None:
    grant = json_body(login(client, DEFAULT_PASSWORD))
    forgot(client, username="alice")
    code = mailbox.last_code(ADDRESS)

    assert reset(client, code).status_code == 204

    assert login(client, DEFAULT_PASSWORD).status_code == 400
    assert login(client, NEW_PASSWORD).status_code == 200
    refreshed = post_json(
        client, "/auth/token", {"grant_type": "refresh_token", "refresh_token": grant["refresh_token"]}
    )
    assert refreshed.status_code == 400
    assert client.http.get("/me", headers=bearer(grant["access_token"])).status_code == 401
    again = reset(client, code, "Another-Fine-77-password")
    assert (again.status_code, json_body(again)["error"]) == (400, "invalid_code")


def test_reset_clears_the_lockout(client: Client, alice: str, mailbox: Mailbox) -> None:
    for _ in range(5):
        login(client, "Wrong-password-42")
    assert login(client, DEFAULT_PASSWORD).status_code == 429
    forgot(client, username="alice")
    assert reset(client, mailbox.last_code(ADDRESS)).status_code == 204
    assert login(client, NEW_PASSWORD).status_code == 200


def test_the_new_password_must_pass_the_policy_without_spending_a_guess(
    client: Client, alice: str, mailbox: Mailbox
) -> None:
    forgot(client, username="alice")
    code = mailbox.last_code(ADDRESS)
    for weak in ("short", "password", "alice"):
        response = reset(client, code, weak)
        assert (response.status_code, json_body(response)["error"]) == (400, "invalid_request")
    assert reset(client, code).status_code == 204


@pytest.mark.parametrize("username", ["nobody-here", "bob", "NOT valid", "email#alice@example.com"])
def test_reset_for_another_or_unknown_account_is_invalid_code(
    client: Client, alice: str, mailbox: Mailbox, username: str
) -> None:
    forgot(client, username="alice")
    response = reset(client, mailbox.last_code(ADDRESS), username=username)
    assert (response.status_code, json_body(response)["error"]) == (400, "invalid_code")


def test_a_disabled_account_gets_no_code_and_cannot_use_one(
    client: Client, alice: str, rt: Services, mailbox: Mailbox
) -> None:
    forgot(client, username="alice")
    code = mailbox.last_code(ADDRESS)
    rt.users.set_disabled(rt.users.get("alice"), True)
    assert reset(client, code).status_code == 400
    forgot(client, username="alice")
    assert len(reset_mails(mailbox)) == 1


def test_concurrent_resets_with_one_code_succeed_exactly_once(
    client: Client, alice: str, mailbox: Mailbox, atomic_conditional_writes: None
) -> None:
    forgot(client, username="alice")
    code = mailbox.last_code(ADDRESS)
    statuses: list[int] = []
    barrier = threading.Barrier(4)

    def use(n: int) -> None:
        barrier.wait()
        statuses.append(reset(client, code, f"Distinct-Pass-{n}-words").status_code)

    threads = [threading.Thread(target=use, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [204, 400, 400, 400]


def test_logins_racing_a_reset_leave_no_session_that_refreshes(
    client: Client, alice: str, mailbox: Mailbox, atomic_conditional_writes: None
) -> None:
    """Every session whose login began before the reset returned is gone afterwards.

    A login that read the old hash before the reset fails its session write:
    the reset bumps the credential version that write is conditioned on, and
    ``end_all_sessions`` finds every earlier session with one consistent query.
    """
    forgot(client, username="alice")
    code = mailbox.last_code(ADDRESS)
    refresh_tokens: list[str] = []
    stop = threading.Event()

    def keep_logging_in() -> None:
        while not stop.is_set():
            response = login(client, DEFAULT_PASSWORD)
            if response.status_code == 200:
                refresh_tokens.append(json_body(response)["refresh_token"])

    threads = [threading.Thread(target=keep_logging_in) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        assert reset(client, code).status_code == 204
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    survivors = [
        t
        for t in refresh_tokens
        if post_json(client, "/auth/token", {"grant_type": "refresh_token", "refresh_token": t}).status_code
        == 200
    ]
    assert survivors == []


def test_the_owner_is_told_at_the_verified_address_once_the_password_is_reset(
    client: Client, alice: str, mailbox: Mailbox
) -> None:
    forgot(client, username="alice")
    code = mailbox.last_code(ADDRESS)
    assert reset(client, code).status_code == 204
    notice = mailbox.to(ADDRESS)[-1]
    assert notice.subject == "Your password was reset"
    assert code not in notice.body


def test_a_pending_reset_code_dies_when_the_password_is_changed(
    client: Client, alice: str, mailbox: Mailbox
) -> None:
    forgot(client, username="alice")
    code = mailbox.last_code(ADDRESS)
    token = json_body(login(client, DEFAULT_PASSWORD))["access_token"]
    body = {"current_password": DEFAULT_PASSWORD, "new_password": "Lantern-Meadow-58-quiet"}
    assert post_json(client, "/auth/password", body, bearer(token)).status_code == 204
    assert json_body(reset(client, code))["error"] == "invalid_code"


def test_a_pending_reset_code_dies_when_the_address_is_changed(
    client: Client, alice: str, mailbox: Mailbox
) -> None:
    # The code went to the old address, which may be the one that was compromised.
    forgot(client, username="alice")
    code = mailbox.last_code(ADDRESS)
    token = json_body(login(client, DEFAULT_PASSWORD))["access_token"]
    body = {"current_password": DEFAULT_PASSWORD, "email": "alice@example.org"}
    assert post_json(client, "/auth/email", body, bearer(token)).status_code == 204
    assert json_body(reset(client, code))["error"] == "invalid_code"
