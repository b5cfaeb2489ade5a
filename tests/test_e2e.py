"""End to end: the stack ``make run`` starts (moto server + ``chalice local``), driven over real HTTP."""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from typing import Any

import pytest

from tests.conftest import keys_anywhere
from tests.live_stack import ADMIN_PASSWORD, DEMO_PASSWORD, READY_LINE, USER_PASSWORD, LiveStack, live_stack

pytestmark = pytest.mark.e2e

# Loopback only, and never through a proxy the environment may name.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Reply:
    status: int
    headers: Message
    raw: bytes

    def json(self) -> Any:
        return json.loads(self.raw)


@dataclass
class Stack:
    live: LiveStack

    @property
    def base_url(self) -> str:
        return self.live.base_url

    def output(self) -> str:
        return self.live.output()

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        form: dict[str, str] | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        sent = dict(headers or {})
        data: bytes | None = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        url = self.base_url + path  # always http://127.0.0.1:<port>
        request = urllib.request.Request(url, data=data, headers=sent, method=method)  # noqa: S310
        try:
            with _opener.open(request, timeout=10) as response:
                return Reply(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            with error:
                return Reply(error.code, error.headers, error.read())

    def login(self, username: str, password: str) -> str:
        reply = self.request(
            "POST", "/auth/token", body={"grant_type": "password", "username": username, "password": password}
        )
        assert reply.status == 200, reply.raw
        return str(reply.json()["access_token"])

    def new_user(self) -> tuple[str, str]:
        username = f"e2e-{secrets.token_hex(4)}"
        reply = self.request("POST", "/auth/register", body={"username": username, "password": USER_PASSWORD})
        assert reply.status == 201, reply.raw
        return username, self.login(username, USER_PASSWORD)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with live_stack() as running:
        yield Stack(running)


@pytest.mark.smoke  # the one end-to-end login of `make smoke`
def test_registered_user_can_log_in_and_manage_own_notes_over_http(stack: Stack) -> None:
    username, token = stack.new_user()

    me = stack.request("GET", "/me", token=token)
    assert me.status == 200
    answer = me.json()
    assert len(answer.pop("account_id")) == 32
    assert answer == {"username": username, "roles": ["user"]}

    created = stack.request("POST", "/notes", body={"text": "first"}, token=token)
    assert created.status == 201, created.raw
    note = created.json()
    assert note["text"] == "first"
    note_path = f"/notes/{note['id']}"

    listed = stack.request("GET", "/notes", token=token)
    assert listed.status == 200
    assert [n["id"] for n in listed.json()] == [note["id"]]

    fetched = stack.request("GET", note_path, token=token)
    assert fetched.status == 200
    assert fetched.json()["text"] == "first"

    updated = stack.request("PUT", note_path, body={"text": "second"}, token=token)
    assert updated.status == 200, updated.raw
    assert updated.json()["text"] == "second"
    assert stack.request("GET", note_path, token=token).json()["text"] == "second"

    deleted = stack.request("DELETE", note_path, token=token)
    assert deleted.status == 204
    gone = stack.request("GET", note_path, token=token)
    assert gone.status == 404
    assert gone.json()["error"] == "not_found"
    assert stack.request("GET", "/notes", token=token).json() == []


def test_token_endpoint_accepts_form_encoded_password_grant(stack: Stack) -> None:
    reply = stack.request(
        "POST", "/auth/token", form={"grant_type": "password", "username": "demo", "password": DEMO_PASSWORD}
    )
    assert reply.status == 200, reply.raw
    body = reply.json()
    assert body["token_type"] == "Bearer"
    assert "no-store" in reply.headers["Cache-Control"]
    assert stack.request("GET", "/me", token=body["access_token"]).json()["username"] == "demo"


def test_wrong_password_is_invalid_grant_and_not_cached(stack: Stack) -> None:
    reply = stack.request(
        "POST",
        "/auth/token",
        body={"grant_type": "password", "username": "demo", "password": "Not-the-1-password"},
    )
    assert reply.status == 400
    body = reply.json()
    assert body["error"] == "invalid_grant"
    assert isinstance(body.get("error_description"), str)
    assert "no-store" in reply.headers["Cache-Control"]


def test_protected_route_without_token_is_401_with_bare_bearer_challenge(stack: Stack) -> None:
    reply = stack.request("GET", "/me")
    assert reply.status == 401
    assert reply.headers["WWW-Authenticate"] == "Bearer"


def test_protected_route_with_garbage_token_is_401_invalid_token(stack: Stack) -> None:
    reply = stack.request("GET", "/me", token="not-a-jwt")
    assert reply.status == 401
    assert reply.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert reply.json()["error"] == "invalid_token"


def test_admin_route_is_403_for_the_demo_user(stack: Stack) -> None:
    token = stack.login("demo", DEMO_PASSWORD)
    reply = stack.request("GET", "/admin/users", token=token)
    assert reply.status == 403


def test_seeded_admin_lists_users_without_any_hash(stack: Stack) -> None:
    token = stack.login("admin", ADMIN_PASSWORD)
    reply = stack.request("GET", "/admin/users", token=token)
    assert reply.status == 200, reply.raw
    users = reply.json()
    assert isinstance(users, list)
    assert "demo" in {u["username"] for u in users}
    assert not [k for k in keys_anywhere(users) if "hash" in k.lower()]
    assert b"argon2" not in reply.raw


def test_jwks_publishes_one_public_okp_key(stack: Stack) -> None:
    reply = stack.request("GET", "/.well-known/jwks.json")
    assert reply.status == 200
    keys = reply.json()["keys"]
    assert len(keys) == 1
    assert keys[0]["kty"] == "OKP"
    assert "d" not in keys[0]


def test_another_users_note_is_404_not_403(stack: Stack) -> None:
    _, owner_token = stack.new_user()
    _, other_token = stack.new_user()
    note = stack.request("POST", "/notes", body={"text": "private"}, token=owner_token).json()
    path = f"/notes/{note['id']}"
    for method, body in (("GET", None), ("PUT", {"text": "stolen"}), ("DELETE", None)):
        reply = stack.request(method, path, body=body, token=other_token)
        assert reply.status == 404, (method, reply.raw)
    assert stack.request("GET", path, token=owner_token).json()["text"] == "private"


def test_seeded_passwords_never_reach_the_server_output(stack: Stack) -> None:
    # Runs last in this module, after every request above has been logged.
    output = stack.output()
    assert READY_LINE in output
    assert DEMO_PASSWORD not in output
    assert ADMIN_PASSWORD not in output
    assert USER_PASSWORD not in output


def test_a_204_over_http_has_no_content_type(stack: Stack) -> None:
    _, token = stack.new_user()
    note = stack.request("POST", "/notes", body={"text": "brief"}, token=token).json()
    for reply in (
        stack.request("DELETE", f"/notes/{note['id']}", token=token),
        stack.request("DELETE", "/auth/sessions", token=token),
    ):
        assert reply.status == 204
        assert reply.headers.get("Content-Type") is None
        assert reply.raw == b""
