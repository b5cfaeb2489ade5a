"""`POST /auth/email/resend`: a new verification code for the caller's unverified address, and only that."""

from __future__ import annotations

from typing import Any

from chalice.test import Client

from gatehouse.services import Services
from tests.conftest import DEFAULT_PASSWORD, FakeClock, Mailbox, bearer, json_body, post_json

ADDRESS = "resend@example.com"


def _register(client: Client, username: str, email: str | None = ADDRESS) -> str:
    body: dict[str, Any] = {"username": username, "password": DEFAULT_PASSWORD}
    if email is not None:
        body["email"] = email
    assert post_json(client, "/auth/register", body).status_code == 201
    return _login(client, username)


def _login(client: Client, username: str) -> str:
    login = {"grant_type": "password", "username": username, "password": DEFAULT_PASSWORD}
    response = post_json(client, "/auth/token", login)
    assert response.status_code == 200, response.body
    return str(json_body(response)["access_token"])


def _resend(client: Client, token: str | None) -> Any:
    headers = bearer(token) if token else {}
    return client.http.post("/auth/email/resend", headers=headers)


def _verify(client: Client, username: str, code: str) -> Any:
    return post_json(client, "/auth/email/verify", {"username": username, "code": code})


def test_resend_mails_a_new_code_that_verifies_and_the_old_one_stops_working(
    client: Client, mailbox: Mailbox
) -> None:
    token = _register(client, "rosa")
    first = mailbox.last_code(ADDRESS)
    response = _resend(client, token)
    assert response.status_code == 204, response.body
    assert len(mailbox.to(ADDRESS)) == 2
    second = mailbox.last_code(ADDRESS)
    assert second != first
    assert mailbox.to(ADDRESS)[-1].subject == "Confirm your email address"

    assert json_body(_verify(client, "rosa", first))["error"] == "invalid_code"
    assert _verify(client, "rosa", second).status_code == 204
    me = json_body(client.http.get("/me", headers=bearer(token)))
    assert me["email_verified"] is True


def test_resend_gives_a_fresh_expiry_to_a_code_that_had_expired(
    client: Client, mailbox: Mailbox, rt: Services, clock: FakeClock
) -> None:
    _register(client, "late")
    clock.advance(rt.settings.email_code_ttl + 1)
    expired = mailbox.last_code(ADDRESS)
    assert json_body(_verify(client, "late", expired))["error"] == "invalid_code"
    assert _resend(client, _login(client, "late")).status_code == 204
    assert _verify(client, "late", mailbox.last_code(ADDRESS)).status_code == 204


def test_resend_without_an_address_or_once_verified_is_409_and_mails_nothing(
    client: Client, mailbox: Mailbox
) -> None:
    bare = _register(client, "bare", email=None)
    response = _resend(client, bare)
    assert response.status_code == 409
    assert json_body(response)["error"] == "nothing_to_verify"

    token = _register(client, "done")
    assert _verify(client, "done", mailbox.last_code(ADDRESS)).status_code == 204
    sent = len(mailbox.sent())
    response = _resend(client, token)
    assert (response.status_code, json_body(response)["error"]) == (409, "nothing_to_verify")
    assert len(mailbox.sent()) == sent


def test_resend_needs_a_bearer_token(client: Client, mailbox: Mailbox) -> None:
    _register(client, "anon")
    sent = len(mailbox.sent())
    assert _resend(client, None).status_code == 401
    assert _resend(client, "not-a-token").status_code == 401
    assert len(mailbox.sent()) == sent


def test_the_response_never_carries_the_code(client: Client, mailbox: Mailbox) -> None:
    token = _register(client, "quiet")
    response = _resend(client, token)
    assert mailbox.last_code(ADDRESS) not in response.body.decode(errors="replace")
