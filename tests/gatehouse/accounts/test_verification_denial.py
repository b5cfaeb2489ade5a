"""Nobody else can keep an owner from verifying their address: not by guessing at the code.

Verification is public (the route takes a username and a code), and only a
verified address ever receives a password reset code, so a code that
strangers could kill would let them block recovery for good.  The attacker
here has as many source addresses as it likes and knows the username.
"""

from __future__ import annotations

import threading
from typing import Any

from chalice.test import Client

from gatehouse.accounts import guesses
from gatehouse.accounts.codes import ALPHABET, EMAIL_CODE_LENGTH, RESET_CODE_LENGTH
from gatehouse.services import Services
from tests.conftest import DEFAULT_PASSWORD, FakeClock, Mailbox, json_body, post_json
from tests.gatehouse.accounts.test_recovery_denial import from_source, stranger

ADDRESS = "alice@example.com"
OWNER_SOURCE = "198.51.100.7"
HOUR = 3600


def register_alice(client: Client) -> None:
    body = {"username": "alice", "password": DEFAULT_PASSWORD, "email": ADDRESS}
    assert post_json(client, "/auth/register", body).status_code == 201


def verify(client: Client, source: str, code: str, username: str = "alice") -> Any:
    with from_source(source):
        return post_json(client, "/auth/email/verify", {"username": username, "code": code})


def wrong_code(code: str) -> str:
    return ("0" if code[0] != "0" else "1") + code[1:]


def test_a_verification_code_is_as_long_as_a_reset_code_and_mailed_in_groups(
    client: Client, mailbox: Mailbox
) -> None:
    register_alice(client)
    body = mailbox.to(ADDRESS)[-1].body
    code = mailbox.last_code(ADDRESS)
    assert EMAIL_CODE_LENGTH == RESET_CODE_LENGTH == len(code) == 12
    assert set(code) <= set(ALPHABET)
    assert f"{code[:4]}-{code[4:8]}-{code[8:]}" in body


def test_wrong_guesses_from_anywhere_never_kill_the_owners_code(client: Client, mailbox: Mailbox) -> None:
    register_alice(client)
    code = mailbox.last_code(ADDRESS)
    for _ in range(50):
        response = verify(client, stranger(), wrong_code(code))
        assert (response.status_code, json_body(response)["error"]) == (400, "invalid_code")
    assert verify(client, OWNER_SOURCE, code).status_code == 204


def test_guesses_are_capped_per_source_and_never_per_account(
    client: Client, mailbox: Mailbox, rt: Services
) -> None:
    register_alice(client)
    code = mailbox.last_code(ADDRESS)
    guesser = stranger()
    limit = guesses.GUESS_CAPS[0][0]
    answers = [verify(client, guesser, wrong_code(code)).status_code for _ in range(limit + 2)]
    assert answers == [400] * limit + [429] * 2
    refused = verify(client, guesser, code)  # past its cap even the right code is not looked at
    assert (refused.status_code, json_body(refused)["error"]) == (429, "too_many_attempts")
    assert 0 < int(refused.headers["Retry-After"]) <= HOUR
    assert not _verified(client, rt)
    assert verify(client, OWNER_SOURCE, code).status_code == 204  # the owner's source has its own
    assert _verified(client, rt)


def test_a_source_capped_on_reset_codes_may_still_verify_and_the_reverse(
    client: Client, mailbox: Mailbox
) -> None:
    register_alice(client)
    code = mailbox.last_code(ADDRESS)
    limit = guesses.GUESS_CAPS[0][0]
    for _ in range(limit):
        with from_source(OWNER_SOURCE):
            body = {"username": "alice", "code": "0000-0000-0000", "new_password": "Orchid-Canyon-31-harbor"}
            assert post_json(client, "/auth/password/reset", body).status_code == 400
    assert verify(client, OWNER_SOURCE, code).status_code == 204


def test_a_malformed_code_counts_no_guess(client: Client, mailbox: Mailbox) -> None:
    register_alice(client)
    code = mailbox.last_code(ADDRESS)
    for raw in ["not-a-code!", code[:8], code + "A"] * guesses.GUESS_CAPS[0][0]:
        response = verify(client, OWNER_SOURCE, raw)
        assert (response.status_code, json_body(response)["error"]) == (400, "invalid_code")
    assert verify(client, OWNER_SOURCE, code).status_code == 204


def test_the_cap_lifts_in_the_next_window(client: Client, mailbox: Mailbox, clock: FakeClock) -> None:
    register_alice(client)
    code = mailbox.last_code(ADDRESS)
    for _ in range(guesses.GUESS_CAPS[0][0]):
        verify(client, OWNER_SOURCE, wrong_code(code))
    assert verify(client, OWNER_SOURCE, code).status_code == 429
    clock.advance(HOUR - clock.now % HOUR)
    assert verify(client, OWNER_SOURCE, code).status_code == 204


def test_parallel_guesses_from_one_source_never_get_past_its_cap(
    client: Client, mailbox: Mailbox, atomic_conditional_writes: None
) -> None:
    register_alice(client)
    code = mailbox.last_code(ADDRESS)
    limit = guesses.GUESS_CAPS[0][0]
    barrier = threading.Barrier(limit + 10)
    answers: list[int] = []

    def guess() -> None:
        barrier.wait()
        answers.append(
            post_json(
                client, "/auth/email/verify", {"username": "alice", "code": wrong_code(code)}
            ).status_code
        )

    with from_source(stranger()):  # every thread's request comes from this one address
        threads = [threading.Thread(target=guess) for _ in range(limit + 10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(answers) == [400] * limit + [429] * 10
    assert verify(client, OWNER_SOURCE, code).status_code == 204


def _verified(client: Client, rt: Services) -> bool:
    contact = rt.account_email.contact("alice", rt.users.get("alice").account_id)  # type: ignore[union-attr]
    return contact is not None and contact.verified
