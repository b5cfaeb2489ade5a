"""The authorizer function's entry point: its parts from the environment, read once per container."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator

import pytest

import app as gatehouse_app
from gatehouse.authorizer import handler
from gatehouse.authorizer.bearer import Unauthorized
from gatehouse.authorizer.policy import ROUTES_VARIABLE, RouteTable
from gatehouse.component import protected_routes
from gatehouse.errors import ConfigError
from gatehouse.jose.access_tokens import issue_access_token
from gatehouse.jose.keys import generate_signing_jwk, load_signing_key, public_jwks
from gatehouse.log_lines import AUTHORIZER_ALLOW, AUTHORIZER_DENY
from gatehouse.settings import load_settings, token_rules

ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/api/GET/notes"
SIGNING_JWK = generate_signing_jwk()


def _env(**extra: str) -> dict[str, str]:
    return {
        "GATEHOUSE_JWKS": json.dumps(public_jwks([SIGNING_JWK])),
        "GATEHOUSE_CHECK_SESSIONS": "false",
        ROUTES_VARIABLE: protected_routes(gatehouse_app.app).encode(),
        **extra,
    }


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The process environment of a deployed authorizer function; forgotten again afterwards."""
    env = _env()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    handler.reset()
    yield env
    handler.reset()


def _event(
    env: dict[str, str], token: str | None = None, roles: tuple[str, ...] = ("user",)
) -> dict[str, str]:
    """A TOKEN event; without ``token``, one carrying a fresh valid token with ``roles``."""
    signed, _ = issue_access_token(
        load_signing_key(json.dumps(SIGNING_JWK)),
        # The rules the handler reads: the process environment holds the test run's settings too.
        token_rules(load_settings({**os.environ, **env})),
        subject="alice",
        username="alice",
        session_id="sid-1",
        roles=roles,
        now=int(time.time()),
    )
    return {
        "type": "TOKEN",
        "authorizationToken": f"Bearer {signed if token is None else token}",
        "methodArn": ARN,
    }


def test_the_deployed_handler_string_names_this_module(deployed: dict[str, str]) -> None:
    # Chalice derives the handler of the authorizer function from the Blueprint's name.
    [config] = gatehouse_app.app.builtin_auth_handlers
    assert config.handler_string == handler.HANDLER == "gatehouse.authorizer.handler.gatehouse_auth"
    assert callable(handler.gatehouse_auth)


def test_a_valid_token_gets_the_policy_of_the_deployed_route_table(deployed: dict[str, str]) -> None:
    policy = handler.gatehouse_auth(_event(deployed), None)
    resources = policy["policyDocument"]["Statement"][0]["Resource"]
    assert ARN in resources
    assert not [arn for arn in resources if "/admin/" in arn]
    admin = handler.gatehouse_auth(_event(deployed, roles=("admin", "user")), None)
    assert [arn for arn in admin["policyDocument"]["Statement"][0]["Resource"] if "/admin/users" in arn]


def test_the_parts_are_read_once_per_container(
    deployed: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    handler.gatehouse_auth(_event(deployed), None)
    built = handler._verifier()
    monkeypatch.setenv(ROUTES_VARIABLE, "not json")  # a warm container never reads it again
    handler.gatehouse_auth(_event(deployed), None)
    assert handler._verifier() is built
    assert built.routes == RouteTable.decode(deployed[ROUTES_VARIABLE])


def test_the_deployed_function_writes_its_line_and_metrics_to_stdout(
    deployed: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    # Lambda sends a function's standard output to CloudWatch Logs: no logging module needed.
    handler.gatehouse_auth(_event(deployed), None)
    with pytest.raises(Unauthorized):
        handler.gatehouse_auth(_event(deployed, "not.a.token"), None)
    allowed, denied = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert (allowed["event"], allowed["outcome"], allowed["route"]) == ("authorizer", "allow", "GET /notes")
    assert (allowed["route_allowed"], allowed[AUTHORIZER_ALLOW]) == (1, 1)
    assert "GET,POST /notes" in allowed["policy_covers"]
    assert allowed["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [{"Name": AUTHORIZER_ALLOW, "Unit": "Count"}]
    assert (denied["outcome"], denied["reason"], denied[AUTHORIZER_DENY]) == ("deny", "malformed", 1)


def test_a_bad_token_is_exactly_unauthorized(deployed: dict[str, str]) -> None:
    with pytest.raises(Unauthorized) as raised:
        handler.gatehouse_auth(_event(deployed, "not.a.token"), None)
    assert str(raised.value) == "Unauthorized"


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({ROUTES_VARIABLE: "[1]"}, "must be a JSON object of paths"),
        ({"GATEHOUSE_JWKS": None}, "GATEHOUSE_JWKS is not set"),
    ],
)
def test_a_missing_or_broken_part_names_its_variable(change: dict[str, str | None], says: str) -> None:
    env = {k: v for k, v in {**_env(), **change}.items() if v is not None}
    with pytest.raises(ConfigError, match=says):
        handler.verifier_from(env)


def test_without_the_packaged_table_the_function_reads_the_apps_own() -> None:
    # A `chalice deploy` without the merge template: slower (it imports the app), never wrong.
    env = {k: v for k, v in _env().items() if k != ROUTES_VARIABLE}
    assert handler.verifier_from(env).routes == RouteTable.decode(_env()[ROUTES_VARIABLE])


def test_the_session_check_is_built_only_when_it_is_on() -> None:
    assert handler.verifier_from(_env()).session_check is None
    assert handler.verifier_from(_env(GATEHOUSE_CHECK_SESSIONS="true")).session_check is not None


def test_a_sid_that_is_not_ours_never_reaches_dynamodb() -> None:
    # The reader refuses it before creating any client, so nothing is sent (or imported).
    assert handler.session_reader("gatehouse-sessions")("alice", "forged/sid") is None
