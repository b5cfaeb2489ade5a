"""Key rotation end to end: no token breaks, new tokens get the new key, retired keys are refused.

A "deploy" here is what CloudFormation does: the functions get the JWKS
parameter's current value as GATEHOUSE_JWKS and start cold, reading the
private keys from SSM (moto).  Keys are made and retired with the admin CLI.
"""

from __future__ import annotations

import io
import json
import secrets
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import replace
from typing import Any

import boto3
import jwt
import pytest
from chalice.test import Client

import app as gatehouse_app
from gatehouse.admin import cli, keyring
from gatehouse.jose.keys import (
    KeyLoadError,
    KeySet,
    choose_signing_key,
    generate_signing_jwk,
    load_signing_key,
    load_signing_keys,
    parse_signing_jwk,
)
from gatehouse.services import Services
from gatehouse.settings import Settings
from tests.conftest import Credentials, FakeClock, bearer, json_body, post_json

SIGNING_PARAM = "/gatehouse/test/signing-key"
JWKS_PARAM = "/gatehouse/test/jwks"
# An explicit AWS target (moto in-process): never a developer's running local stack.
ENV = {"GATEHOUSE_SIGNING_KEY_PARAM": SIGNING_PARAM, "AWS_ACCESS_KEY_ID": "testing"}
ACTIVATE_IN = 600


@pytest.fixture
def admin(make_runtime: Callable[..., Services], clock: FakeClock) -> Callable[..., str]:
    """Run a key command of the admin CLI; returns its output (fails the test on a non-zero exit)."""
    make_runtime()  # the tables

    def do(*argv: str, expect: int = 0) -> str:
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = cli.main(list(argv), env=ENV, stdin=io.StringIO(), clock=clock)
        said = out.getvalue() + err.getvalue().split("\n", 1)[1]  # after the target line
        assert code == expect, said
        return said

    return do


@pytest.fixture
def deploy(base_settings: Settings, clock: FakeClock) -> Callable[[], Services]:
    """Cold-start both functions with the JWKS parameter's current value, as a stack update does."""

    def do() -> Services:
        jwks = boto3.client("ssm", region_name="us-east-1").get_parameter(Name=JWKS_PARAM)["Parameter"][
            "Value"
        ]
        rt = Services(replace(base_settings, jwks=jwks, signing_key_param=SIGNING_PARAM), clock=clock)
        gatehouse_app.gate.use_services(rt)
        return rt

    return do


def _kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


def _kids(admin: Callable[..., str]) -> list[str]:
    return [row["kid"] for row in json.loads(admin("list-keys", "--json"))]


def _me(client: Client, token: str) -> int:
    return int(client.http.get("/me", headers=bearer(token)).status_code)


def _forge(private_jwk: dict[str, Any], rt: Services, creds: Credentials) -> str:
    """A well-formed token signed with ``private_jwk`` for a live session of ``creds``' account."""
    key = load_signing_key(json.dumps(private_jwk))
    now = rt.now()
    sessions = rt.sessions.keys_for(creds.account_id)
    claims = {
        "iss": rt.settings.issuer,
        "aud": rt.settings.audience,
        "sub": creds.account_id,
        "username": creds.username,
        "iat": now,
        "exp": now + rt.settings.access_token_ttl,
        "jti": secrets.token_hex(8),
        "sid": sessions[0].sid,
        "roles": ["user"],
    }
    return jwt.encode(claims, key.key, algorithm=key.alg, headers={"typ": "at+jwt", "kid": key.kid})


def _private_keys() -> list[dict[str, Any]]:
    ssm = boto3.client("ssm", region_name="us-east-1")
    return keyring.parse(ssm.get_parameter(Name=SIGNING_PARAM, WithDecryption=True)["Parameter"]["Value"])


