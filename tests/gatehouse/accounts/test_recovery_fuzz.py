"""Fuzzing the public recovery routes: any body gets a contract-shaped 4xx or its success, never a 5xx.

Text is drawn from every code point, lone surrogates included (as JSON
escapes they parse into strings no UTF-8 encoder takes), and the fields
sometimes hold other JSON values.  Successes are possible too: a real
account with a verified address is part of the world, and its username is
among the drawn names.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from chalice.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from gatehouse.services import Services
from tests.conftest import DEFAULT_PASSWORD, Mailbox, post_json
from tests.fuzzing import FUZZ, check, json_values

ANY_TEXT = st.text(st.characters(codec=None), max_size=40) | st.sampled_from(
    ["\ud800", "a\udfffb", "\udbff\udc00"]
)
EMAILS = st.emails() | ANY_TEXT | st.sampled_from(["owner@example.com", "OWNER@EXAMPLE.COM"])
NAMES = ANY_TEXT | st.sampled_from(["owner", " Owner ", "nobody-here"])
CODES = ANY_TEXT | st.text(alphabet="0123456789ABCDEFGHJKMNPQRSTVWXYZ-", min_size=8, max_size=12)
PASSWORDS = ANY_TEXT | st.just("Orchid-Canyon-31-harbor") | st.text(min_size=129, max_size=200)

ROUTES: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "/auth/register": {"username": NAMES, "password": PASSWORDS, "email": EMAILS},
    "/auth/email/verify": {"username": NAMES, "code": CODES},
    "/auth/password/forgot": {"username": NAMES, "email": EMAILS},
    "/auth/password/reset": {"username": NAMES, "code": CODES, "new_password": PASSWORDS},
}


@pytest.fixture
def rt(make_runtime: Callable[..., Services]) -> Services:
    # Hashing strength is not under test here.
    return make_runtime(argon2_time_cost=1, argon2_memory_kib=64)


@pytest.fixture
def world(client: Client, mailbox: Mailbox) -> Client:
    body = {"username": "owner", "password": DEFAULT_PASSWORD, "email": "owner@example.com"}
    assert post_json(client, "/auth/register", body).status_code == 201
    code = mailbox.last_code("owner@example.com")
    assert post_json(client, "/auth/email/verify", {"username": "owner", "code": code}).status_code == 204
    return client


@settings(FUZZ, max_examples=300)
@given(data=st.data(), path=st.sampled_from(sorted(ROUTES)))
def test_recovery_routes_never_fail_with_a_server_error(
    world: Client, data: st.DataObject, path: str
) -> None:
    fields = ROUTES[path]
    body: dict[str, Any] = {}
    for name, values in fields.items():
        if data.draw(st.integers(0, 4)):
            body[name] = (
                data.draw(values | json_values) if data.draw(st.integers(0, 5)) == 0 else data.draw(values)
            )
    response = world.http.post(path, headers={"Content-Type": "application/json"}, body=json.dumps(body))
    passwords = [v for k, v in body.items() if k.endswith("password")]
    check(response, oauth=False, passwords=passwords)
    if path == "/auth/password/forgot" and response.status_code < 300:
        assert (response.status_code, response.body) == (202, b"{}")


def test_a_lone_surrogate_anywhere_in_a_body_is_400_not_500(world: Client) -> None:
    for path, fields in ROUTES.items():
        for name in fields:
            body = json.dumps({**{n: "valid-text" for n in fields}, name: "x\ud800y"})
            response = world.http.post(path, headers={"Content-Type": "application/json"}, body=body)
            assert response.status_code == 400, (path, name, response.body)
