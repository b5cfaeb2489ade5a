"""Paths as clients build them: trailing slashes, and links behind API Gateway's stage path."""

from __future__ import annotations

import json
from typing import Any

import pytest

import app as gatehouse_app
from tests.conftest import bearer, json_body, post_json


def test_an_empty_session_id_is_404_and_ends_nothing(client, make_user, login, rt) -> None:
    creds = make_user()
    token = login(creds)
    response = client.http.delete("/auth/sessions/", headers=bearer(token))
    assert response.status_code == 404
    assert json_body(response)["error"] == "not_found"
    assert len(rt.sessions.keys_for(creds.account_id)) == 1


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/me/"), ("GET", "/notes/"), ("GET", "/auth/sessions/")]
)
def test_a_trailing_slash_names_no_resource(client, make_user, login, method: str, path: str) -> None:
    # The policy's globs may not cover the slashed path (403) or may (the view answers 404).
    response = client.http.request(method, path, headers=bearer(login(make_user())))
    assert response.status_code in (403, 404)


def test_a_public_route_with_a_trailing_slash_is_404(client) -> None:
    response = post_json(client, "/auth/token/", {"grant_type": "password", "username": "a", "password": "b"})
    assert response.status_code == 404


def _list_notes_behind_a_stage(creds: Any, path: str, context_path: str) -> Any:
    """Call the GET /notes view as API Gateway would, with the stage in the request context."""
    event = {
        "resource": "/notes",
        "path": path,
        "httpMethod": "GET",
        "headers": {"Host": "abc.execute-api.us-east-1.amazonaws.com"},
        "multiValueHeaders": {},
        "queryStringParameters": {"limit": "1"},
        "multiValueQueryStringParameters": {"limit": ["1"]},
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/notes",
            "httpMethod": "GET",
            "stage": "api",
            "path": context_path,
            "authorizer": {
                "account_id": creds.account_id,
                "username": creds.username,
                "roles": "user",
                "sid": "s",
                "jti": "j",
            },
        },
        "body": None,
        "isBase64Encoded": False,
    }
    return gatehouse_app.app(event, None)


def test_the_next_link_keeps_api_gateways_stage_path(client, make_user, login) -> None:
    creds = make_user()
    auth = {**bearer(login(creds)), "Content-Type": "application/json"}
    for text in ("one", "two"):
        client.http.post("/notes", headers=auth, body=json.dumps({"text": text}))
    answer = _list_notes_behind_a_stage(creds, "/notes", "/api/notes")
    assert answer["statusCode"] == 200
    link = answer["headers"]["Link"]
    assert link.startswith("</api/notes?limit=1&cursor=")
    assert link.endswith('>; rel="next"')


def test_without_a_stage_path_the_link_is_the_plain_path(client, make_user, login) -> None:
    creds = make_user()
    auth = {**bearer(login(creds)), "Content-Type": "application/json"}
    for text in ("one", "two"):
        client.http.post("/notes", headers=auth, body=json.dumps({"text": text}))
    response = client.http.get("/notes?limit=1", headers=auth)
    assert response.headers["Link"].startswith("</notes?limit=1&cursor=")
