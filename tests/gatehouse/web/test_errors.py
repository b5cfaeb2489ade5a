"""Failures become clear JSON errors with stable codes, never tracebacks or secrets."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib.notes.repository import NoteRepository
from gatehouse import logs
from gatehouse.errors import ConfigError
from gatehouse.settings import load_settings
from tests.conftest import bearer, json_body, post_json


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "boom"}}, "PutItem")


@pytest.mark.parametrize(
    "failure",
    [
        client_error("ProvisionedThroughputExceededException"),
        client_error("ThrottlingException"),
        EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
    ],
)
def test_throttled_or_unreachable_store_is_503_with_retry_after(client, make_user, rt, monkeypatch, failure):
    creds = make_user()

    def fail(**_kwargs):
        raise failure

    monkeypatch.setattr(rt.attempts._table, "update_item", fail)  # counting the attempt, the first write
    response = post_json(
        client,
        "/auth/token",
        {"grant_type": "password", "username": creds.username, "password": creds.password},
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert json_body(response) == {
        "error": "temporarily_unavailable",
        "error_description": "The service is busy. Try again shortly.",
    }


def test_store_failure_on_register_is_503_with_project_error_body(client, rt, monkeypatch):
    def fail(**_kwargs):
        raise client_error("ThrottlingException")

    monkeypatch.setattr(rt.users._table.meta.client, "transact_write_items", fail)
    response = post_json(client, "/auth/register", {"username": "zed", "password": "Quiet-River-42"})
    assert response.status_code == 503
    assert json_body(response)["error"] == "service_unavailable"


def test_unexpected_exception_in_a_view_is_a_json_500_without_traceback(
    client, make_user, login, rt, monkeypatch
):
    token = login(make_user())

    def crash(_self, _owner, _limit, _after=None):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(NoteRepository, "list_page", crash)
    response = client.http.get("/notes", headers=bearer(token))
    assert response.status_code == 500
    assert json_body(response) == {
        "error": "internal_error",
        "message": "The server could not complete the request.",
    }
    assert b"Traceback" not in response.body
    assert b"secret internals" not in response.body


def test_unreadable_signing_key_is_a_clear_error_naming_the_setting_in_the_log(
    client, make_user, make_runtime, rt, caplog
):
    broken = make_runtime()

    def missing(_name):
        raise ConfigError(
            "The signing key could not be read from the SSM parameter 'x' (GATEHOUSE_SIGNING_KEY_PARAM)."
        )

    broken._signing_key_source = missing
    creds = make_user()
    with caplog.at_level(logging.INFO, logger="gatehouse.events"):
        response = post_json(
            client,
            "/auth/token",
            {"grant_type": "password", "username": creds.username, "password": creds.password},
        )
    assert response.status_code == 500
    assert json_body(response) == {
        "error": "server_error",
        "error_description": "Gatehouse is misconfigured; the server log says how.",
    }
    logged = [json.loads(r.getMessage()) for r in caplog.records if r.name == "gatehouse.events"]
    assert any("GATEHOUSE_SIGNING_KEY_PARAM" in entry.get("detail", "") for entry in logged)
    # No session was opened for a token that could not be signed.
    assert broken.sessions._table.scan()["Count"] == 0


def test_signing_key_missing_from_ssm_names_the_parameter_and_setting(aws_mock):
    from gatehouse.services import read_signing_key_from_ssm

    with pytest.raises(ConfigError) as raised:
        read_signing_key_from_ssm("/gatehouse/nowhere")
    assert "/gatehouse/nowhere" in str(raised.value)
    assert "GATEHOUSE_SIGNING_KEY_PARAM" in str(raised.value)


def test_signing_key_not_published_in_jwks_is_refused(make_runtime):
    from gatehouse.jose.keys import generate_signing_jwk

    rt = make_runtime()
    rt._signing_key_source = lambda _name: json.dumps(generate_signing_jwk())
    with pytest.raises(ConfigError, match="not published in GATEHOUSE_JWKS"):
        _ = rt.signing_key


def test_invalid_setting_names_the_variable():
    with pytest.raises(ConfigError, match="GATEHOUSE_ACCESS_TOKEN_TTL"):
        load_settings({"GATEHOUSE_ACCESS_TOKEN_TTL": "soon"})


def test_request_log_is_one_json_line_without_secrets(client, make_user, login, caplog):
    creds = make_user()
    with caplog.at_level(logging.INFO, logger="gatehouse.events"):
        token = login(creds)
        client.http.get("/me", headers=bearer(token))
        tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
        client.http.get("/me", headers=bearer(tampered))
        post_json(
            client,
            "/auth/token",
            {"grant_type": "password", "username": creds.username, "password": "Wrong-1-pass"},
        )
    lines = [r.getMessage() for r in caplog.records if r.name == "gatehouse.events"]
    # The metric members of a line (CloudWatch EMF, tests/gatehouse/test_logs.py) aside.
    records = [
        {k: v for k, v in json.loads(line).items() if k != "_aws" and not k[:1].isupper()} for line in lines
    ]
    assert {
        "event": "request",
        "method": "GET",
        "route": "/me",
        "status": 200,
        "user": creds.username,
    } in records
    assert {
        "event": "authorizer",
        "outcome": "deny",
        "reason": "bad_signature",
        "route": "GET /me",
    } in records
    assert {
        "event": "request",
        "method": "POST",
        "route": "/auth/token",
        "status": 400,
        "error": "invalid_grant",
    } in records
    everything = "\n".join(lines)
    for secret in (token, token.split(".")[2], creds.password, "Wrong-1-pass"):
        assert secret not in everything


@pytest.fixture
def aws_libraries_quieted() -> Iterator[None]:
    """What the Lambda entry points' logging configuration does to botocore, boto3 and urllib3."""
    levels = {name: logging.getLogger(name).level for name in logs.NOISY}
    logs.quiet_aws_libraries()
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def test_no_password_hash_token_or_key_reaches_any_log_line(
    client, make_user, rt, signing_jwk, caplog, monkeypatch, aws_libraries_quieted
):
    password = "Lantern-Quiet-Orbit-7"
    wrong = "Guess-Wrong-Orbit-8"
    with caplog.at_level(logging.DEBUG):
        post_json(client, "/auth/register", {"username": "loggy", "password": password})
        post_json(client, "/auth/register", {"username": "loggy2", "password": "password"})
        bad = post_json(
            client, "/auth/token", {"grant_type": "password", "username": "loggy", "password": wrong}
        )
        good = json_body(
            post_json(
                client, "/auth/token", {"grant_type": "password", "username": "loggy", "password": password}
            )
        )
        client.http.get("/me", headers=bearer(good["access_token"]))
        client.http.get("/me", headers=bearer(good["access_token"][:-4] + "AAAA"))
        refreshed = json_body(
            post_json(
                client, "/auth/token", {"grant_type": "refresh_token", "refresh_token": good["refresh_token"]}
            )
        )
        monkeypatch.setattr(NoteRepository, "list_page", lambda *_args: 1 / 0)
        client.http.get("/notes", headers=bearer(refreshed["access_token"]))
        post_json(client, "/auth/revoke", {"token": refreshed["refresh_token"]})
    assert bad.status_code == 400
    logged = "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    assert logged  # something was logged
    stored_hash = rt.users.get("loggy").password_hash
    secrets_ = [password, wrong, stored_hash, signing_jwk["d"]]
    for grant in (good, refreshed):
        secrets_ += [
            grant["access_token"],
            grant["access_token"].split(".")[2],
            grant["refresh_token"],
            grant["refresh_token"].split(".")[-2],  # the family
            grant["refresh_token"].split(".")[-1],  # the secret
        ]
    for secret in secrets_:
        assert secret not in logged
