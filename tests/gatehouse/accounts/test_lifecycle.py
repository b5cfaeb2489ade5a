"""Refresh rotation, reuse detection, sessions and revocation that reaches the authorizer."""

from __future__ import annotations

import hashlib
import threading
from urllib.parse import urlencode

import jwt
import pytest

from gatehouse.accounts import sessions as lifecycle
from gatehouse.errors import InvalidGrant
from tests.conftest import bearer, json_body, post_json

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def grant(client, make_user):
    """Log a fresh user in; returns a function giving (credentials, token body)."""

    def do(creds=None, device="phone"):
        creds = creds or make_user()
        response = post_json(
            client,
            "/auth/token",
            {
                "grant_type": "password",
                "username": creds.username,
                "password": creds.password,
                "device": device,
            },
        )
        assert response.status_code == 200, response.body
        return creds, json_body(response)

    return do


def refresh(client, refresh_token):
    return post_json(client, "/auth/token", {"grant_type": "refresh_token", "refresh_token": refresh_token})


def sid_of(access_token):
    return jwt.decode(access_token, options={"verify_signature": False})["sid"]


def me(client, access_token):
    return client.http.get("/me", headers=bearer(access_token))


def past_cache(clock, rt):
    clock.advance(rt.settings.session_cache_seconds)


# -- refresh tokens: issue, storage, rotation ---------------------------------------


def test_password_grant_returns_an_opaque_256_bit_refresh_token(grant):
    creds, body = grant()
    owner, rest = body["refresh_token"].split("~")
    sid, generation, family, secret = rest.split(".")
    assert owner == creds.account_id
    assert sid == sid_of(body["access_token"])
    assert generation == "1"  # the login's token; each rotation counts one up
    assert len(family) == 22  # 16 bytes, base64url: the session's token family
    assert len(secret) == 43  # 32 bytes, base64url


def test_refresh_token_is_stored_only_as_its_hash(grant, rt):
    _, body = grant()
    items = rt.sessions._table.scan()["Items"]
    assert len(items) == 1
    stored = repr(items)
    secret = body["refresh_token"].split(".")[-1]
    assert secret not in stored
    assert items[0]["refresh_hash"] == hashlib.sha256(body["refresh_token"].encode()).hexdigest()


def test_session_row_has_ttl_attribute_at_the_absolute_lifetime(grant, rt, clock):
    creds, body = grant()
    session = rt.sessions.get(creds.account_id, sid_of(body["access_token"]))
    assert session.expires_at == int(clock()) + 30 * 24 * 3600


def test_refresh_rotates_to_a_new_pair_for_the_same_session(client, grant, clock):
    _, first = grant()
    clock.advance(60)
    response = refresh(client, first["refresh_token"])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    second = json_body(response)
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert sid_of(second["access_token"]) == sid_of(first["access_token"])
    assert me(client, second["access_token"]).status_code == 200
    # the newest refresh token keeps working
    clock.advance(60)
    assert refresh(client, second["refresh_token"]).status_code == 200


def test_form_encoded_refresh_grant_works(client, grant):
    _, body = grant()
    encoded = urlencode({"grant_type": "refresh_token", "refresh_token": body["refresh_token"]})
    assert client.http.post("/auth/token", headers=FORM, body=encoded).status_code == 200


def test_retry_within_grace_window_returns_the_same_new_pair(client, grant, clock, rt):
    _, first = grant()
    new = json_body(refresh(client, first["refresh_token"]))
    clock.advance(rt.settings.refresh_grace)
    retry = refresh(client, first["refresh_token"])
    assert retry.status_code == 200
    assert json_body(retry) == new


def test_reuse_after_grace_window_is_invalid_grant_and_ends_the_session(client, grant, clock, rt):
    creds, first = grant()
    new = json_body(refresh(client, first["refresh_token"]))
    clock.advance(rt.settings.refresh_grace + 1)
    reuse = refresh(client, first["refresh_token"])
    assert reuse.status_code == 400
    assert json_body(reuse)["error"] == "invalid_grant"
    assert rt.sessions.get(creds.account_id, sid_of(first["access_token"])) is None
    # The legitimate holder's newest tokens are dead too: the thief cannot keep a copy alive.
    assert refresh(client, new["refresh_token"]).status_code == 400
    past_cache(clock, rt)
    assert me(client, new["access_token"]).status_code == 401


