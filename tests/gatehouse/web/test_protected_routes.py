"""The authorizer in front of protected routes, through HTTP-shaped requests."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.conftest import bearer, json_body

INVALID = 'Bearer error="invalid_token"'
PROTECTED = [
    ("GET", "/me"),
    ("GET", "/notes"),
    ("POST", "/notes"),
    ("GET", "/notes/0123456789abcdef0123456789ab"),
]


def call(client, method, path, headers=None):
    return client.http.request(
        method, path, headers={"Content-Type": "application/json", **(headers or {})}, body=b"{}"
    )


def assert_invalid_token(response):
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == INVALID
    assert json_body(response)["error"] == "invalid_token"


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_missing_token_is_401_with_bare_bearer_challenge(client, method, path):
    response = call(client, method, path)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert json_body(response)["error"] == "missing_token"


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Token abc.def.ghi",
        "Bearer not-a-jwt",
        "Bearer a.b.c",
        "Bearer a.b",
        "Bearer one two",
        "Bearer " + "a" * 20000,
    ],
)
def test_malformed_authorization_is_401_invalid_token(client, authorization):
    assert_invalid_token(call(client, "GET", "/me", {"Authorization": authorization}))


def test_valid_token_reaches_the_resource(client, make_user, login):
    creds = make_user()
    response = call(client, "GET", "/me", bearer(login(creds)))
    assert response.status_code == 200
    assert json_body(response) == {
        "username": creds.username,
        "account_id": creds.account_id,
        "roles": ["user"],
    }


def test_bearer_scheme_is_case_insensitive(client, make_user, login):
    token = login(make_user())
    assert call(client, "GET", "/me", {"Authorization": f"bearer {token}"}).status_code == 200


def test_expired_token_is_401(client, make_user, login, clock, rt):
    token = login(make_user())
    clock.advance(rt.settings.access_token_ttl + rt.settings.leeway)
    assert_invalid_token(call(client, "GET", "/me", bearer(token)))


def test_token_is_still_accepted_within_the_leeway(client, make_user, login, clock, rt):
    token = login(make_user())
    clock.advance(rt.settings.access_token_ttl + rt.settings.leeway - 1)
    assert call(client, "GET", "/me", bearer(token)).status_code == 200


def test_leeway_is_a_setting(client, make_user, login, clock, make_runtime):
    rt = make_runtime(leeway=0)
    token = login(make_user())
    clock.advance(rt.settings.access_token_ttl)
    assert_invalid_token(call(client, "GET", "/me", bearer(token)))


def test_token_signed_by_another_key_is_401(client, make_token):
    assert_invalid_token(call(client, "GET", "/me", bearer(make_token(key=Ed25519PrivateKey.generate()))))


def test_token_with_roles_added_after_signing_is_401(client, make_user, login):
    import base64

    token = login(make_user())
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["roles"] = ["admin", "user"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert_invalid_token(call(client, "GET", "/admin/users", bearer(f"{header}.{forged}.{signature}")))


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({"iss": "someone-else"}, "issuer"),
        ({"aud": "another-api"}, "audience"),
        ({"header": {"typ": "JWT"}}, "typ"),
        ({"header": {"kid": "unknown"}}, "kid"),
        ({"drop": ("sid",)}, "sid missing"),
        ({"drop": ("jti",)}, "jti missing"),
        ({"drop": ("exp",)}, "exp missing"),
    ],
)
def test_token_failing_a_claim_check_is_401(client, make_token, overrides, why):
    assert_invalid_token(call(client, "GET", "/me", bearer(make_token(**overrides))))


def test_authorizer_failure_is_still_a_401_never_a_500(client, make_user, login, rt, monkeypatch):
    token = login(make_user())
    # A broken key set (misconfiguration) must deny, not crash or allow.
    monkeypatch.setitem(rt.__dict__, "keyset", None)
    assert_invalid_token(call(client, "GET", "/me", bearer(token)))


def test_valid_token_without_admin_role_is_403(client, make_user, login):
    response = call(client, "GET", "/admin/users", bearer(login(make_user())))
    assert response.status_code == 403
    assert json_body(response)["error"] == "forbidden"
    assert response.headers["WWW-Authenticate"] == 'Bearer error="insufficient_scope"'


def test_admin_token_reaches_admin_route(client, make_user, login):
    response = call(client, "GET", "/admin/users", bearer(login(make_user(roles=("admin", "user")))))
    assert response.status_code == 200


def test_view_rejects_admin_route_even_if_a_policy_lets_it_through(client, make_user, login, monkeypatch):
    # Defence in depth: a mis-cached or hand-written policy cannot open the route.
    import app as gatehouse_app
    from gatehouse.authorizer.policy import ProtectedRoute, RouteTable

    only_admin_open_to_all = RouteTable([ProtectedRoute("/admin/users", "GET", None)])
    monkeypatch.setattr(gatehouse_app.gate, "route_table", lambda: only_admin_open_to_all)
    response = call(client, "GET", "/admin/users", bearer(login(make_user())))
    assert response.status_code == 403
    assert json_body(response)["error"] == "forbidden"


def test_one_token_policy_covers_every_route_it_may_call(client, make_user, login):
    # API Gateway caches the first policy and reuses it: every route must work.
    token = login(make_user())
    created = client.http.post(
        "/notes",
        headers={"Content-Type": "application/json", **bearer(token)},
        body=json.dumps({"text": "x"}),
    )
    note_id = json_body(created)["id"]
    for method, path in [("GET", "/me"), ("GET", "/notes"), ("GET", f"/notes/{note_id}")]:
        assert call(client, method, path, bearer(token)).status_code == 200


@pytest.mark.parametrize("authorization", [None, "Bearer abc.def.ghi", "Bearer caf\u00e9"])
def test_unknown_path_is_404_not_found_and_never_echoes_the_token(client, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = client.http.get("/no/such/route", headers=headers)
    assert response.status_code == 404
    assert json_body(response) == {"error": "not_found", "message": "Not found."}
    assert b"abc.def.ghi" not in response.body


def test_get_with_a_stray_content_type_is_not_415(client, make_user, login):
    token = login(make_user())
    headers = {"Content-Type": "text/plain"}
    assert client.http.get("/.well-known/jwks.json", headers=headers).status_code == 200
    assert client.http.get("/me", headers={**headers, **bearer(token)}).status_code == 200
