"""A deleted account's tokens, codes and in-flight logins are worthless against a later account of its name.

Each test deletes "alice", lets somebody register "alice" again at once (with
the same password, the worst case), and then tries one thing the old account
held against the new one, inside the authorizer's session-cache window.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from chalice.test import Client

from gatehouse.accounts import deletion, login
from gatehouse.errors import InvalidGrant
from gatehouse.services import Services
from gatehouse.storage.users import ACCOUNT_ID_PATTERN
from tests.conftest import DEFAULT_PASSWORD, FakeClock, Mailbox, bearer, json_body, post_json

ADDRESS = "alice@example.com"
WRONG = "Wrong-password-42"


def register(client: Client, email: str | None = None) -> None:
    body = {"username": "alice", "password": DEFAULT_PASSWORD, **({"email": email} if email else {})}
    response = post_json(client, "/auth/register", body)
    assert response.status_code == 201, response.body


def password_grant(client: Client, password: str = DEFAULT_PASSWORD, device_token: str | None = None) -> Any:
    body = {"grant_type": "password", "username": "alice", "password": password}
    if device_token is not None:
        body["device_token"] = device_token
    return post_json(client, "/auth/token", body)


def grant(client: Client) -> dict[str, Any]:
    response = password_grant(client)
    assert response.status_code == 200, response.body
    return dict(json_body(response))


def delete_own(client: Client, access_token: str) -> None:
    response = post_json(
        client, "/auth/account/delete", {"current_password": DEFAULT_PASSWORD}, bearer(access_token)
    )
    assert response.status_code == 204, response.body


def account_id_of(access_token: str) -> str:
    return str(jwt.decode(access_token, options={"verify_signature": False})["sub"])


@pytest.fixture
def old_and_new(client: Client, rt: Services) -> tuple[dict[str, Any], dict[str, Any]]:
    """The first alice's grant (account deleted), and a grant of the second alice, registered at once."""
    register(client)
    old = grant(client)
    assert client.http.get("/me", headers=bearer(old["access_token"])).status_code == 200  # now cached live
    delete_own(client, old["access_token"])
    register(client)
    new = grant(client)
    return old, new


def test_every_account_gets_its_own_random_id_and_the_token_carries_it_as_sub(
    old_and_new: tuple[dict[str, Any], dict[str, Any]], rt: Services
) -> None:
    old, new = old_and_new
    old_id, new_id = account_id_of(old["access_token"]), account_id_of(new["access_token"])
    assert ACCOUNT_ID_PATTERN.fullmatch(old_id)
    assert ACCOUNT_ID_PATTERN.fullmatch(new_id)
    assert old_id != new_id
    assert rt.users.get("alice").account_id == new_id


