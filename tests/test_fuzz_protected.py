"""Property-based fuzzing of every protected route (and of every method on every route).

See tests/test_fuzz.py for the property and tests/fuzzing.py for the strategies.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import app as gatehouse_app
from gatehouse.services import Services
from tests.conftest import DEFAULT_PASSWORD
from tests.fuzzing import (
    FUZZ,
    JSON,
    Fields,
    World,
    authorization_values,
    cheap_runtime,
    good_passwords,
    json_body,
    json_values,
    make_world,
    mutated,
    password_texts,
    request_headers,
    texts,
)


@pytest.fixture
def rt(make_runtime: Callable[..., Services]) -> Services:
    return cheap_runtime(make_runtime)


@pytest.fixture
def world(rt: Services, client: Any, make_user: Callable[..., Any], clock: Any) -> World:
    return make_world(rt, client, make_user, clock)


# -- protected routes ----------------------------------------------------------------------------

PROTECTED: list[tuple[str, str, Fields]] = [
    ("GET", "/me", {}),
    ("GET", "/notes", {}),
    ("POST", "/notes", {"text": texts}),
    ("GET", "/notes/{note_id}", {}),
    ("PUT", "/notes/{note_id}", {"text": texts}),
    ("DELETE", "/notes/{note_id}", {}),
    ("GET", "/auth/sessions", {}),
    ("DELETE", "/auth/sessions", {}),
    ("DELETE", "/auth/sessions/{session_id}", {}),
    ("GET", "/auth/events", {}),
    ("POST", "/auth/password", {"current_password": password_texts, "new_password": password_texts}),
    ("POST", "/auth/email", {"current_password": password_texts, "email": st.emails() | texts}),
    ("POST", "/auth/email/resend", {}),
    # Never the fuzz user's real password: deleting it would leave nothing to fuzz.
    ("POST", "/auth/account/delete", {"current_password": texts.filter(lambda p: p != DEFAULT_PASSWORD)}),
    ("GET", "/admin/users", {}),
    ("POST", "/admin/users/{username}/disable", {}),
    ("POST", "/admin/users/{username}/enable", {}),
    ("POST", "/admin/users/{username}/unlock", {}),
    ("POST", "/admin/users/{username}/mfa/reset", {}),
    ("POST", "/auth/mfa/totp", {"current_password": password_texts}),
    ("POST", "/auth/mfa/totp/confirm", {"code": texts}),
    ("POST", "/auth/mfa/recovery-codes", {"code": texts}),
    ("POST", "/auth/mfa/totp/remove", {"code": texts, "recovery_code": texts}),
    ("GET", "/admin/users/{username}/events", {}),
]
# Routes that page their answer: they also get fuzzed ``limit`` and ``cursor`` parameters.
PAGED = frozenset(
    {"/notes", "/auth/sessions", "/admin/users", "/auth/events", "/admin/users/{username}/events"}
)
PATH_PARAMS = st.one_of(
    texts,
    st.text(alphabet="0123456789abcdef", min_size=28, max_size=28),
    # Long enough to break a DynamoDB key (2048 bytes) were it ever used as one unchecked.
    st.builds(lambda c, n: c * n, st.sampled_from("az09._-"), st.integers(1, 3000)),
    st.sampled_from(["demo", "admin", "..", ".", "%2F", "%00", "%", " "]),
)
OWN_ACCOUNTS = ("fuzz-user", "fuzz-admin", "fuzz-other")


def test_the_fuzzed_route_list_is_every_protected_route():
    routes = {
        (method, path)
        for path, methods in gatehouse_app.app.routes.items()
        for method, entry in methods.items()
        if entry.authorizer is not None
    }
    assert routes == {(method, path) for method, path, _ in PROTECTED}


def _path(world: World, template: str, draw: st.DrawFn, *, query: bool = False) -> str:
    path = template
    if "{note_id}" in path:
        note_id = world.note_id() if draw(st.booleans()) else draw(PATH_PARAMS)
        path = path.replace("{note_id}", quote(note_id, safe="", errors="surrogatepass"))
    if "{session_id}" in path:
        path = path.replace("{session_id}", quote(draw(PATH_PARAMS), safe="", errors="surrogatepass"))
    if "{name}" in path:
        name = draw(st.sampled_from(["gatehouse.js", "index.html", "../app.py", "..%2Fapp.py"]) | PATH_PARAMS)
        path = path.replace("{name}", quote(name, safe="", errors="surrogatepass"))
    if "{username}" in path:
        username = draw(PATH_PARAMS)
        if username.strip().lower() in OWN_ACCOUNTS:
            username = "someone-else"  # keep the fuzzer's own accounts usable
        path = path.replace("{username}", quote(username, safe="", errors="surrogatepass"))
    if query and path in PAGED and draw(st.booleans()):
        query = {"limit": draw(st.sampled_from(["1", "2", "100", "0", "101", "-1", "x"]) | texts)}
        if draw(st.booleans()):
            query["cursor"] = draw(texts | st.from_regex(r"[0-9a-f]{12}[A-Za-z0-9_-]{22}", fullmatch=True))
        path += "?" + urlencode(query, errors="surrogatepass")
    return path


@settings(FUZZ, max_examples=800)
@given(
    data=st.data(),
    route=st.sampled_from(PROTECTED),
    valid=st.booleans(),
    admin=st.booleans(),
    invalid=st.sampled_from(["none", "value", "mutated"]),
)
def test_protected_routes_never_fail_with_a_server_error(world, data, route, valid, admin, invalid):
    method, template, fields = route
    path = _path(world, template, data.draw, query=method == "GET")
    body, sent = json_body(data.draw, fields) if fields or data.draw(st.booleans()) else (b"", {})
    headers = request_headers(data.draw, JSON)
    headers.pop("Authorization", None)
    if valid:
        headers["Authorization"] = f"Bearer {world.token(admin=admin)}"
    elif invalid == "value":
        headers["Authorization"] = data.draw(authorization_values)
    elif invalid == "mutated":
        headers["Authorization"] = f"Bearer {mutated(world.token(admin=admin), data.draw)}"
    passwords_sent = [value for name, value in sent.items() if name.endswith("password")]
    response = world.send(method, path, body=body, headers=headers, passwords=passwords_sent)
    if valid:
        assert response.status_code != 401, response.body
        if template.startswith("/admin/"):
            assert (response.status_code == 403) != admin, response.body


ALL_ROUTES = sorted(gatehouse_app.app.routes)
# OPTIONS is left out: chalice.test.Client crashes on the preflight answer it builds itself
# (a None body) before any Gatehouse code runs.
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]


@settings(FUZZ, max_examples=200)
@given(
    data=st.data(), template=st.sampled_from(ALL_ROUTES), method=st.sampled_from(METHODS), valid=st.booleans()
)
def test_any_method_on_any_route_answers_in_the_contract_shape(world, data, template, method, valid):
    path = _path(world, template, data.draw)
    headers = request_headers(data.draw, JSON)
    if valid:
        headers["Authorization"] = f"Bearer {world.token(admin=data.draw(st.booleans()))}"
    body = json_body(data.draw, {})[0] if data.draw(st.booleans()) else b""
    response = world.send(method, path, body=body, headers=headers)
    if method not in gatehouse_app.app.routes[template]:
        assert response.status_code in (401, 405), response.body


@settings(FUZZ, max_examples=100)
@given(data=st.data(), right=st.booleans())
def test_password_change_never_echoes_either_password(world, data, right):
    current = world.password if right else data.draw(password_texts | json_values)
    new = data.draw(good_passwords | password_texts | json_values)
    body = json.dumps({"current_password": current, "new_password": new}).encode()
    headers = {"Content-Type": JSON, "Authorization": f"Bearer {world.token()}"}
    response = world.send("POST", "/auth/password", body=body, headers=headers, passwords=[current, new])
    if response.status_code == 204:
        world.password = new
