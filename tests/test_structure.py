"""Structural properties: what the cold start imports, how many DynamoDB calls a login costs,
and the exact shape of the authorizer's policy."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest
from chalice.test import Client

import app as gatehouse_app
from gatehouse.authorizer.bearer import Unauthorized
from gatehouse.authorizer.policy import ROUTES_VARIABLE
from gatehouse.component import protected_routes
from gatehouse.jose.access_tokens import issue_access_token
from gatehouse.jose.keys import generate_signing_jwk, load_signing_key, public_jwks
from gatehouse.settings import load_settings, token_rules
from tests.conftest import ROOT, Credentials, post_json
from tests.processes import python_json

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/api/GET/me"
AWS_MODULES = """sorted(m for m in sys.modules if m.startswith(("boto3", "botocore")))"""


def _clean_env(**extra: str) -> dict[str, str]:
    """This environment without endpoints or Gatehouse settings, so the child uses the defaults."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_ENDPOINT_URL", "GATEHOUSE_", "PYTHONPATH"))
    }
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def _authorizer_env(**extra: str) -> dict[str, str]:
    """The authorizer function's environment as deployed: the route table comes with it."""
    return _clean_env(**{ROUTES_VARIABLE: protected_routes(gatehouse_app.app).encode()}, **extra)


_run_python = python_json


def test_importing_the_app_loads_no_boto3_or_botocore_module() -> None:
    loaded = _run_python(
        f"""
        import json, sys
        import app
        print(json.dumps({AWS_MODULES}))
        """,
        _clean_env(),
    )
    assert loaded == []


def _signed_event(env: dict[str, str], signing_jwk: dict[str, str]) -> dict[str, str]:
    settings = load_settings(env)
    rules = token_rules(settings)
    token, _ = issue_access_token(
        load_signing_key(json.dumps(signing_jwk)),
        rules,
        subject="alice",
        username="someone",
        session_id="018d2a9c3b00" + "A" * 22,  # shaped like a sid, so the check reads it
        roles=["user"],
        now=int(time.time()),
    )
    return {"type": "TOKEN", "authorizationToken": "Bearer " + token, "methodArn": METHOD_ARN}


def test_authorizer_with_session_check_imports_botocore_on_first_need_and_fails_closed() -> None:
    signing_jwk = generate_signing_jwk()
    # Nothing listens on port 9: the session read fails, and the token must be denied.
    env = _authorizer_env(
        GATEHOUSE_JWKS=json.dumps(public_jwks([signing_jwk])),
        AWS_ENDPOINT_URL="http://127.0.0.1:9",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
    )
    event = _signed_event(env, signing_jwk)
    answer = _run_python(
        f"""
        import json, sys
        from gatehouse.authorizer.handler import gatehouse_auth
        before = {AWS_MODULES}
        try:
            gatehouse_auth({event!r}, None)
            outcome = "allowed"
        except Exception as exc:
            outcome = str(exc)
        print(json.dumps({{"before": before, "after": bool({AWS_MODULES}), "outcome": outcome}}))
        """,
        env,
    )
    assert answer == {"before": [], "after": True, "outcome": "Unauthorized"}


