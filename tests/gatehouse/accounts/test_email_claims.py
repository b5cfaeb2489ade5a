"""An address claimed but never verified stops keeping it from its real owner once the claim lapses."""

from __future__ import annotations

import threading
from typing import Any

from chalice.test import Client

from gatehouse.services import Services
from tests.conftest import DEFAULT_PASSWORD, FakeClock, Mailbox, bearer, json_body, post_json

VICTIM = "victim@example.com"


def register(client: Client, username: str, email: str | None = None) -> Any:
    body = {"username": username, "password": DEFAULT_PASSWORD}
    if email is not None:
        body["email"] = email
    return post_json(client, "/auth/register", body)


def token_of(client: Client, username: str) -> str:
    body = {"grant_type": "password", "username": username, "password": DEFAULT_PASSWORD}
    return str(json_body(post_json(client, "/auth/token", body))["access_token"])


def me(client: Client, username: str) -> dict[str, Any]:
    return dict(json_body(client.http.get("/me", headers=bearer(token_of(client, username)))))


def change_email(client: Client, username: str, email: str) -> Any:
    body = {"current_password": DEFAULT_PASSWORD, "email": email}
    return post_json(client, "/auth/email", body, bearer(token_of(client, username)))


def verify(client: Client, username: str, code: str) -> Any:
    return post_json(client, "/auth/email/verify", {"username": username, "code": code})


def squat(client: Client, mailbox: Mailbox) -> str:
    """Mallory claims the victim's address at sign-up; the code goes to the victim, not to her."""
    assert register(client, "mallory", VICTIM).status_code == 201
    return mailbox.last_code(VICTIM)


def test_an_unverified_claim_lapses_and_the_owner_signs_up_with_the_address(
    client: Client, rt: Services, clock: FakeClock, mailbox: Mailbox
) -> None:
    squatters_code = squat(client, mailbox)
    held = register(client, "owner", VICTIM)
    assert (held.status_code, json_body(held)["error"]) == (409, "email_taken")
    clock.advance(rt.settings.email_code_ttl)

    assert register(client, "owner", VICTIM).status_code == 201
    assert verify(client, "owner", mailbox.last_code(VICTIM)).status_code == 204
    assert me(client, "owner")["email"] == VICTIM
    assert me(client, "owner")["email_verified"] is True
    # The takeover took the address off mallory's account in the same transaction.
    assert "email" not in me(client, "mallory")
    assert json_body(verify(client, "mallory", squatters_code))["error"] == "invalid_code"
    # Mallory's account is otherwise whole, and deleting it leaves the owner's claim alone.
    body = {"current_password": DEFAULT_PASSWORD}
    deleted = post_json(client, "/auth/account/delete", body, bearer(token_of(client, "mallory")))
    assert deleted.status_code == 204
    assert me(client, "owner")["email"] == VICTIM
    assert json_body(register(client, "someone", VICTIM))["error"] == "email_taken"


def test_the_owner_takes_a_lapsed_address_by_changing_to_it(
    client: Client, rt: Services, clock: FakeClock, mailbox: Mailbox
) -> None:
    assert register(client, "owner", "old@example.com").status_code == 201
    squat(client, mailbox)
    assert json_body(change_email(client, "owner", VICTIM))["error"] == "email_taken"
    clock.advance(rt.settings.email_code_ttl)
    assert change_email(client, "owner", VICTIM).status_code == 204
    assert verify(client, "owner", mailbox.last_code(VICTIM)).status_code == 204
    assert "email" not in me(client, "mallory")
    # The owner's old address was released as usual: anyone may claim it now.
    assert register(client, "other", "old@example.com").status_code == 201


def test_a_claim_still_inside_its_life_keeps_the_address(
    client: Client, rt: Services, clock: FakeClock, mailbox: Mailbox
) -> None:
    squat(client, mailbox)
    clock.advance(rt.settings.email_code_ttl - 1)
    assert json_body(register(client, "owner", VICTIM))["error"] == "email_taken"


def test_a_verified_address_never_lapses(
    client: Client, rt: Services, clock: FakeClock, mailbox: Mailbox
) -> None:
    assert register(client, "owner", VICTIM).status_code == 201
    assert verify(client, "owner", mailbox.last_code(VICTIM)).status_code == 204
    clock.advance(30 * rt.settings.email_code_ttl)
    assert json_body(register(client, "mallory", VICTIM))["error"] == "email_taken"
    assert me(client, "owner")["email_verified"] is True


def test_resending_the_code_does_not_lengthen_the_claim(
    client: Client, rt: Services, clock: FakeClock, mailbox: Mailbox
) -> None:
    squat(client, mailbox)
    clock.advance(rt.settings.email_code_ttl - 60)
    resent = post_json(client, "/auth/email/resend", {}, bearer(token_of(client, "mallory")))
    assert resent.status_code == 204
    clock.advance(60)
    assert register(client, "owner", VICTIM).status_code == 201