def test_reuse_of_an_older_refresh_token_ends_the_session(client, grant, clock, rt):
    creds, first = grant()
    tokens = [first["refresh_token"]]
    for _ in range(3):
        clock.advance(60)
        tokens.append(json_body(refresh(client, tokens[-1]))["refresh_token"])
    assert refresh(client, tokens[0]).status_code == 400
    assert rt.sessions.get(creds.account_id, sid_of(first["access_token"])) is None


def test_guessed_secret_for_a_known_sid_does_not_end_the_session(client, grant, rt):
    creds, body = grant()
    sid = sid_of(body["access_token"])
    # Well formed, the right generation: only the family and the secret are guessed.
    forged = f"{creds.account_id}~{sid}.1.{'F' * 22}.{'A' * 43}"
    assert refresh(client, forged).status_code == 400
    assert rt.sessions.get(creds.account_id, sid) is not None
    assert refresh(client, body["refresh_token"]).status_code == 200


@pytest.mark.parametrize("value", ["", "nonsense", "a.b", "x" * 300, "a" * 22 + "." + "b" * 42])
def test_malformed_refresh_token_is_invalid_grant_or_invalid_request(client, value):
    response = refresh(client, value)
    assert response.status_code == 400
    assert json_body(response)["error"] in ("invalid_grant", "invalid_request")


def test_expired_refresh_token_is_refused_before_ttl_deletes_the_row(client, grant, clock, rt):
    creds, body = grant()
    clock.advance(rt.settings.session_ttl)
    assert rt.sessions.get(creds.account_id, sid_of(body["access_token"])) is not None  # TTL has not swept it
    response = refresh(client, body["refresh_token"])
    assert response.status_code == 400
    assert json_body(response)["error"] == "invalid_grant"


def test_concurrent_refreshes_of_one_token_make_at_most_one_new_pair(grant, rt, atomic_conditional_writes):
    _, body = grant()
    results: list[object] = []
    barrier = threading.Barrier(8)

    def attempt() -> None:
        barrier.wait()
        try:
            results.append(lifecycle.refresh(rt, body["refresh_token"]))
        except InvalidGrant as error:
            results.append(error)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    grants = {r for r in results if isinstance(r, lifecycle.TokenGrant)}
    assert len(grants) == 1, results
    [winner] = grants
    items = rt.sessions._table.scan()["Items"]
    assert len(items) == 1
    assert items[0]["refresh_hash"] == hashlib.sha256(winner.refresh_token.encode()).hexdigest()


def test_refresh_after_user_is_disabled_is_refused(client, grant, rt):
    creds, body = grant()
    rt.users.set_disabled(rt.users.get(creds.username), True)
    assert refresh(client, body["refresh_token"]).status_code == 400


def test_refreshed_token_carries_current_roles(client, grant, rt):
    creds, body = grant()
    rt.users._table.update_item(
        Key={"username": creds.username},
        UpdateExpression="SET #r = :r",
        ExpressionAttributeNames={"#r": "roles"},
        ExpressionAttributeValues={":r": {"user", "admin"}},
    )
    new = json_body(refresh(client, body["refresh_token"]))
    assert jwt.decode(new["access_token"], options={"verify_signature": False})["roles"] == ["admin", "user"]


# -- revocation at the authorizer ------------------------------------------------------


def test_logout_kills_refresh_and_access_token(client, grant, clock, rt):
    _, body = grant()
    response = post_json(
        client, "/auth/revoke", {"token": body["refresh_token"], "token_type_hint": "refresh_token"}
    )
    assert response.status_code == 200
    assert refresh(client, body["refresh_token"]).status_code == 400
    past_cache(clock, rt)
    assert me(client, body["access_token"]).status_code == 401


def test_revocation_reaches_the_authorizer_within_the_cache_bound(client, grant, clock, rt):
    _, body = grant()
    assert me(client, body["access_token"]).status_code == 200  # caches "live"
    post_json(client, "/auth/revoke", {"token": body["refresh_token"]})
    clock.advance(rt.settings.session_cache_seconds - 1)
    assert me(client, body["access_token"]).status_code == 200  # still inside the documented bound
    clock.advance(1)
    response = me(client, body["access_token"])
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_revoke_accepts_an_access_token_and_form_body(client, grant, clock, rt):
    _, body = grant()
    response = client.http.post("/auth/revoke", headers=FORM, body=urlencode({"token": body["access_token"]}))
    assert response.status_code == 200
    assert refresh(client, body["refresh_token"]).status_code == 400