def test_the_old_access_token_inside_the_cache_window_reads_and_ends_nothing_of_the_new_account(
    client: Client, rt: Services, old_and_new: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    old, new = old_and_new
    post_json(
        client,
        "/auth/email",
        {"current_password": DEFAULT_PASSWORD, "email": ADDRESS},
        bearer(new["access_token"]),
    )
    created = post_json(client, "/notes", {"text": "the new alice's"}, bearer(new["access_token"]))
    assert created.status_code == 201
    stale = bearer(old["access_token"])

    me = client.http.get("/me", headers=stale)
    assert (me.status_code, json_body(me)["error"]) == (401, "invalid_token")
    assert json_body(client.http.get("/notes", headers=stale)) == []
    assert client.http.get(f"/notes/{json_body(created)['id']}", headers=stale).status_code == 404
    client.http.delete("/auth/sessions", headers=stale)  # "log out everywhere", as the old alice
    client.http.delete(
        f"/auth/sessions/{jwt.decode(new['access_token'], options={'verify_signature': False})['sid']}",
        headers=stale,
    )

    mine = client.http.get("/me", headers=bearer(new["access_token"]))
    assert mine.status_code == 200
    assert json_body(mine)["email"] == ADDRESS
    assert [n["text"] for n in json_body(client.http.get("/notes", headers=bearer(new["access_token"])))] == [
        "the new alice's"
    ]
    refreshed = post_json(
        client, "/auth/token", {"grant_type": "refresh_token", "refresh_token": new["refresh_token"]}
    )
    assert refreshed.status_code == 200


def test_the_old_refresh_token_is_refused_and_ends_nothing_of_the_new_account(
    client: Client, old_and_new: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    old, new = old_and_new
    for attempt in ("refresh", "revoke"):
        if attempt == "refresh":
            body = {"grant_type": "refresh_token", "refresh_token": old["refresh_token"]}
            response = post_json(client, "/auth/token", body)
            assert (response.status_code, json_body(response)["error"]) == (400, "invalid_grant")
        else:
            post_json(client, "/auth/revoke", {"token": old["refresh_token"]})
    body = {"grant_type": "refresh_token", "refresh_token": new["refresh_token"]}
    assert post_json(client, "/auth/token", body).status_code == 200


def test_the_old_device_token_gives_no_exemption_from_the_new_accounts_lockout(
    client: Client, rt: Services, old_and_new: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    old, _ = old_and_new
    for _ in range(rt.settings.lockout_threshold):
        assert password_grant(client, WRONG).status_code == 400
    assert password_grant(client).status_code == 429  # the name is locked
    # The old alice's device token, in the same second: not a device of this account.
    assert password_grant(client, device_token=old["device_token"]).status_code == 429


def test_a_pending_reset_code_of_the_old_account_never_resets_the_new_one(
    client: Client, rt: Services, mailbox: Mailbox
) -> None:
    register(client, ADDRESS)
    code = mailbox.last_code(ADDRESS)
    assert post_json(client, "/auth/email/verify", {"username": "alice", "code": code}).status_code == 204
    assert post_json(client, "/auth/password/forgot", {"username": "alice"}).status_code == 202
    old_code = mailbox.last_code(ADDRESS)
    delete_own(client, grant(client)["access_token"])

    register(client, ADDRESS)
    verify = mailbox.last_code(ADDRESS)
    assert post_json(client, "/auth/email/verify", {"username": "alice", "code": old_code}).status_code == 400
    assert post_json(client, "/auth/email/verify", {"username": "alice", "code": verify}).status_code == 204
    assert post_json(client, "/auth/password/forgot", {"username": "alice"}).status_code == 202  # a new code
    body = {"username": "alice", "code": old_code, "new_password": "Orchid-Canyon-31-harbor"}
    response = post_json(client, "/auth/password/reset", body)
    assert (response.status_code, json_body(response)["error"]) == (400, "invalid_code")
    assert password_grant(client).status_code == 200  # the new alice's password stands


def test_a_pending_verification_code_of_the_old_account_never_verifies_the_new_one(
    client: Client, mailbox: Mailbox
) -> None:
    register(client, ADDRESS)
    old_code = mailbox.last_code(ADDRESS)
    delete_own(client, grant(client)["access_token"])
    register(client, ADDRESS)
    response = post_json(client, "/auth/email/verify", {"username": "alice", "code": old_code})
    assert (response.status_code, json_body(response)["error"]) == (400, "invalid_code")


def test_the_account_deleted_hook_gets_the_account_id_not_the_reusable_name(
    client: Client, rt: Services, make_user: Callable[..., Any]
) -> None:
    calls: list[str] = []
    creds = make_user("alice")
    deletion.delete_user(rt, "alice", [calls.append])
    assert calls == [creds.account_id]


def test_a_login_that_read_the_deleted_account_never_finishes_in_the_new_one(
    client: Client,
    rt: Services,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    atomic_conditional_writes: None,
) -> None:
    """The in-flight race: a login reads the old alice, is held after its password check while the
    account is deleted and re-registered with the same password, then tries to open its session."""
    register(client)
    old_id = rt.users.get("alice").account_id
    inside, release = threading.Event(), threading.Event()
    original = rt.hasher.check
    outcome: list[object] = []

    def held_check(stored: str | None, password: str) -> Any:
        result = original(stored, password)
        if threading.current_thread() is racer:
            inside.set()
            release.wait(timeout=30)
        return result

    monkeypatch.setattr(rt.hasher, "check", held_check)

    def race() -> None:
        try:
            outcome.append(login.password_login(rt, "alice", DEFAULT_PASSWORD, "in flight"))
        except InvalidGrant as refused:
            outcome.append(refused)

    racer = threading.Thread(target=race)
    racer.start()
    assert inside.wait(timeout=30)
    deletion.delete_user(rt, "alice", [])
    register(client)  # same name, same password, same credential version as the one read
    new_id = rt.users.get("alice").account_id
    release.set()
    racer.join(timeout=30)

    [refused] = outcome
    assert isinstance(refused, InvalidGrant), outcome
    assert rt.sessions.keys_for(new_id) == []
    assert rt.sessions.keys_for(old_id) == []
