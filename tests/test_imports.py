"""What a cold start imports: each test is a fresh interpreter, as a Lambda cold start is.

The authorizer function imports neither the app nor Chalice (its route table
comes with the deployment), nor PyJWT (the verifier calls cryptography
itself), argon2 or zxcvbn (only passwords need them), nor the AWS SDK until
its session check reads a table, and then botocore alone.  The API handler
never needs PyJWT, the password libraries or the SDK unless it reads a
table.  Every one of those is tens to hundreds of milliseconds of cold start
that users wait for.  Nor does the authorizer's verify path import
``dataclasses`` (which imports ``inspect``, ``ast`` and ``dis``) or
``logging``: its parts are named tuples and its one log line is written to
standard output; only botocore brings them in, for the session check.  The
control proves the check can see an import: issuing a token does load PyJWT.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from typing import Any

import app as gatehouse_app
from gatehouse.authorizer.policy import ROUTES_VARIABLE
from gatehouse.component import protected_routes
from gatehouse.jose.access_tokens import issue_access_token
from gatehouse.jose.keys import generate_signing_jwk, load_signing_key, public_jwks
from gatehouse.settings import load_settings, token_rules
from tests.conftest import ROOT

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/api/GET/me"
# Prints, as a JSON list, which of the watched top-level packages are loaded.
LOADED = """[m for m in ("jwt", "boto3", "botocore", "argon2", "zxcvbn") if m in sys.modules]"""
# What the authorizer function must never load, and what it loads only for its session check.
NEVER_ON_THE_AUTHORIZER = ("chalice", "app", "jwt", "boto3", "argon2", "zxcvbn")
AUTHORIZER_LOADED = f"""[m for m in {(*NEVER_ON_THE_AUTHORIZER, "botocore")!r} if m in sys.modules]"""
# Standard library modules the verify path does without (milliseconds of cold start each).
NOT_ON_THE_VERIFY_PATH = ("dataclasses", "inspect", "logging")
VERIFY_PATH_LOADED = f"""[m for m in {NOT_ON_THE_VERIFY_PATH!r} if m in sys.modules]"""
# Gatehouse modules of login, mail and the storage layer's writes.
HEAVY_GATEHOUSE = (
    "gatehouse.component",
    "gatehouse.services",
    "gatehouse.web.views",
    "gatehouse.mail",
    "gatehouse.accounts.login",
    "gatehouse.accounts.passwords",
    "gatehouse.accounts.sessions",
    "gatehouse.storage.users",
    "gatehouse.storage.account_email",
    "gatehouse.storage.attempts",
)


def _env(**extra: str) -> dict[str, str]:
    """This environment without endpoints or Gatehouse settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GATEHOUSE_", "PYTHONPATH"))}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def _run(code: str, env: dict[str, str], *args: str) -> Any:
    """Run ``code`` in a fresh interpreter; it prints one JSON document as its last stdout line."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _verifier_env(**extra: str) -> tuple[dict[str, str], dict[str, str]]:
    """The authorizer function's environment as deployed: key set, settings, the route table."""
    signing_jwk = generate_signing_jwk()
    deployed = {
        "GATEHOUSE_JWKS": json.dumps(public_jwks([signing_jwk])),
        "GATEHOUSE_CHECK_SESSIONS": "false",
        ROUTES_VARIABLE: protected_routes(gatehouse_app.app).encode(),
    }
    env = _env(**{**deployed, **extra})
    return env, signing_jwk


def _token(env: dict[str, str], signing_jwk: dict[str, str], session_id: str = "session-1") -> str:
    token, _ = issue_access_token(
        load_signing_key(json.dumps(signing_jwk)),
        token_rules(load_settings(env)),
        subject="alice",
        username="someone",
        session_id=session_id,
        roles=["user"],
        now=int(time.time()),
    )
    return token


FIRST_AUTHORIZER_CALL = f"""
    import json, sys
    from gatehouse.authorizer.handler import gatehouse_auth
    after_import = {AUTHORIZER_LOADED} + {VERIFY_PATH_LOADED}
    try:
        policy = gatehouse_auth(json.loads(sys.argv[1]), None)
        effect = policy["policyDocument"]["Statement"][0]["Effect"]
    except Exception as denied:
        effect = str(denied)
    heavy = sorted(m for m in {HEAVY_GATEHOUSE!r} if m in sys.modules)
    print(json.dumps({{"after_import": after_import, "effect": effect, "after_call": {AUTHORIZER_LOADED},
                       "stdlib_after_call": {VERIFY_PATH_LOADED}, "heavy": heavy}}))
    """


