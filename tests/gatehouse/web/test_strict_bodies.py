"""Bodies and parameters that are not clean Unicode, or say one thing twice, are a 400 everywhere.

A lone surrogate (``"\\ud800"`` in JSON, ``%ED%A0%80`` in a form) cannot be
encoded as UTF-8: it used to reach DynamoDB and come back as a 500, after the
login attempt had been counted.  A repeated key used to be read last-wins,
so ``{"username":"nobody9","username":"admin"}`` logged in as admin while
anything reading the first key saw another name.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import bearer, json_body

JSON_HEADERS = {"Content-Type": "application/json"}
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}
SURROGATE = "abc\ud800defgh"


def raw_json(fields: dict[str, Any], *, duplicate: tuple[str, str] | None = None) -> str:
    text = json.dumps(fields)  # escapes the surrogate as \ud800, as an attacker's client would
    if duplicate is not None:
        name, value = duplicate
        text = text[:-1] + f", {json.dumps(name)}: {json.dumps(value)}}}"
    return text


def assert_invalid_request(response: Any, *, oauth: bool = False) -> None:
    assert response.status_code == 400, response.body
    body = json_body(response)
    assert body["error"] == "invalid_request"
    assert body["error_description" if oauth else "message"]


def counters(rt: Any) -> list[dict[str, Any]]:
    return list(rt.attempts._table.scan()["Items"])


@pytest.mark.parametrize("field", ["username", "password", "device", "device_token", "grant_type"])
def test_a_lone_surrogate_in_any_token_field_is_400_and_counts_no_attempt(client, make_user, rt, field):
    creds = make_user()
    body = {"grant_type": "password", "username": creds.username, "password": creds.password}
    body[field] = SURROGATE
    response = client.http.post("/auth/token", headers=JSON_HEADERS, body=raw_json(body))
    assert_invalid_request(response, oauth=True)
    assert counters(rt) == []


def test_a_lone_surrogate_in_a_form_body_is_400_and_counts_no_attempt(client, make_user, rt):
    creds = make_user()
    body = f"grant_type=password&username={creds.username}&password=abc%ED%A0%80defgh"
    assert_invalid_request(client.http.post("/auth/token", headers=FORM_HEADERS, body=body), oauth=True)
    assert counters(rt) == []


def test_a_lone_surrogate_in_a_json_key_is_400(client):
    body = '{"grant_type": "password", "\\udc00": 1}'
    assert_invalid_request(client.http.post("/auth/token", headers=JSON_HEADERS, body=body), oauth=True)


def test_a_lone_surrogate_on_register_is_400_and_creates_nobody(client, rt):
    for body in ({"username": "surro", "password": SURROGATE}, {"username": "sur\udfffro", "password": "x"}):
        response = client.http.post("/auth/register", headers=JSON_HEADERS, body=raw_json(body))
        assert_invalid_request(response)
    assert rt.users.get("surro") is None


def test_a_lone_surrogate_in_a_note_or_a_password_change_is_400(client, make_user, login, rt):
    creds = make_user()
    auth = {**bearer(login(creds)), **JSON_HEADERS}
    assert_invalid_request(client.http.post("/notes", headers=auth, body=raw_json({"text": SURROGATE})))
    change = {"current_password": SURROGATE, "new_password": "Brand-new-Pass-77"}
    assert_invalid_request(client.http.post("/auth/password", headers=auth, body=raw_json(change)))
    assert counters(rt) == []  # not even the password change's own counter


def test_a_repeated_key_cannot_smuggle_a_second_username(client, make_user, rt):
    admin = make_user("admin-one", roles=("admin",))
    body = raw_json(
        {"grant_type": "password", "username": "nobody9", "password": admin.password},
        duplicate=("username", admin.username),
    )
    assert_invalid_request(client.http.post("/auth/token", headers=JSON_HEADERS, body=body), oauth=True)
    assert counters(rt) == []


@pytest.mark.parametrize("path", ["/auth/register", "/auth/revoke"])
def test_a_repeated_key_is_400_on_every_json_route(client, path):
    body = raw_json({"username": "x", "token": "y"}, duplicate=("token", "z"))
    response = client.http.post(path, headers=JSON_HEADERS, body=body)
    assert response.status_code == 400


def test_a_repeated_key_in_an_app_route_body_is_400(client, make_user, login):
    auth = {**bearer(login(make_user())), **JSON_HEADERS}
    body = raw_json({"text": "first"}, duplicate=("text", "second"))
    assert_invalid_request(client.http.post("/notes", headers=auth, body=body))


def test_brackets_inside_a_string_are_text_not_nesting(client, make_user, login):
    auth = {**bearer(login(make_user())), **JSON_HEADERS}
    text = "[{" * 500
    response = client.http.post("/notes", headers=auth, body=json.dumps({"text": text}))
    assert response.status_code == 201
    assert json_body(response)["text"] == text


def test_nesting_deeper_than_any_route_reads_is_400(client):
    body = '{"a": ' + "[" * 40 + "]" * 40 + "}"
    assert_invalid_request(client.http.post("/auth/register", headers=JSON_HEADERS, body=body))


@pytest.mark.parametrize("path", ["/auth/register", "/auth/token", "/auth/password/forgot"])
def test_a_body_without_content_type_is_415_not_read_as_json(client, rt, path):
    body = json.dumps({"username": "nobody9", "password": "Tulip-Marble-9-x", "grant_type": "password"})
    response = client.http.post(path, headers={}, body=body)
    assert response.status_code == 415, response.body
    assert rt.users.get("nobody9") is None
    assert counters(rt) == []


def test_a_protected_json_route_refuses_a_body_without_content_type(client, make_user, login):
    response = client.http.post("/notes", headers=bearer(login(make_user())), body=json.dumps({"text": "x"}))
    assert response.status_code == 415, response.body
