"""CORS: the setting, the headers on every kind of response, and preflights over real HTTP.

``chalice.test``'s ``http.options()`` cannot run the preflights Chalice
generates, so those are sent to ``chalice local`` (the stack ``make run``
starts) instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.app import Chalice, Response
from chalice.test import Client

from chalicelib.gatehouse.errors import ConfigError, NotFound
from chalicelib.gatehouse.settings import cors_origin
from chalicelib.gatehouse.web import cors
from chalicelib.gatehouse.web.responses import answering_errors
from tests.live_stack import DEMO_PASSWORD, LiveStack, live_stack

ORIGIN = "http://127.0.0.1:5173"


# -- the setting -------------------------------------------------------------------


def test_no_cors_origin_means_no_cors() -> None:
    assert cors_origin({}) is None
    assert cors_origin({"GATEHOUSE_CORS_ORIGIN": "  "}) is None


@pytest.mark.parametrize(
    "origin",
    ["*", "https://app.example.com", "http://127.0.0.1:5173", "http://localhost:8080", " https://x.io "],
)
def test_cors_origin_accepts_star_or_one_origin(origin: str) -> None:
    assert cors_origin({"GATEHOUSE_CORS_ORIGIN": origin}) == origin.strip()


@pytest.mark.parametrize(
    "origin",
    [
        "https://app.example.com/",
        "https://app.example.com/path",
        "app.example.com",
        "null",
        "javascript:alert(1)",
        "https://a.example.com, https://b.example.com",
        "https://a.example.com https://b.example.com",
        "https://*.example.com",
        "ftp://files.example.com",
    ],
)
def test_cors_origin_refuses_anything_but_one_origin_naming_the_variable(origin: str) -> None:
    with pytest.raises(ConfigError) as raised:
        cors_origin({"GATEHOUSE_CORS_ORIGIN": origin})
    assert "GATEHOUSE_CORS_ORIGIN" in raised.value.message


def test_the_app_under_test_has_no_cors_by_default(client: Client) -> None:
    response = client.http.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers


# -- the module, on a small app shaped like app.py -------------------------------------


def _toy_app(origin: str | None) -> Chalice:
    app = Chalice(app_name="cors-toy")
    cors.install(app, origin)

    @app.route("/ok")
    def ok() -> dict[str, bool]:
        return {"ok": True}

    @app.route("/missing")
    @answering_errors
    def missing() -> Response:
        raise NotFound()

    return app


def test_install_without_origin_changes_nothing() -> None:
    app = _toy_app(None)
    assert app.api.cors is False
    with Client(app) as client:
        assert "Access-Control-Allow-Origin" not in client.http.get("/ok").headers


def test_view_responses_and_rendered_errors_both_carry_the_headers() -> None:
    app = _toy_app(ORIGIN)
    assert app.routes["/ok"]["GET"].cors is app.api.cors
    with Client(app) as client:
        for path, status in (("/ok", 200), ("/missing", 404)):
            response = client.http.get(path)
            assert response.status_code == status
            assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
            assert response.headers["Access-Control-Expose-Headers"] == "WWW-Authenticate,Retry-After"
            assert "Authorization" in response.headers["Access-Control-Allow-Headers"].split(",")


def test_headers_already_set_by_a_view_are_kept() -> None:
    middleware = cors.headers_middleware(cors.route_config(ORIGIN))
    request: Any = None
    response = middleware(request, lambda _: Response(body="", headers={"Access-Control-Max-Age": "5"}))
    assert response.headers["Access-Control-Max-Age"] == "5"
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN


# -- the real app over HTTP ------------------------------------------------------------


@pytest.fixture(scope="module")
def stack() -> Iterator[LiveStack]:
    with live_stack({"GATEHOUSE_CORS_ORIGIN": ORIGIN}) as running:
        yield running


def _login(stack: LiveStack, username: str, password: str) -> str:
    status, _, body = stack.call(
        "POST", "/auth/token", {"grant_type": "password", "username": username, "password": password}
    )
    assert status == 200, body
    return str(body["access_token"])


def _assert_cors(headers: Any) -> None:
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "WWW-Authenticate" in headers["Access-Control-Expose-Headers"].split(",")


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("path", "method", "asked_headers"),
    [
        ("/notes", "POST", "authorization,content-type"),
        ("/notes/01ABCDEF", "DELETE", "authorization"),
        ("/auth/sessions/abc", "DELETE", "authorization"),
        ("/auth/token", "POST", "content-type"),
    ],
)
def test_preflight_allows_the_method_and_the_authorization_header(
    stack: LiveStack, path: str, method: str, asked_headers: str
) -> None:
    status, headers, _ = stack.call(
        "OPTIONS",
        path,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": asked_headers,
        },
    )
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    assert method in headers["Access-Control-Allow-Methods"].split(",")
    allowed = {h.lower() for h in headers["Access-Control-Allow-Headers"].split(",")}
    assert set(asked_headers.split(",")) <= allowed


@pytest.mark.e2e
def test_gateway_401_and_403_answers_carry_cors_headers(stack: LiveStack) -> None:
    status, headers, body = stack.call("GET", "/notes", headers={"Authorization": "Bearer not.a.token"})
    assert (status, body["error"]) == (401, "invalid_token")
    assert headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    _assert_cors(headers)

    status, headers, _ = stack.call("GET", "/notes")
    assert status == 401
    _assert_cors(headers)

    token = _login(stack, "demo", DEMO_PASSWORD)
    status, headers, _ = stack.call("GET", "/admin/users", headers={"Authorization": f"Bearer {token}"})
    assert status == 403
    _assert_cors(headers)


@pytest.mark.e2e
def test_app_answers_success_and_errors_alike_carry_cors_headers(stack: LiveStack) -> None:
    username, password = stack.new_user("cors")
    token = _login(stack, username, password)
    auth = {"Authorization": f"Bearer {token}"}

    status, headers, _ = stack.call("GET", "/notes", headers=auth)
    assert status == 200
    _assert_cors(headers)

    status, headers, body = stack.call("GET", "/notes/0000000000000000000000000A", headers=auth)
    assert (status, body["error"]) == (404, "not_found")
    _assert_cors(headers)

    status, headers, body = stack.call("PATCH", "/notes", {"text": "x"}, headers=auth)
    assert status == 405
    _assert_cors(headers)

    status, headers, body = stack.call(
        "POST",
        "/auth/token",
        {"grant_type": "password", "username": username, "password": "Wrong-1-password"},
    )
    assert (status, body["error"]) == (400, "invalid_grant")
    _assert_cors(headers)


@pytest.mark.e2e
def test_lockout_retry_after_is_exposed_to_pages(stack: LiveStack) -> None:
    username, _ = stack.new_user("cors-lock")
    wrong = {"grant_type": "password", "username": username, "password": "Wrong-1-password"}
    for _attempt in range(10):
        status, headers, body = stack.call("POST", "/auth/token", wrong)
        if status == 429:
            break
    assert status == 429, json.dumps(body)
    assert int(headers["Retry-After"]) > 0
    _assert_cors(headers)
    assert "Retry-After" in headers["Access-Control-Expose-Headers"].split(",")
