"""CORS over real HTTP against the stack ``make run`` starts (dev stage, chalice local's server).

One stack with a list of three origins set in its environment (which must
replace the dev stage's default), one with nothing set (the dev default).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.live_stack import DEMO_PASSWORD, LiveStack, free_port_pair, live_stack
from tests.processes import run_python

pytestmark = pytest.mark.e2e

WEB = "https://app.example.com"
IOS = "capacitor://localhost"
ANDROID = "http://localhost"
LISTED = (WEB, IOS, ANDROID)
# Allowed by the dev default, but not once a list is set.
DEV_ONLY = "http://localhost:5173"


@pytest.fixture(scope="module")
def stack() -> Iterator[LiveStack]:
    with live_stack({"GATEHOUSE_CORS_ORIGINS": ",".join(LISTED)}) as running:
        yield running


@pytest.fixture(scope="module")
def dev_stack() -> Iterator[LiveStack]:
    with live_stack() as running:
        yield running


def _split(value: str) -> set[str]:
    return {part.strip() for part in value.split(",")}


def _preflight(stack: LiveStack, origin: str, path: str = "/notes", method: str = "POST") -> tuple[int, Any]:
    status, headers, _ = stack.call(
        "OPTIONS",
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    return status, headers


def _assert_readable(headers: Any, origin: str) -> None:
    assert headers["Access-Control-Allow-Origin"] == origin
    assert "Origin" in _split(headers["Vary"])
    assert {"WWW-Authenticate", "Retry-After"} <= _split(headers["Access-Control-Expose-Headers"])


def _login(stack: LiveStack, username: str, password: str, origin: str = WEB) -> str:
    status, _, body = stack.call(
        "POST",
        "/auth/token",
        {"grant_type": "password", "username": username, "password": password},
        headers={"Origin": origin},
    )
    assert status == 200, body
    return str(body["access_token"])


@pytest.mark.parametrize("origin", LISTED)
def test_preflight_answers_each_listed_origin(stack: LiveStack, origin: str) -> None:
    status, headers = _preflight(stack, origin)
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == origin
    assert _split(headers["Access-Control-Allow-Methods"]) == {"GET", "POST", "OPTIONS"}
    assert {h.lower() for h in _split(headers["Access-Control-Allow-Headers"])} == {
        "authorization",
        "content-type",
    }
    assert headers["Access-Control-Max-Age"] == "600"
    assert headers["Vary"] == "Origin"
    assert headers["Access-Control-Allow-Credentials"] is None


@pytest.mark.parametrize(
    ("path", "method"),
    [("/notes/01ABCDEF", "DELETE"), ("/auth/sessions/abc", "DELETE"), ("/auth/token", "POST")],
)
def test_preflight_allows_the_method_asked_for(stack: LiveStack, path: str, method: str) -> None:
    status, headers = _preflight(stack, IOS, path, method)
    assert status == 204
    assert method in _split(headers["Access-Control-Allow-Methods"])


@pytest.mark.parametrize("origin", [DEV_ONLY, "https://evil.example", "null"])
def test_the_list_replaces_the_dev_default_and_refuses_other_origins(stack: LiveStack, origin: str) -> None:
    status, headers = _preflight(stack, origin)
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] is None
    assert headers["Access-Control-Allow-Methods"] is None
    status, headers, _ = stack.call("GET", "/notes", headers={"Origin": origin})
    assert status == 401
    assert headers["Access-Control-Allow-Origin"] is None
    assert headers["Vary"] == "Origin"


def test_gateway_401_and_403_answers_are_readable(stack: LiveStack) -> None:
    status, headers, body = stack.call(
        "GET", "/notes", headers={"Authorization": "Bearer not.a.token", "Origin": IOS}
    )
    assert (status, body["error"]) == (401, "invalid_token")
    assert headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    _assert_readable(headers, IOS)

    status, headers, _ = stack.call("GET", "/notes", headers={"Origin": ANDROID})
    assert status == 401
    _assert_readable(headers, ANDROID)

    token = _login(stack, "demo", DEMO_PASSWORD)
    status, headers, _ = stack.call(
        "GET", "/admin/users", headers={"Authorization": f"Bearer {token}", "Origin": WEB}
    )
    assert status == 403
    _assert_readable(headers, WEB)

    status, headers, body = stack.call("GET", "/nowhere", headers={"Origin": WEB})
    assert (status, body["error"]) == (404, "not_found")
    _assert_readable(headers, WEB)


def test_app_answers_success_and_errors_alike_are_readable(stack: LiveStack) -> None:
    username, password = stack.new_user("cors")
    token = _login(stack, username, password)
    auth = {"Authorization": f"Bearer {token}", "Origin": IOS}

    status, headers, _ = stack.call("GET", "/notes", headers=auth)
    assert status == 200
    _assert_readable(headers, IOS)

    status, headers, body = stack.call("GET", "/notes/0000000000000000000000000A", headers=auth)
    assert (status, body["error"]) == (404, "not_found")
    _assert_readable(headers, IOS)

    status, headers, body = stack.call("PATCH", "/notes", {"text": "x"}, headers=auth)
    assert status == 405
    _assert_readable(headers, IOS)

    status, headers, body = stack.call(
        "POST",
        "/auth/token",
        {"grant_type": "password", "username": username, "password": "Wrong-1-password"},
        headers={"Origin": WEB},
    )
    assert (status, body["error"]) == (400, "invalid_grant")
    _assert_readable(headers, WEB)


def test_lockout_retry_after_is_readable(stack: LiveStack) -> None:
    username, _ = stack.new_user("cors-lock")
    wrong = {"grant_type": "password", "username": username, "password": "Wrong-1-password"}
    for _attempt in range(10):
        status, headers, body = stack.call("POST", "/auth/token", wrong, headers={"Origin": WEB})
        if status == 429:
            break
    assert status == 429, json.dumps(body)
    assert int(headers["Retry-After"]) > 0
    _assert_readable(headers, WEB)


# -- the dev stage's default -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin",
    [
        "http://localhost:3000",
        "http://localhost:8100",
        "http://127.0.0.1:5173",
        IOS,
        "ionic://localhost",
        "app://localhost",  # Cordova iOS (docs/CLIENTS.md)
        "https://localhost",  # Capacitor and Cordova on Android
    ],
)
def test_dev_stage_allows_local_dev_servers_and_ios_webviews_by_default(
    dev_stack: LiveStack, origin: str
) -> None:
    status, headers = _preflight(dev_stack, origin)
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == origin
    status, headers, body = dev_stack.call("GET", "/notes", headers={"Origin": origin})
    assert (status, body["error"]) == (401, "missing_token")
    _assert_readable(headers, origin)


@pytest.mark.parametrize("origin", [WEB, "http://localhost.evil.example:3000", "app://evil.example"])
def test_dev_stage_default_allows_nothing_else(dev_stack: LiveStack, origin: str) -> None:
    status, headers = _preflight(dev_stack, origin)
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] is None


def test_make_run_refuses_a_bad_list_in_one_line() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEHOUSE_", "AWS_ENDPOINT_URL"))}
    env["GATEHOUSE_CORS_ORIGINS"] = "https://app.example.com/"
    result = run_python(["-m", "gatehouse.dev.run", "--port", str(free_port_pair())], env)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "GATEHOUSE_CORS_ORIGINS" in lines[0]
    assert "no trailing slash" in lines[0]