@pytest.mark.parametrize(
    "token", ["unknown", "a.b.c", "x" * 22 + "." + "y" * 43, "abc~" + "x" * 22 + "." + "y" * 43]
)
def test_revoke_of_unknown_token_is_200(client, token):
    assert post_json(client, "/auth/revoke", {"token": token}).status_code == 200


def test_revoke_without_token_is_rfc6749_invalid_request(client):
    response = post_json(client, "/auth/revoke", {})
    assert response.status_code == 400
    assert json_body(response)["error"] == "invalid_request"
    assert "error_description" in json_body(response)


def test_revoke_needs_the_secret_not_just_the_session_id(client, grant, rt):
    creds, body = grant()
    sid = sid_of(body["access_token"])
    post_json(client, "/auth/revoke", {"token": f"{creds.account_id}~{sid}.1.{'F' * 22}.{'Z' * 43}"})
    assert rt.sessions.get(creds.account_id, sid) is not None


def test_session_check_reads_dynamodb_once_per_cache_window(client, grant, clock, rt):
    _, body = grant()
    reads = []
    rt.session_client.meta.events.register("before-send.dynamodb.GetItem", lambda **_: reads.append(1))
    for _ in range(3):
        assert me(client, body["access_token"]).status_code == 200
    assert len(reads) == 1
    past_cache(clock, rt)
    assert me(client, body["access_token"]).status_code == 200
    assert len(reads) == 2


def test_with_session_check_off_the_authorizer_makes_no_aws_call(client, grant, make_runtime, clock):
    rt = make_runtime(check_sessions=False)
    _, body = grant()
    calls = []
    for dynamodb in (rt._dynamodb.meta.client, rt.session_client):
        dynamodb.meta.events.register("before-send", lambda **_: calls.append(1))
    post_json(client, "/auth/revoke", {"token": body["refresh_token"]})
    calls.clear()
    clock.advance(60)
    # The documented trade-off: without the check, a revoked token lives until it expires.
    event = {
        "type": "TOKEN",
        "authorizationToken": f"Bearer {body['access_token']}",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc/api/GET/me",
    }
    policy = client.lambda_.invoke("gatehouse_auth", event).payload
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert calls == []


def test_session_check_fails_closed_when_dynamodb_cannot_be_read(client, grant, rt, monkeypatch):
    from botocore.exceptions import EndpointConnectionError

    _, body = grant()

    def unreachable(**_kwargs):
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")

    monkeypatch.setattr(rt.session_client, "get_item", unreachable)
    assert me(client, body["access_token"]).status_code == 401


def test_token_whose_sid_belongs_to_another_user_is_401(client, grant, make_token):
    _, body = grant()
    forged = make_token(sub="mallory", sid=sid_of(body["access_token"]))
    assert me(client, forged).status_code == 401


# -- the caller's sessions ---------------------------------------------------------------


def test_list_sessions_shows_mine_with_device_and_current_flag(client, grant, make_user, clock):
    creds, phone = grant(device="phone")
    clock.advance(10)
    _, laptop = grant(creds, device="laptop")
    grant(make_user(), device="someone else's")
    response = client.http.get("/auth/sessions", headers=bearer(laptop["access_token"]))
    assert response.status_code == 200
    sessions = json_body(response)
    assert [(s["device"], s["current"]) for s in sessions] == [("phone", False), ("laptop", True)]
    assert set(sessions[0]) == {"id", "device", "created_at", "last_used_at", "expires_at", "current"}
    assert sessions[0]["id"] == sid_of(phone["access_token"])


def test_last_used_at_moves_on_refresh(client, grant, clock):
    _, body = grant()
    clock.advance(120)
    new = json_body(refresh(client, body["refresh_token"]))
    [session] = json_body(client.http.get("/auth/sessions", headers=bearer(new["access_token"])))
    assert session["last_used_at"] == session["created_at"] + 120