def test_rotation_keeps_old_tokens_valid_signs_new_ones_with_the_new_key_and_retires_the_old(
    admin: Callable[..., str],
    deploy: Callable[[], Services],
    client: Client,
    make_user: Callable[..., Credentials],
    login: Callable[..., str],
    clock: FakeClock,
) -> None:
    admin("create-signing-key")
    [old_kid] = _kids(admin)
    deploy()
    creds = make_user()
    old_token = login(creds)
    assert _kid(old_token) == old_kid

    admin("rotate-signing-key", "--activate-in", str(ACTIVATE_IN))
    new_kid, _ = _kids(admin)
    old_private = next(k for k in _private_keys() if k["kid"] == old_kid)

    # Phase 1, before the new key's nbf: deployed with both public keys, still signing with the old.
    rt = deploy()
    assert _kid(login(creds)) == old_kid
    assert _me(client, old_token) == 200

    # At nbf the same warm function switches; tokens of the old key stay valid.
    clock.advance(ACTIVATE_IN)
    new_token = login(creds)
    assert _kid(new_token) == new_kid
    assert _me(client, new_token) == 200
    assert _me(client, old_token) == 200

    # Retiring too early would break the old key's last tokens: refused.
    refused = admin("retire-key", "--yes", "--", old_kid, expect=1)
    assert "more seconds" in refused
    clock.advance(rt.settings.access_token_ttl + rt.settings.leeway)
    admin("retire-key", "--yes", "--", old_kid)
    assert _kids(admin) == [new_kid]

    # Phase 2 deployed: the retired key's tokens are refused, however fresh.
    rt = deploy()
    assert _me(client, _forge(old_private, rt, creds)) == 401
    assert _me(client, login(creds)) == 200


def test_a_function_deployed_before_the_rotation_never_signs_with_the_unpublished_key(
    admin: Callable[..., str],
    deploy: Callable[[], Services],
    make_user: Callable[..., Credentials],
    login: Callable[..., str],
    clock: FakeClock,
    base_settings: Settings,
) -> None:
    admin("create-signing-key")
    [old_kid] = _kids(admin)
    old_deployment = deploy()
    admin("rotate-signing-key", "--activate-in", "0")
    # A cold start of the old deployment reads the new private list but keeps its old JWKS.
    gatehouse_app.gate.use_services(Services(old_deployment.settings, clock=clock))
    clock.advance(3600)
    assert _kid(login(make_user())) == old_kid


def test_tokens_of_the_old_key_still_verify_until_they_expire_after_rotation(
    admin: Callable[..., str],
    deploy: Callable[[], Services],
    client: Client,
    make_user: Callable[..., Credentials],
    login: Callable[..., str],
    clock: FakeClock,
) -> None:
    admin("create-signing-key")
    deploy()
    creds = make_user()
    old_token = login(creds)
    admin("rotate-signing-key", "--activate-in", "0")
    rt = deploy()
    assert _me(client, old_token) == 200
    clock.advance(rt.settings.access_token_ttl + rt.settings.leeway)
    assert _me(client, old_token) == 401  # expired, not refused for its key


def test_refresh_after_rotation_returns_a_token_with_the_new_kid(
    admin: Callable[..., str],
    deploy: Callable[[], Services],
    client: Client,
    make_user: Callable[..., Credentials],
) -> None:
    admin("create-signing-key")
    deploy()
    creds = make_user()
    body = {"grant_type": "password", "username": creds.username, "password": creds.password}
    grant = json_body(post_json(client, "/auth/token", body))
    admin("rotate-signing-key", "--activate-in", "0")
    deploy()
    refresh = {"grant_type": "refresh_token", "refresh_token": grant["refresh_token"]}
    refreshed = json_body(post_json(client, "/auth/token", refresh))
    assert _kid(refreshed["access_token"]) == _kids(admin)[0]


