"""The forgery rig: a watch on everything that must not happen, and a service to forge against.

Used by the forged-token tests in this folder (their fixtures are in conftest.py).
"""

from __future__ import annotations

import builtins
import http.client
import http.server
import io
import json
import os
import socket
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from chalice.test import Client
from moto import mock_aws

import app as gatehouse_app
from gatehouse.accounts import signup
from gatehouse.services import Services
from gatehouse.settings import Settings
from gatehouse.storage import aws
from gatehouse.storage.tables import create_tables
from gatehouse.verify.keys import SigningKey, load_signing_key
from gatehouse.verify.tokens import TokenError
from tests.attacks import (
    Victim,
)
from tests.conftest import DEFAULT_PASSWORD, ROOT, FakeClock, json_body, post_json

INVALID_TOKEN = 'Bearer error="invalid_token"'


def _token_reasons(cls: type[TokenError] = TokenError) -> set[str]:
    return {cls.reason}.union(*(_token_reasons(sub) for sub in cls.__subclasses__()))


# What the authorizer may log when it refuses a forged token: a token check
# or the bearer-header check, never "authorizer_error" (something crashed)
# and never a session reason (the signature check would have been skipped).
DENY_REASONS = frozenset(_token_reasons() | {"malformed_header", "too_large"})


# -- the watch: what must never happen while a forged token is in flight ---------------


@dataclass
class Watch:
    views: list[tuple[str, str]] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)
    policies: list[str] = field(default_factory=list)
    session_reads: list[str] = field(default_factory=list)
    note_reads: list[str] = field(default_factory=list)
    deny_reasons: list[str] = field(default_factory=list)
    network: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    monkeypatch: pytest.MonkeyPatch | None = None

    @contextmanager
    def in_flight(self) -> Iterator[None]:
        """Record (and refuse) every network call and file open inside the block."""
        assert self.monkeypatch is not None
        with self.monkeypatch.context() as m:

            def no_network(what: str) -> Callable[..., Any]:
                def refuse(*args: Any, **kwargs: Any) -> Any:
                    self.network.append(f"{what}{args!r}")
                    raise OSError(f"network access during a forged-token request: {what}")

                return refuse

            for target, name in [
                (socket, "getaddrinfo"),
                (socket, "gethostbyname"),
                (socket, "create_connection"),
                (socket.socket, "connect"),
                (socket.socket, "connect_ex"),
                (urllib.request, "urlopen"),
                (http.client.HTTPConnection, "connect"),
            ]:
                m.setattr(target, name, no_network(f"{getattr(target, '__name__', target)}.{name}"))

            def recording(original: Callable[..., Any]) -> Callable[..., Any]:
                def open_and_record(file: Any, *args: Any, **kwargs: Any) -> Any:
                    self.files.append(
                        os.fsdecode(file) if isinstance(file, (str, bytes, os.PathLike)) else repr(file)
                    )
                    return original(file, *args, **kwargs)

                return open_and_record

            m.setattr(builtins, "open", recording(builtins.open))
            m.setattr(io, "open", recording(io.open))
            m.setattr(os, "open", recording(os.open))
            yield

    def assert_nothing_ran(self) -> None:
        assert self.views == [], "a protected view ran"
        assert self.verified == [], "verify_access_token accepted the token"
        assert self.policies == [], "the authorizer granted a policy"
        assert self.session_reads == [], "the session store was read for an unverified token"
        assert self.note_reads == [], "the notes repository was read"
        assert self.network == [], "the network was touched"
        assert self.files == [], "a file was opened"
        assert self.deny_reasons, "the authorizer did not log a denial"
        assert set(self.deny_reasons) <= DENY_REASONS, self.deny_reasons


def _protected_entries() -> list[tuple[str, str, Any]]:
    return [
        (path, method, entry)
        for path, methods in gatehouse_app.app.routes.items()
        for method, entry in methods.items()
        if entry.authorizer is not None
    ]


def send(client: Any, watch: Watch, token: str, method: str = "GET", path: str = "/notes") -> Any:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with watch.in_flight():
        return client.http.request(method, path, headers=headers, body=b'{"text": "x"}')


def assert_refused(response: Any, watch: Watch) -> None:
    assert response.status_code == 401, response.body
    assert response.headers["WWW-Authenticate"] == INVALID_TOKEN
    assert json_body(response)["error"] == "invalid_token"
    watch.assert_nothing_ran()


# -- what the attacker has ----------------------------------------------------------------

CHEAP_HASHING = {"argon2_time_cost": 1, "argon2_memory_kib": 64}  # hashing is not under test here


def _login_body(client: Any, username: str, password: str) -> dict[str, Any]:
    response = post_json(
        client, "/auth/token", {"grant_type": "password", "username": username, "password": password}
    )
    assert response.status_code == 200, response.body
    body: dict[str, Any] = json_body(response)
    return body


@dataclass(frozen=True)
class Service:
    """A Gatehouse instance, the victim's real token and refresh token from it, and its own key."""

    rt: Services
    client: Client
    victim: Victim
    key: SigningKey


def start_service(settings: Settings, signing_jwk: dict[str, str]) -> Service:
    """Create the tables, sign a user up and log in for real; then drop the store."""
    rt = Services(
        replace(settings, **CHEAP_HASHING),
        clock=FakeClock(),
        signing_key_source=lambda _: json.dumps(signing_jwk),
    )
    client = Client(gatehouse_app.app, project_dir=str(ROOT))
    with mock_aws():
        create_tables(aws.session().client("dynamodb"), rt.settings)
        gatehouse_app.gate.use_services(rt)
        try:
            signup.create_user(rt, "victim", DEFAULT_PASSWORD, ("user",))
            grant = _login_body(client, "victim", DEFAULT_PASSWORD)
            jwks = client.http.get("/.well-known/jwks.json")
        finally:
            gatehouse_app.gate.use_services(None)
    victim = Victim(grant["access_token"], jwks.body, grant["refresh_token"])
    return Service(rt, client, victim, load_signing_key(json.dumps(signing_jwk)))
