"""Lockout an attacker cannot turn against the owner: device tokens, decaying failures, unlock.

The attacker knows a name and nothing else.  Their wrong guesses lock the
name for requests without a device token; the owner's device, which got a
device token at its last successful login, keeps its own counter and logs
in.  Failures stop counting when their observation window ends, for real
accounts and unknown names alike, whatever the TTL sweep has removed.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.conftest import bearer, json_body, post_json

WRONG = "Wrong-password-1"


def attempt(client: Any, username: str, password: str, device_token: str | None = None) -> Any:
    body = {"grant_type": "password", "username": username, "password": password}
    if device_token is not None:
        body["device_token"] = device_token
    return post_json(client, "/auth/token", body)


def device_token_of(client: Any, creds: Any) -> str:
    response = attempt(client, creds.username, creds.password)
    assert response.status_code == 200, response.body
    return str(json_body(response)["device_token"])


def outcome(response: Any) -> tuple[int, str | None, str]:
    body = json_body(response)
    return response.status_code, response.headers.get("Retry-After"), body.get("error", "ok")


def lock_the_name(client: Any, username: str) -> None:
    statuses = [attempt(client, username, WRONG).status_code for _ in range(6)]
    assert statuses == [400] * 5 + [429]


def test_password_grant_returns_an_opaque_device_token_of_at_least_128_bits(client, make_user):
    creds = make_user()
    token = device_token_of(client, creds)
    raw = base64.urlsafe_b64decode(token + "=")
    assert len(raw) == 32  # 128 random bits and a 128-bit MAC
    assert creds.username.encode() not in raw


def test_device_token_is_stored_nowhere(client, make_user, rt):
    creds = make_user()
    token = device_token_of(client, creds)
    for table in (rt.users._table, rt.sessions._table, rt.attempts._table):
        assert token not in repr(table.scan()["Items"])


def test_a_valid_device_token_comes_back_unchanged_and_a_missing_one_is_issued(client, make_user):
    creds = make_user()
    token = device_token_of(client, creds)
    again = attempt(client, creds.username, creds.password, token)
    assert json_body(again)["device_token"] == token
    assert device_token_of(client, creds) != token  # no token sent: a new device


def test_the_names_lockout_never_refuses_a_valid_device_token(client, make_user):
    creds = make_user()
    token = device_token_of(client, creds)
    lock_the_name(client, creds.username)  # the attacker, who has no device token
    assert attempt(client, creds.username, creds.password).status_code == 429
    assert attempt(client, creds.username, creds.password, token).status_code == 200


def test_failures_with_device_tokens_share_one_account_budget_that_never_locks_the_name(client, make_user):
    creds = make_user()
    tokens = [device_token_of(client, creds) for _ in range(3)]
    statuses = [attempt(client, creds.username, WRONG, tokens[n % 3]).status_code for n in range(6)]
    assert statuses == [400] * 5 + [429]  # one budget, whichever token guessed
    assert [attempt(client, creds.username, creds.password, t).status_code for t in tokens] == [429] * 3
    # The name's own counter is another thing: a new device still logs in.
    assert attempt(client, creds.username, creds.password).status_code == 200


@pytest.mark.parametrize("kind", ["another-users", "tampered", "not-a-token"])
def test_a_device_token_not_valid_for_the_name_counts_against_the_name(client, make_user, kind):
    creds = make_user()
    token = device_token_of(client, creds)
    if kind == "another-users":
        token = device_token_of(client, make_user())
    elif kind == "tampered":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    else:
        token = "x" * 10
    lock_the_name(client, creds.username)
    assert attempt(client, creds.username, creds.password, token).status_code == 429


def test_failures_stop_counting_when_their_observation_window_ends(client, make_user, clock, rt):
    creds = make_user()
    for _ in range(4):
        attempt(client, creds.username, WRONG)
    clock.advance(rt.settings.lockout_window_seconds)
    statuses = [attempt(client, creds.username, WRONG).status_code for _ in range(6)]
    assert statuses == [400] * 5 + [429]  # the first four no longer count


def test_a_lockout_never_outlasts_its_window(make_runtime, make_user, client, clock):
    make_runtime(lockout_base_seconds=600, lockout_window_seconds=900)
    creds = make_user()
    clock.advance(400)
    lock_the_name(client, creds.username)
    assert attempt(client, creds.username, WRONG).headers["Retry-After"] == "500"  # the window's end
    clock.advance(500)
    assert attempt(client, creds.username, creds.password).status_code == 200


def _sweep(rt: Any, now: float) -> int:
    """What DynamoDB's TTL may do at any time: remove rows whose ``expires_at`` has passed."""
    swept = 0
    for item in rt.attempts._table.scan()["Items"]:
        if int(item["expires_at"]) <= now:
            rt.attempts._table.delete_item(Key={"username": item["username"], "counter": item["counter"]})
            swept += 1
    return swept