def test_authorizer_allows_a_valid_token_without_ever_importing_boto3() -> None:
    signing_jwk = generate_signing_jwk()
    env = _authorizer_env(
        GATEHOUSE_JWKS=json.dumps(public_jwks([signing_jwk])), GATEHOUSE_CHECK_SESSIONS="false"
    )
    event = _signed_event(env, signing_jwk)
    answer = _run_python(
        f"""
        import json, sys
        from gatehouse.authorizer.handler import gatehouse_auth
        policy = gatehouse_auth({event!r}, None)
        print(json.dumps({{"policy": policy, "loaded": {AWS_MODULES}}}))
        """,
        env,
    )
    assert answer["loaded"] == []
    policy = answer["policy"]
    assert policy["principalId"] == "alice"
    [statement] = policy["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "execute-api:Invoke"
    assert METHOD_ARN in statement["Resource"]


# -- DynamoDB round trips per login --------------------------------------------------


def _password_grant(creds: Credentials, password: str | None = None) -> dict[str, str]:
    return {"grant_type": "password", "username": creds.username, "password": password or creds.password}


def test_successful_login_makes_exactly_four_dynamodb_requests(
    client: Client, make_user: Callable[..., Credentials], dynamodb_calls: list[str]
) -> None:
    creds = make_user()
    dynamodb_calls.clear()
    response = post_json(client, "/auth/token", _password_grant(creds))
    assert response.status_code == 200, response.body
    # Read the user; after the password check, the attempt's one conditional write (a
    # right password is admitted, not counted: attempts table), one strongly consistent
    # query of the user's sessions (the per-user cap), then one transaction: new session
    # + "credentials unchanged" check + counter reset (+ the oldest sessions past the
    # cap, + a hash upgrade).
    assert dynamodb_calls == ["GetItem", "UpdateItem", "Query", "TransactWriteItems"]


def test_failed_login_makes_exactly_three_dynamodb_requests(
    client: Client, make_user: Callable[..., Credentials], dynamodb_calls: list[str]
) -> None:
    creds = make_user()
    dynamodb_calls.clear()
    response = post_json(client, "/auth/token", _password_grant(creds, "Wrong-password-42"))
    assert response.status_code == 400
    # Read the user, count the attempt (after the password check), record the account's event.
    assert dynamodb_calls == ["GetItem", "UpdateItem", "PutItem"]


def test_unknown_user_login_makes_the_same_three_dynamodb_requests(
    client: Client, dynamodb_calls: list[str]
) -> None:
    response = post_json(
        client, "/auth/token", _password_grant(Credentials("no-such-user", "Wrong-password-42"))
    )
    assert response.status_code == 400
    # The very same: no user, the counter, a put whose condition never holds (nothing is written).
    assert dynamodb_calls == ["GetItem", "UpdateItem", "PutItem"]


def test_login_with_a_device_token_makes_the_same_requests(
    client: Client, make_user: Callable[..., Credentials], dynamodb_calls: list[str]
) -> None:
    creds = make_user()
    first = json.loads(post_json(client, "/auth/token", _password_grant(creds)).body)
    dynamodb_calls.clear()
    with_device = {**_password_grant(creds, "Wrong-password-42"), "device_token": first["device_token"]}
    assert post_json(client, "/auth/token", with_device).status_code == 400
    assert dynamodb_calls == ["GetItem", "UpdateItem", "PutItem"]  # the devices' budget, not the name's


# -- the authorizer as a Lambda ---------------------------------------------------------


def _authorize(client: Client, token: str) -> dict[str, Any]:
    event = {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": METHOD_ARN}
    payload: dict[str, Any] = client.lambda_.invoke("gatehouse_auth", event).payload
    return payload


def _allowed(policy: dict[str, Any]) -> set[tuple[str, str]]:
    """(route glob, method) pairs from the policy's resource ARNs."""
    allowed = set()
    for statement in policy["policyDocument"]["Statement"]:
        assert statement["Effect"] == "Allow"
        for arn in statement["Resource"]:
            _api, _stage, method, path = arn.split(":", 5)[-1].split("/", 3)
            allowed.add(("/" + path, method))
    return allowed


def _protected_routes() -> set[tuple[str, str]]:
    """Every (glob, method) behind the authorizer, read from the app's own route table."""
    return {
        (re.sub(r"\{[^/}]+\}", "*", path), method)
        for path, methods in gatehouse_app.app.routes.items()
        for method, entry in methods.items()
        if entry.authorizer is gatehouse_app.gate.authorizer
    }


def test_authorizer_lambda_context_carries_identity_as_strings(
    client: Client, make_user: Callable[..., Credentials], login: Callable[[Credentials], str]
) -> None:
    creds = make_user()
    policy = _authorize(client, login(creds))
    context = policy["context"]
    assert set(context) == {"account_id", "username", "roles", "sid", "jti"}
    assert all(isinstance(value, str) and value for value in context.values())
    assert (context["account_id"], context["username"]) == (creds.account_id, creds.username)
    assert context["roles"] == "user"
    assert policy["principalId"] == creds.account_id  # sub: the account id


def test_authorizer_lambda_rejects_a_bad_token_with_exactly_unauthorized(client: Client) -> None:
    with pytest.raises(Unauthorized) as raised:
        _authorize(client, "not.a.token")
    assert str(raised.value) == "Unauthorized"


def test_user_policy_lists_every_protected_route_except_admin_ones(
    client: Client, make_user: Callable[..., Credentials], login: Callable[[Credentials], str]
) -> None:
    protected = _protected_routes()
    admin_only = {(path, method) for path, method in protected if path.startswith("/admin/")}
    assert {
        ("/me", "GET"),
        ("/notes", "GET"),
        ("/notes", "POST"),
        ("/notes/*", "GET"),
        ("/notes/*", "PUT"),
        ("/notes/*", "DELETE"),
    } <= protected - admin_only
    assert ("/admin/users", "GET") in admin_only

    policy = _authorize(client, login(make_user()))
    assert _allowed(policy) == protected - admin_only


def test_admin_policy_also_lists_admin_routes(
    client: Client, make_user: Callable[..., Credentials], login: Callable[[Credentials], str]
) -> None:
    policy = _authorize(client, login(make_user(roles=("admin", "user"))))
    allowed = _allowed(policy)
    assert allowed == _protected_routes()
    assert ("/admin/users", "GET") in allowed


def test_policy_routes_are_globs_never_path_templates(
    client: Client, make_user: Callable[..., Credentials], login: Callable[[Credentials], str]
) -> None:
    # API Gateway matches resources as globs: /notes/{id} would never match, /notes/* does.
    policy = _authorize(client, login(make_user(roles=("admin", "user"))))
    resources = [arn for s in policy["policyDocument"]["Statement"] for arn in s["Resource"]]
    assert resources
    assert not [arn for arn in resources if "{" in arn or "}" in arn]
    assert ("/notes/*", "GET") in _allowed(policy)


def test_unloadable_signing_key_fails_the_api_handler_cold_start_naming_the_setting() -> None:
    env = _clean_env(
        AWS_LAMBDA_FUNCTION_NAME="gatehouse-prod",
        GATEHOUSE_PRELOAD_SIGNING_KEY="true",
        GATEHOUSE_JWKS=json.dumps(public_jwks([generate_signing_jwk()])),
        GATEHOUSE_SIGNING_KEY_PARAM="/gatehouse/missing",
        AWS_ENDPOINT_URL="http://127.0.0.1:9",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
    )
    result = subprocess.run(
        [sys.executable, "-c", "import app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "GATEHOUSE_SIGNING_KEY_PARAM" in result.stderr
    assert "/gatehouse/missing" in result.stderr


def test_the_admin_cli_imports_nothing_of_the_development_package() -> None:
    # The CLI runs against deployed stacks; the dev tooling (moto, gateway parity) is not its business.
    import ast

    imported = set()
    for path in (ROOT / "gatehouse.admin").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    assert not {name for name in imported if name.split(".")[0] == "gatehouse.dev"}
