"""CORS on the real app through ``chalice.test.Client`` (with the local gateway of gatehouse.dev).

Every kind of answer a page may need to read carries the headers: the
app's own, Chalice's (404/405/415/500), and the gateway's (401/403/404);
and every route answers its preflight.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError
from chalice.app import Chalice, Response
from chalice.test import Client

import app as gatehouse_app
from chalicelib.notes.repository import NoteRepository
from gatehouse.services import Services
from gatehouse.web import cors
from tests.conftest import Credentials, bearer, json_body, post_json

LISTED = "capacitor://localhost"
ALLOWED = ("https://app.example.com", LISTED, "http://localhost:5173")
UNLISTED = "https://evil.example"
EXPOSED = {"WWW-Authenticate", "Retry-After"}


@pytest.fixture
def origins(make_runtime: Callable[..., Services]) -> Services:
    return make_runtime(cors_origins=ALLOWED, lockout_threshold=1)


def _split(value: str) -> set[str]:
    return {part.strip() for part in value.split(",")}


def assert_readable(response: Any, origin: str = LISTED) -> None:
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert "Origin" in _split(response.headers["Vary"])
    assert _split(response.headers["Access-Control-Expose-Headers"]) == EXPOSED
    assert "Access-Control-Allow-Credentials" not in response.headers


def assert_not_readable(response: Any) -> None:
    assert not [name for name in response.headers if name.lower().startswith("access-control-")]
    assert "Origin" in _split(response.headers["Vary"])


# -- every status a page must be able to read ------------------------------------------------------


@dataclass
class Caller:
    client: Client
    rt: Services
    user: Credentials
    token: str
    monkeypatch: pytest.MonkeyPatch


def _login(caller: Caller, password: str, origin: str) -> Any:
    body = {"grant_type": "password", "username": caller.user.username, "password": password}
    return post_json(caller.client, "/auth/token", body, {"Origin": origin})


def _crash(caller: Caller, origin: str) -> Any:
    def crash(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("internals")

    caller.monkeypatch.setattr(NoteRepository, "list_page", crash)
    return caller.client.http.get("/notes", headers={**bearer(caller.token), "Origin": origin})


def _store_busy(caller: Caller, origin: str) -> Any:
    def busy(**_kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "busy"}}, "UpdateItem")

    caller.monkeypatch.setattr(caller.rt.attempts._table, "update_item", busy)
    return _login(caller, caller.user.password, origin)


def _locked_out(caller: Caller, origin: str) -> Any:
    for _attempt in range(5):
        response = _login(caller, "Wrong-1-password", origin)
        if response.status_code == 429:
            break
    return response


CASES: dict[str, tuple[int, Callable[[Caller, str], Any]]] = {
    "success": (200, lambda c, o: c.client.http.get("/notes", headers={**bearer(c.token), "Origin": o})),
    "created": (
        201,
        lambda c, o: post_json(c.client, "/notes", {"text": "hi"}, {**bearer(c.token), "Origin": o}),
    ),
    "400 invalid_grant": (400, lambda c, o: _login(c, "Wrong-1-password", o)),
    "401 gateway, no token": (401, lambda c, o: c.client.http.get("/notes", headers={"Origin": o})),
    "401 gateway, bad token": (
        401,
        lambda c, o: c.client.http.get("/notes", headers={**bearer("not.a.token"), "Origin": o}),
    ),
    "403 gateway, no role": (
        403,
        lambda c, o: c.client.http.get("/admin/users", headers={**bearer(c.token), "Origin": o}),
    ),
    "404 app": (
        404,
        lambda c, o: c.client.http.get(
            "/notes/0000000000000000000000000A", headers={**bearer(c.token), "Origin": o}
        ),
    ),
    "404 gateway, unknown path": (404, lambda c, o: c.client.http.get("/nowhere", headers={"Origin": o})),
    "405 chalice": (
        405,
        lambda c, o: c.client.http.request("PATCH", "/notes", headers={**bearer(c.token), "Origin": o}),
    ),
    "413": (
        413,
        lambda c, o: post_json(c.client, "/auth/register", {"username": "x" * 70_000}, {"Origin": o}),
    ),
    "415 chalice": (
        415,
        lambda c, o: c.client.http.post(
            "/auth/token", headers={"Content-Type": "text/plain", "Origin": o}, body=b"x"
        ),
    ),
    "429": (429, _locked_out),
    "500": (500, _crash),
    "503": (503, _store_busy),
}


@pytest.fixture
def caller(
    client: Client,
    origins: Services,
    make_user: Callable[..., Credentials],
    login: Callable[[Credentials], str],
    monkeypatch: pytest.MonkeyPatch,
) -> Caller:
    user = make_user()
    return Caller(client, origins, user, login(user), monkeypatch)


@pytest.mark.parametrize("case", list(CASES))
def test_every_answer_is_readable_by_a_listed_origin(caller: Caller, case: str) -> None:
    status, call = CASES[case]
    response = call(caller, LISTED)
    assert response.status_code == status, response.body
    assert_readable(response)
    if status in (401, 403):
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    if status in (429, 503):
        assert int(response.headers["Retry-After"]) > 0


@pytest.mark.parametrize("case", list(CASES))
def test_no_answer_is_readable_by_another_origin(caller: Caller, case: str) -> None:
    status, call = CASES[case]
    response = call(caller, UNLISTED)
    assert response.status_code == status, response.body
    assert_not_readable(response)


def test_each_listed_origin_gets_its_own_origin_back(client: Client, origins: Services) -> None:
    for origin in ALLOWED:
        response = client.http.get("/.well-known/jwks.json", headers={"Origin": origin})
        assert_readable(response, origin)


def test_the_list_is_read_from_the_running_settings_not_at_import(
    client: Client, make_runtime: Callable[..., Services]
) -> None:
    make_runtime(cors_origins=())
    response = client.http.get("/.well-known/jwks.json", headers={"Origin": LISTED})
    assert "Access-Control-Allow-Origin" not in response.headers
    make_runtime(cors_origins=("*",))
    response = client.http.get("/.well-known/jwks.json", headers={"Origin": LISTED})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Vary" not in response.headers


def test_the_app_under_test_has_no_cors_by_default(client: Client) -> None:
    response = client.http.get("/.well-known/jwks.json", headers={"Origin": LISTED})
    assert response.status_code == 200
    assert not [name for name in response.headers if name.lower().startswith("access-control-")]


def test_chalice_cors_config_is_not_used() -> None:
    # It would make `chalice package` generate OPTIONS methods with one static origin.
    assert gatehouse_app.app.api.cors is False
    assert all(
        entry.cors is None for by_method in gatehouse_app.app.routes.values() for entry in by_method.values()
    )


# -- preflights ----------------------------------------------------------------------------------


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x1", path)


ROUTES = sorted(gatehouse_app.app.routes)


@pytest.mark.parametrize("path", ROUTES)
def test_every_route_answers_the_preflight_of_a_listed_origin(
    client: Client, origins: Services, path: str
) -> None:
    methods = set(gatehouse_app.app.routes[path])
    for method in methods:
        response = client.http.request(
            "OPTIONS",
            _concrete(path),
            headers={
                "Origin": LISTED,
                "Access-Control-Request-Method": method,
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        assert response.status_code == 204
        assert response.body == b""
        assert response.headers["Access-Control-Allow-Origin"] == LISTED
        assert _split(response.headers["Access-Control-Allow-Methods"]) == methods | {"OPTIONS"}
        assert {h.lower() for h in _split(response.headers["Access-Control-Allow-Headers"])} == {
            "authorization",
            "content-type",
        }
        assert response.headers["Access-Control-Max-Age"] == "600"
        assert response.headers["Vary"] == "Origin"
        assert "Access-Control-Allow-Credentials" not in response.headers


@pytest.mark.parametrize("path", ROUTES)
def test_no_route_answers_the_preflight_of_another_origin(
    client: Client, origins: Services, path: str
) -> None:
    response = client.http.request(
        "OPTIONS", _concrete(path), headers={"Origin": UNLISTED, "Access-Control-Request-Method": "GET"}
    )
    assert response.status_code == 204
    assert_not_readable(response)


def test_preflight_with_star_answers_star(client: Client, make_runtime: Callable[..., Services]) -> None:
    make_runtime(cors_origins=("*",))
    response = client.http.request(
        "OPTIONS", "/notes", headers={"Origin": UNLISTED, "Access-Control-Request-Method": "POST"}
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert _split(response.headers["Access-Control-Allow-Methods"]) == {"GET", "POST", "OPTIONS"}


def test_preflight_on_an_unknown_path_is_the_gateway_404(client: Client, origins: Services) -> None:
    response = client.http.request("OPTIONS", "/nowhere", headers={"Origin": LISTED})
    assert response.status_code == 404
    assert json_body(response)["error"] == "not_found"
    assert_readable(response)


@pytest.fixture
def own_options_app(origins: Services) -> Iterator[Client]:
    app = Chalice(app_name="cors-own-options")
    cors.install(app, lambda: ALLOWED)

    @app.route("/thing", methods=["GET", "OPTIONS"])
    def thing() -> Response:
        return Response(body=json.dumps({"method": app.current_request.method}), status_code=200)  # type: ignore[union-attr]

    with Client(app) as client:
        yield client


def test_a_route_with_its_own_options_view_gets_the_request(own_options_app: Client) -> None:
    response = own_options_app.http.request("OPTIONS", "/thing", headers={"Origin": LISTED})
    assert response.status_code == 200
    assert json.loads(response.body) == {"method": "OPTIONS"}
    assert_readable(response)
