"""POST /auth/token with grant_type=password (RFC 6749 section 4.3 and 5)."""

from __future__ import annotations

from urllib.parse import urlencode

import jwt
import pytest
from argon2 import PasswordHasher

from gatehouse.accounts import signup
from tests.conftest import DEFAULT_PASSWORD, DEPLOYED_HASHING, Credentials, json_body, post_json

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def password_grant(client, username, password, **extra):
    return post_json(
        client, "/auth/token", {"grant_type": "password", "username": username, "password": password, **extra}
    )


def test_password_grant_returns_bearer_token_with_no_store(client, make_user, rt):
    creds = make_user()
    response = password_grant(client, creds.username, creds.password)
    assert response.status_code == 200
    body = json_body(response)
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "device_token"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"


def test_form_encoded_password_grant_works(client, make_user):
    creds = make_user()
    body = urlencode({"grant_type": "password", "username": creds.username, "password": creds.password})
    response = client.http.post("/auth/token", headers=FORM, body=body)
    assert response.status_code == 200
    assert json_body(response)["token_type"] == "Bearer"


def test_username_is_matched_case_insensitively(client, make_user):
    creds = make_user("kate")
    assert password_grant(client, "KATE", creds.password).status_code == 200


def test_issued_token_has_the_contract_header_and_claims(client, make_user, clock, signing_jwk, rt):
    creds = make_user(roles=("user", "admin"))
    token = json_body(password_grant(client, creds.username, creds.password))["access_token"]
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "EdDSA", "typ": "at+jwt", "kid": signing_jwk["kid"]}
    claims = jwt.decode(token, options={"verify_signature": False})
    assert set(claims) == {"iss", "aud", "sub", "username", "iat", "exp", "jti", "sid", "roles", "amr", "aal"}
    assert claims["iss"] == "gatehouse-test"
    assert claims["aud"] == "gatehouse-api"
    assert claims["sub"] == creds.account_id  # the account's immutable id, never its reusable name
    assert claims["username"] == creds.username
    assert claims["iat"] == int(clock())
    assert claims["exp"] == int(clock()) + 900
    assert claims["roles"] == ["admin", "user"]


def test_each_login_records_a_new_session_whose_id_is_the_sid(client, make_user, rt, clock):
    creds = make_user()
    sids = []
    for device in ("phone", "laptop"):
        token = json_body(password_grant(client, creds.username, creds.password, device=device))[
            "access_token"
        ]
        sid = jwt.decode(token, options={"verify_signature": False})["sid"]
        session = rt.sessions.get(creds.account_id, sid)
        assert session is not None
        assert session.username == creds.username
        assert session.device == device
        assert session.expires_at == int(clock()) + rt.settings.session_ttl
        sids.append(sid)
    assert sids[0] != sids[1]


def test_access_token_lifetime_is_a_setting(client, make_user, make_runtime):
    make_runtime(access_token_ttl=120)
    creds = make_user()
    body = json_body(password_grant(client, creds.username, creds.password))
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert body["expires_in"] == 120
    assert claims["exp"] - claims["iat"] == 120


def test_wrong_password_and_unknown_user_get_identical_invalid_grant(client, make_user):
    creds = make_user()
    wrong = password_grant(client, creds.username, "Not-the-password-1")
    unknown = password_grant(client, "nobody-here", "Not-the-password-1")
    assert wrong.status_code == unknown.status_code == 400
    assert wrong.body == unknown.body
    assert json_body(wrong) == {
        "error": "invalid_grant",
        "error_description": "The username or password is wrong.",
    }
    assert wrong.headers["Cache-Control"] == unknown.headers["Cache-Control"] == "no-store"


def test_unknown_user_is_verified_against_the_dummy_hash(client, rt, monkeypatch):
    verified: list[str] = []
    original = PasswordHasher.verify

    def spy(self, stored_hash, password):
        verified.append(stored_hash)
        return original(self, stored_hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", spy)
    for username in ("ghost-user", "x", "BAD NAME!"):
        assert password_grant(client, username, "Whatever-pass-1").status_code == 400
    assert verified == [rt.hasher._dummy_hash] * 3


def test_disabled_user_cannot_log_in_and_gets_the_same_answer(client, make_user, rt):
    creds = make_user()
    rt.users._table.update_item(
        Key={"username": creds.username},
        UpdateExpression="SET disabled = :t",
        ExpressionAttributeValues={":t": True},
    )
    response = password_grant(client, creds.username, creds.password)
    assert response.status_code == 400
    assert json_body(response)["error"] == "invalid_grant"


def test_hash_made_with_older_parameters_is_upgraded_on_login(client, make_runtime):
    rt = make_runtime(**DEPLOYED_HASHING)
    user = signup.create_user(rt, "hasher", DEFAULT_PASSWORD, ("user",))
    creds = Credentials(user.username, DEFAULT_PASSWORD, user.account_id)
    old_hash = rt.users.get(creds.username).password_hash
    stronger = make_runtime(**{**DEPLOYED_HASHING, "argon2_time_cost": 3})
    assert password_grant(client, creds.username, creds.password).status_code == 200
    new_hash = stronger.users.get(creds.username).password_hash
    assert ",t=2," in old_hash
    assert ",t=3," in new_hash
    assert password_grant(client, creds.username, creds.password).status_code == 200
    assert stronger.users.get(creds.username).password_hash == new_hash


@pytest.mark.parametrize("grant_type", ["client_credentials", "authorization_code", "PASSWORD", "refresh"])
def test_unknown_grant_type_is_unsupported_grant_type(client, grant_type):
    response = post_json(client, "/auth/token", {"grant_type": grant_type, "username": "a", "password": "b"})
    assert response.status_code == 400
    assert json_body(response)["error"] == "unsupported_grant_type"


@pytest.mark.parametrize(
    "body",
    [
        {"username": "someone", "password": "pw-pw-pw-pw"},
        {"grant_type": "password", "password": "pw-pw-pw-pw"},
        {"grant_type": "password", "username": "someone"},
        {"grant_type": "password", "username": ["x"], "password": "pw-pw-pw-pw"},
        {"grant_type": "password", "username": "someone", "password": 12345678},
        {"grant_type": "password", "username": "someone", "password": "p" * 129},
        {"grant_type": "password", "username": "someone", "password": "pw-pw-pw-pw", "device": "d" * 101},
        {"grant_type": 7},
    ],
)
def test_malformed_token_request_is_rfc6749_invalid_request(client, body):
    response = post_json(client, "/auth/token", body)
    assert response.status_code == 400
    payload = json_body(response)
    assert set(payload) == {"error", "error_description"}
    assert payload["error"] == "invalid_request"


def test_repeated_form_parameter_is_invalid_request(client):
    body = "grant_type=password&username=a&username=b&password=xx-yy-zz-ww"
    response = client.http.post("/auth/token", headers=FORM, body=body)
    assert response.status_code == 400
    assert json_body(response)["error"] == "invalid_request"


def test_unsupported_content_type_on_token_endpoint_is_rfc6749_body(client):
    response = client.http.post("/auth/token", headers={"Content-Type": "text/plain"}, body="hello")
    assert response.status_code == 415
    assert json_body(response) == {
        "error": "invalid_request",
        "error_description": "Send the body as application/json or application/x-www-form-urlencoded.",
    }


def test_password_never_appears_in_an_error_body(client, make_user):
    creds = make_user()
    secret = "Sup3r-Secret-Guess"
    for response in (
        password_grant(client, creds.username, secret),
        password_grant(client, "unknown-user", secret),
        password_grant(client, creds.username, secret, device=5),
    ):
        assert secret.encode() not in response.body