def test_end_one_of_my_sessions(client, grant, clock, rt):
    creds, phone = grant(device="phone")
    _, laptop = grant(creds, device="laptop")
    response = client.http.delete(
        f"/auth/sessions/{sid_of(phone['access_token'])}", headers=bearer(laptop["access_token"])
    )
    assert response.status_code == 204
    assert refresh(client, phone["refresh_token"]).status_code == 400
    past_cache(clock, rt)
    assert me(client, phone["access_token"]).status_code == 401
    assert me(client, laptop["access_token"]).status_code == 200


def test_ending_another_users_session_is_404_and_leaves_it_alive(client, grant, rt):
    _, mine = grant()
    them, theirs = grant()
    their_sid = sid_of(theirs["access_token"])
    response = client.http.delete(f"/auth/sessions/{their_sid}", headers=bearer(mine["access_token"]))
    assert response.status_code == 404
    assert json_body(response)["error"] == "not_found"
    assert rt.sessions.get(them.account_id, their_sid) is not None


def test_log_out_everywhere_ends_every_session(client, grant, clock, rt):
    creds, phone = grant(device="phone")
    _, laptop = grant(creds, device="laptop")
    _, other = grant()
    assert client.http.delete("/auth/sessions", headers=bearer(laptop["access_token"])).status_code == 204
    for body in (phone, laptop):
        assert refresh(client, body["refresh_token"]).status_code == 400
    past_cache(clock, rt)
    assert me(client, phone["access_token"]).status_code == 401
    assert me(client, laptop["access_token"]).status_code == 401
    assert me(client, other["access_token"]).status_code == 200


# -- password change and disabling ---------------------------------------------------------


def change_password(client, access_token, current, new):
    return post_json(
        client,
        "/auth/password",
        {"current_password": current, "new_password": new},
        headers=bearer(access_token),
    )


def test_password_change_ends_other_sessions_but_keeps_the_current_one(client, grant, clock, rt):
    creds, phone = grant(device="phone")
    _, laptop = grant(creds, device="laptop")
    response = change_password(client, laptop["access_token"], creds.password, "Brand-new-Pass-77")
    assert response.status_code == 204
    assert refresh(client, phone["refresh_token"]).status_code == 400
    past_cache(clock, rt)
    assert me(client, phone["access_token"]).status_code == 401
    assert me(client, laptop["access_token"]).status_code == 200
    assert refresh(client, laptop["refresh_token"]).status_code == 200
    login = {"grant_type": "password", "username": creds.username}
    assert post_json(client, "/auth/token", {**login, "password": "Brand-new-Pass-77"}).status_code == 200
    assert post_json(client, "/auth/token", {**login, "password": creds.password}).status_code == 400


def test_password_change_needs_the_current_password(client, grant, rt):
    _, body = grant()
    response = change_password(client, body["access_token"], "Not-my-password-1", "Brand-new-Pass-77")
    assert response.status_code == 400
    assert json_body(response)["error"] == "invalid_request"
    assert b"Brand-new-Pass-77" not in response.body


@pytest.mark.parametrize("new", ["short", "password1", "x" * 129])
def test_new_password_must_meet_the_policy(client, grant, new):
    creds, body = grant()
    response = change_password(client, body["access_token"], creds.password, new)
    assert response.status_code == 400


def test_disabling_a_user_ends_all_sessions_and_blocks_login(client, grant, make_user, login, clock, rt):
    admin = bearer(login(make_user(roles=("admin", "user"))))
    creds, body = grant()
    assert client.http.post(f"/admin/users/{creds.username}/disable", headers=admin).status_code == 204
    assert refresh(client, body["refresh_token"]).status_code == 400
    past_cache(clock, rt)
    assert me(client, body["access_token"]).status_code == 401
    login_body = {"grant_type": "password", "username": creds.username, "password": creds.password}
    assert post_json(client, "/auth/token", login_body).status_code == 400
    assert client.http.post(f"/admin/users/{creds.username}/enable", headers=admin).status_code == 204
    assert post_json(client, "/auth/token", login_body).status_code == 200


def test_disabling_needs_admin_and_an_existing_user(client, grant, make_user, login):
    creds, body = grant()
    assert (
        client.http.post(
            f"/admin/users/{creds.username}/disable", headers=bearer(body["access_token"])
        ).status_code
        == 403
    )
    admin = bearer(login(make_user(roles=("admin", "user"))))
    response = client.http.post("/admin/users/nobody-at-all/disable", headers=admin)
    assert response.status_code == 404
