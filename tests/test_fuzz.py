"""Property-based fuzzing of every route through ``chalice.test.Client``.

Whatever the body, form, headers or path parameters, every answer is:

* never a 5xx, and never a body holding ``Traceback``;
* a 2xx, or an error body of exactly one shape: ``{"error", "error_description"}``
  on the OAuth endpoints (``/auth/token``, ``/auth/revoke``, RFC 6749 section 5.2) and
  ``{"error", "message"}`` everywhere else, with ``error`` one of the stable codes;
* free of any password the request carried.

Protected routes get a valid bearer token in half of the examples, so the
views behind the authorizer are fuzzed as well as the authorizer.
Deterministic (``derandomize``, no example database) and budgeted to run in
about 20 s.  No threads: Chalice's ``app.current_request`` is process-global.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatehouse.services import Services
from tests.fuzzing import (
    FORM,
    FUZZ,
    JSON,
    Fields,
    World,
    cheap_runtime,
    check,
    form_body,
    good_passwords,
    json_body,
    make_world,
    mutated,
    password_texts,
    request_headers,
    texts,
    username_texts,
)


@pytest.fixture
def rt(make_runtime: Callable[..., Services]) -> Services:
    return cheap_runtime(make_runtime)


@pytest.fixture
def world(rt: Services, client: Any, make_user: Callable[..., Any], clock: Any) -> World:
    return make_world(rt, client, make_user, clock)


# -- public routes ------------------------------------------------------------------------------


@FUZZ
@given(data=st.data(), careful=st.booleans())
def test_register_never_fails_with_a_server_error_or_leaks_the_password(world, data, careful):
    fields: Fields = {"username": username_texts, "password": password_texts}
    if careful:
        fields = {
            "username": st.from_regex(r"[a-z0-9][a-z0-9_.-]{2,20}", fullmatch=True),
            "password": good_passwords,
        }
    body, sent = json_body(data.draw, fields, careful=careful)
    headers = request_headers(data.draw, JSON, careful=careful)
    response = world.client.http.request("POST", "/auth/register", headers=headers, body=body)
    # 201 echoes the username: a password equal to it proves nothing.
    echoed = str(sent.get("username", "")).strip().lower()
    check(response, oauth=False, passwords=[sent.get("password")], echoed=echoed)
    if response.status_code == 201:
        assert json.loads(response.body) == {"username": echoed}


TOKEN_FIELDS: Fields = {
    "grant_type": st.sampled_from(["password", "refresh_token", "client_credentials", "PASSWORD"]) | texts,
    "username": username_texts,
    "password": password_texts,
    "device": texts | st.text(min_size=100, max_size=300),
    "refresh_token": texts,
    "device_token": texts | st.text(alphabet="ABCDEFabcdef0123456789_-", min_size=43, max_size=43),
}


def _careful_token_fields(world: World, grant: str) -> Fields:
    if grant == "password":
        return {
            "grant_type": st.just("password"),
            "username": st.sampled_from(["fuzz-user", " FUZZ-User ", "no-such-user"]),
            "password": st.just(world.password) | password_texts,
            "device": st.text(max_size=40),
        }
    token = world.refresh_token()
    return {
        "grant_type": st.just("refresh_token"),
        "refresh_token": st.sampled_from([token, token, token[:-1], token + "A", token.upper()]),
    }


@settings(FUZZ, max_examples=300)
@given(
    data=st.data(),
    as_form=st.booleans(),
    careful=st.booleans(),
    grant=st.sampled_from(["password", "refresh_token"]),
)
def test_token_endpoint_answers_in_the_oauth_shape_for_any_json_or_form_body(
    world, data, as_form, careful, grant
):
    if careful:
        # Careless examples may have locked the account; a day later they have not.
        world.advance(86_400)
    fields = _careful_token_fields(world, grant) if careful else TOKEN_FIELDS
    if as_form:
        body, pairs = form_body(data.draw, fields, careful=careful)
        sent_passwords = [value for name, value in pairs if name == "password"]
        headers = request_headers(data.draw, FORM, careful=careful)
    else:
        body, sent = json_body(data.draw, fields, careful=careful)
        sent_passwords = [sent.get("password")]
        headers = request_headers(data.draw, JSON, careful=careful)
    response = world.send("POST", "/auth/token", body=body, headers=headers, passwords=sent_passwords)
    if response.status_code == 200:
        grant_body = json.loads(response.body)
        grant_fields = {"access_token", "token_type", "expires_in", "refresh_token"}
        assert set(grant_body) in (grant_fields, grant_fields | {"device_token"})
        assert response.headers["Cache-Control"] == "no-store"


@settings(FUZZ, max_examples=200)
@given(data=st.data(), as_form=st.booleans(), kind=st.sampled_from(["access", "refresh", "mutated", "fuzz"]))
def test_revoke_endpoint_answers_in_the_oauth_shape_for_any_body(world, data, as_form, kind):
    if kind == "fuzz":
        token_values = texts
    else:
        token = world.token() if kind == "access" else world.refresh_token()
        token_values = st.just(mutated(token, data.draw) if kind == "mutated" else token)
    fields: Fields = {
        "token": token_values,
        "token_type_hint": st.sampled_from(["access_token", "refresh_token"]) | texts,
    }
    if as_form:
        body, _ = form_body(data.draw, fields)
        headers = request_headers(data.draw, FORM)
    else:
        body, _ = json_body(data.draw, fields)
        headers = request_headers(data.draw, JSON)
    world.send("POST", "/auth/revoke", body=body, headers=headers)


@settings(FUZZ, max_examples=50)
@given(
    headers=st.dictionaries(
        st.sampled_from(["Authorization", "Content-Type", "Accept", "X-Forwarded-For"]), texts
    )
)
def test_jwks_answers_any_headers_with_the_key_set(world, headers):
    response = world.send("GET", "/.well-known/jwks.json", headers=headers)
    if response.status_code == 200:
        assert json.loads(response.body)["keys"]
    else:
        # Chalice checks Content-Type on every method, GET included.
        assert response.status_code == 415
        assert "Content-Type" in headers