def test_the_authorizers_first_call_loads_only_the_verify_path() -> None:
    env, signing_jwk = _verifier_env()
    event = {
        "type": "TOKEN",
        "authorizationToken": f"Bearer {_token(env, signing_jwk)}",
        "methodArn": METHOD_ARN,
    }
    answer = _run(FIRST_AUTHORIZER_CALL, env, json.dumps(event))
    assert answer == {
        "after_import": [],
        "effect": "Allow",
        "after_call": [],
        "stdlib_after_call": [],
        "heavy": [],
    }


def test_the_authorizers_session_check_adds_botocore_and_nothing_else() -> None:
    # No endpoint answers on this port: the read fails and the authorizer denies
    # (fail closed), after botocore was imported and the client created.
    env, signing_jwk = _verifier_env(
        GATEHOUSE_CHECK_SESSIONS="true",
        AWS_ENDPOINT_URL="http://127.0.0.1:9",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_MAX_ATTEMPTS="1",
    )
    token = _token(env, signing_jwk, session_id="0123456789abAAAAAAAAAAAAAAAAAAAAAA")
    event = {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": METHOD_ARN}
    answer = _run(FIRST_AUTHORIZER_CALL, env, json.dumps(event))
    # botocore itself imports dataclasses and logging; only after the verify path ran.
    assert answer == {
        "after_import": [],
        "effect": "Unauthorized",
        "after_call": ["botocore"],
        "stdlib_after_call": list(NOT_ON_THE_VERIFY_PATH),
        "heavy": [],
    }


def _api_event(path: str, resource: str, params: dict[str, str]) -> dict[str, Any]:
    """A REST API proxy event for GET ``path``, as API Gateway sends it after the authorizer allowed it."""
    return {
        "resource": resource,
        "path": path,
        "httpMethod": "GET",
        "headers": {"Accept": "application/json"},
        "multiValueHeaders": {"Accept": ["application/json"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": params,
        "stageVariables": None,
        "body": None,
        "isBase64Encoded": False,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": "GET",
            "path": "/api" + path,
            "stage": "api",
            "requestId": "request-1",
            "identity": {"sourceIp": "192.0.2.1"},
            "authorizer": {
                "account_id": "0123456789abcdef0123456789abcdef",
                "username": "alice",
                "roles": "user",
                "sid": "session-1",
                "jti": "token-1",
            },
        },
    }


def test_first_resource_route_call_loads_no_pyjwt_sdk_or_password_library() -> None:
    # An id that cannot name a note is a 404 before any table is touched.
    env, _ = _verifier_env()
    event = _api_event("/notes/not-an-id", "/notes/{note_id}", {"note_id": "not-an-id"})
    answer = _run(
        f"""
        import json, sys
        import app
        response = app.app(json.loads(sys.argv[1]), None)
        body = json.loads(response["body"])
        print(json.dumps({{"status": response["statusCode"], "error": body["error"], "loaded": {LOADED}}}))
        """,
        env,
        json.dumps(event),
    )
    assert answer == {"status": 404, "error": "not_found", "loaded": []}


def test_issuing_a_token_through_the_token_route_loads_pyjwt() -> None:
    # The control: the same check does see PyJWT once the auth function signs a token.
    signing_jwk = generate_signing_jwk()
    env = _env(
        GATEHOUSE_JWKS=json.dumps(public_jwks([signing_jwk])),
        GATEHOUSE_SIGNING_KEY_PARAM="/gatehouse/test-key",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
    )
    body = json.dumps({"grant_type": "password", "username": "alice", "password": "tulip-Marble-9-sunset"})
    event = _api_event("/auth/token", "/auth/token", {})
    event["httpMethod"] = event["requestContext"]["httpMethod"] = "POST"
    event.update(body=body, headers={"Content-Type": "application/json"})
    event["multiValueHeaders"] = {"Content-Type": ["application/json"]}
    del event["requestContext"]["authorizer"]
    answer = _run(
        f"""
        import json, sys
        from moto import mock_aws
        with mock_aws():
            import app
            from gatehouse import roles
            from gatehouse.accounts import signup
            from gatehouse.storage import aws
            from gatehouse.storage.tables import create_tables
            rt = app.gate.services()
            key_param = rt.settings.signing_key_param
            aws.ssm().put_parameter(Name=key_param, Value=sys.argv[2], Type="SecureString")
            create_tables(aws.session().client("dynamodb"), rt.settings)
            signup.create_user(rt, "alice", "tulip-Marble-9-sunset", roles.DEFAULT_ROLES)
            before = {LOADED}
            response = app.app(json.loads(sys.argv[1]), None)
            issued = "access_token" in json.loads(response["body"])
            print(json.dumps({{"before": before, "status": response["statusCode"], "issued": issued,
                               "after": {LOADED}}}))
        """,
        env,
        json.dumps(event),
        json.dumps(signing_jwk),
    )
    assert answer == {
        "before": ["boto3", "botocore", "argon2", "zxcvbn"],
        "status": 200,
        "issued": True,
        "after": ["jwt", "boto3", "botocore", "argon2", "zxcvbn"],
    }