def test_jwks_endpoint_publishes_the_incoming_key_before_it_signs(
    admin: Callable[..., str], deploy: Callable[[], Services], client: Client
) -> None:
    admin("create-signing-key")
    admin("rotate-signing-key", "--activate-in", str(ACTIVATE_IN))
    deploy()
    published = json_body(client.http.get("/.well-known/jwks.json"))["keys"]
    assert [k["kid"] for k in published] == _kids(admin)
    assert not [k for k in published if {"d", "iat", "nbf"} & set(k)]


# -- the rules, without AWS ----------------------------------------------------------------


def _stored(now: int = 0, activate_at: int = 0) -> dict[str, Any]:
    return keyring.stamped(generate_signing_jwk(), now=now, activate_at=activate_at)


def _published(*jwks: dict[str, Any]) -> KeySet:
    return KeySet(parse_signing_jwk(j).public for j in jwks)


def test_signing_key_is_the_newest_published_and_active_one() -> None:
    old, new = _stored(), _stored(activate_at=100)
    keys = load_signing_keys(keyring.dump([new, old]))
    assert choose_signing_key(keys, _published(new, old), now=99).kid == old["kid"]
    assert choose_signing_key(keys, _published(new, old), now=100).kid == new["kid"]
    assert choose_signing_key(keys, _published(old), now=100).kid == old["kid"]


def test_no_published_key_is_a_config_error_naming_gatehouse_jwks() -> None:
    keys = load_signing_keys(keyring.dump([_stored()]))
    with pytest.raises(KeyLoadError, match="not published in GATEHOUSE_JWKS"):
        choose_signing_key(keys, _published(_stored()), now=0)


def test_published_kid_with_other_key_material_is_refused() -> None:
    mine, other = _stored(), _stored()
    impostor = {**other, "kid": mine["kid"]}
    with pytest.raises(KeyLoadError, match="other key material"):
        choose_signing_key(load_signing_keys(keyring.dump([mine])), _published(impostor), now=0)


def test_a_single_private_jwk_is_still_accepted_as_the_key_store() -> None:
    jwk = generate_signing_jwk()
    [key] = load_signing_keys(json.dumps(jwk))
    assert key.kid == jwk["kid"]
    assert key.not_before == 0
    assert keyring.parse(json.dumps(jwk)) == [jwk]


@pytest.mark.parametrize("text", ['{"keys": []}', '{"keys": {}}', "[]"])
def test_empty_or_malformed_key_lists_are_refused(text: str) -> None:
    with pytest.raises(KeyLoadError):
        load_signing_keys(text)


def test_duplicate_kids_in_the_key_store_are_refused() -> None:
    key = _stored()
    with pytest.raises(KeyLoadError, match="twice"):
        load_signing_keys(json.dumps({"keys": [key, key]}))


@pytest.mark.parametrize("bad", [-1, "10", 1.5, True])
def test_nbf_must_be_a_whole_non_negative_number(bad: Any) -> None:
    with pytest.raises(KeyLoadError, match="nbf"):
        load_signing_keys(json.dumps({**generate_signing_jwk(), "nbf": bad}))


def test_old_key_is_retirable_one_token_lifetime_after_the_new_key_starts_signing() -> None:
    old, new = _stored(), _stored(activate_at=1000)
    keys = [new, old]
    assert keyring.retirable_at(keys, old["kid"], token_lifetime=930, now=999) is None
    assert keyring.retirable_at(keys, old["kid"], token_lifetime=930, now=1000) == 1930
    assert keyring.retirable_at(keys, new["kid"], token_lifetime=930, now=2000) is None


def test_a_key_that_never_signed_can_be_retired_at_once() -> None:
    old, new = _stored(), _stored(activate_at=1000)
    assert keyring.retire([new, old], new["kid"], token_lifetime=930, now=10, force=False) == [old]


def test_public_document_holds_no_private_or_private_bookkeeping_member() -> None:
    doc = json.loads(keyring.public_document([_stored(now=5, activate_at=6)]))
    [key] = doc["keys"]
    assert set(key) == {"kty", "crv", "x", "kid", "alg", "use"}