def test_a_lapsed_claim_verified_before_anyone_took_it_is_kept(
    client: Client, rt: Services, clock: FakeClock, mailbox: Mailbox
) -> None:
    # Whoever proves the mailbox owns the address, lapsed claim or not.
    assert register(client, "owner", VICTIM).status_code == 201
    clock.advance(rt.settings.email_code_ttl)
    assert post_json(client, "/auth/email/resend", {}, bearer(token_of(client, "owner"))).status_code == 204
    assert verify(client, "owner", mailbox.last_code(VICTIM)).status_code == 204
    assert json_body(register(client, "mallory", VICTIM))["error"] == "email_taken"


def test_a_verification_racing_a_takeover_leaves_the_address_with_exactly_one_account(
    client: Client, rt: Services, clock: FakeClock, mailbox: Mailbox, atomic_conditional_writes: None
) -> None:
    assert register(client, "first", VICTIM).status_code == 201
    clock.advance(rt.settings.email_code_ttl)
    assert post_json(client, "/auth/email/resend", {}, bearer(token_of(client, "first"))).status_code == 204
    code = mailbox.last_code(VICTIM)
    barrier = threading.Barrier(2)
    answers: dict[str, int] = {}

    def verify_it() -> None:
        barrier.wait()
        answers["verify"] = verify(client, "first", code).status_code

    def take_it() -> None:
        barrier.wait()
        answers["register"] = register(client, "second", VICTIM).status_code

    threads = [threading.Thread(target=verify_it), threading.Thread(target=take_it)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers in ({"verify": 204, "register": 409}, {"verify": 400, "register": 201})
    holders = [name for name in ("first", "second") if rt.users.get(name) and me(client, name).get("email")]
    assert len(holders) == 1
    claim = rt.table(rt.settings.users_table).get_item(Key={"username": f"email#{VICTIM}"})["Item"]
    assert claim["owner_name"] == holders[0]


def test_a_claim_written_before_claims_carried_their_life_lapses_with_its_holders_code(
    client: Client, rt: Services, clock: FakeClock, mailbox: Mailbox
) -> None:
    squat(client, mailbox)
    table = rt.table(rt.settings.users_table)
    table.update_item(Key={"username": f"email#{VICTIM}"}, UpdateExpression="REMOVE unverified_until")
    assert json_body(register(client, "owner", VICTIM))["error"] == "email_taken"  # its code still lives
    clock.advance(rt.settings.email_code_ttl)
    assert register(client, "owner", VICTIM).status_code == 201
    assert "email" not in me(client, "mallory")


def test_moving_off_an_unverified_address_and_back_does_not_lengthen_its_claim(
    client: Client, rt: Services, clock: FakeClock, mailbox: Mailbox
) -> None:
    # Otherwise a squatter keeps the address for ever: away and back once a day.
    squat(client, mailbox)
    clock.advance(rt.settings.email_code_ttl - 60)
    assert change_email(client, "mallory", "elsewhere@example.com").status_code == 204
    assert change_email(client, "mallory", VICTIM).status_code == 204
    clock.advance(60)
    assert register(client, "owner", VICTIM).status_code == 201
    assert verify(client, "owner", mailbox.last_code(VICTIM)).status_code == 204
    assert "email" not in me(client, "mallory")


def test_an_address_released_after_its_claim_lapsed_is_claimed_for_a_full_life(
    client: Client, rt: Services, clock: FakeClock, mailbox: Mailbox
) -> None:
    squat(client, mailbox)
    clock.advance(rt.settings.email_code_ttl)
    assert change_email(client, "mallory", "elsewhere@example.com").status_code == 204
    assert register(client, "owner", VICTIM).status_code == 201
    clock.advance(rt.settings.email_code_ttl - 1)
    assert json_body(register(client, "someone", VICTIM))["error"] == "email_taken"
    assert verify(client, "owner", mailbox.last_code(VICTIM)).status_code == 204


def test_a_released_verified_address_is_free_at_once(
    client: Client, rt: Services, clock: FakeClock, mailbox: Mailbox
) -> None:
    assert register(client, "owner", VICTIM).status_code == 201
    assert verify(client, "owner", mailbox.last_code(VICTIM)).status_code == 204
    assert change_email(client, "owner", "new@example.com").status_code == 204
    assert register(client, "other", VICTIM).status_code == 201
    clock.advance(rt.settings.email_code_ttl - 1)
    assert json_body(register(client, "third", VICTIM))["error"] == "email_taken"