def test_an_unknown_name_and_a_real_account_match_at_every_point_even_after_a_ttl_sweep(
    client, make_user, clock, rt
):
    creds = make_user()
    real, ghost = [], []
    swept = 0
    # Guesses spread over days: lockouts, back-off, windows ending, rows expiring and swept.
    # The last gap outlasts a counter's row (KEEP_AFTER_LAST_FAILURE), so the sweep takes it.
    gaps = [0, 0, 0, 0, 0, 0, 7, 30, 61, 300, 0, 0, 4000, 0, 0, 0, 0, 0, 0, 90_000, 31 * 86400]
    for gap in gaps * 3:
        real.append(outcome(attempt(client, creds.username, WRONG)))
        ghost.append(outcome(attempt(client, "no-such-account", WRONG)))
        clock.advance(gap)
        swept += _sweep(rt, clock())
    assert swept > 0
    assert real == ghost
    assert {status for status, _, _ in real} == {400, 429}


def test_admin_unlock_clears_the_names_counters(client, make_user, login):
    admin = bearer(login(make_user(roles=("admin", "user"))))
    creds = make_user()
    lock_the_name(client, creds.username)
    response = client.http.post(f"/admin/users/{creds.username}/unlock", headers=admin)
    assert response.status_code == 204
    assert response.headers["Cache-Control"] == "no-store"
    assert attempt(client, creds.username, creds.password).status_code == 200


def test_admin_unlock_clears_device_and_password_change_counters_too(client, make_user, login, rt):
    admin = bearer(login(make_user(roles=("admin", "user"))))
    creds = make_user()
    token = device_token_of(client, creds)
    for _ in range(6):
        attempt(client, creds.username, WRONG, token)
    auth = bearer(login(creds))
    change = {"current_password": WRONG, "new_password": "Brand-new-Pass-77"}
    for _ in range(6):
        post_json(client, "/auth/password", change, headers=auth)
    assert client.http.post(f"/admin/users/{creds.username}/unlock", headers=admin).status_code == 204
    assert [i for i in rt.attempts._table.scan()["Items"] if i["username"] == creds.username] == []
    assert attempt(client, creds.username, creds.password, token).status_code == 200


def test_admin_unlock_needs_the_admin_role_and_an_existing_user(client, make_user, login):
    user = bearer(login(make_user()))
    assert client.http.post("/admin/users/somebody/unlock", headers=user).status_code == 403
    admin = bearer(login(make_user(roles=("admin", "user"))))
    response = client.http.post("/admin/users/nobody-at-all/unlock", headers=admin)
    assert response.status_code == 404
    assert json_body(response)["error"] == "not_found"


def test_a_device_token_dies_with_its_account_and_never_serves_a_new_account_of_that_name(
    client, make_user, rt, clock
):
    from gatehouse.accounts import deletion, signup

    first = make_user("reused-name")
    token = device_token_of(client, first)
    deletion.delete_user(rt, first.username, [])
    clock.advance(1)  # the new account is made later, as any real one would be
    signup.create_user(rt, "reused-name", "Other-owner-77-Pass", ("user",))
    lock_the_name(client, "reused-name")
    # Were the old token still valid, it would get its own counter past the name's lockout.
    assert attempt(client, "reused-name", "Other-owner-77-Pass", token).status_code == 429
