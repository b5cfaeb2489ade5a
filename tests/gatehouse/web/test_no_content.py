"""204 answers carry no body and so no Content-Type (RFC 9110 section 15.3.5)."""

from __future__ import annotations

import json

from tests.conftest import bearer, post_json


def _assert_no_content(response) -> None:
    assert response.status_code == 204, response.body
    assert response.body in (b"", "")
    assert "Content-Type" not in response.headers
    assert "content-type" not in {name.lower() for name in response.headers}


def test_every_204_of_gatehouse_and_of_the_example_has_no_content_type(client, make_user, login) -> None:
    admin = make_user(roles=("admin", "user"))
    admin_auth = bearer(login(admin))
    creds = make_user()
    auth = {**bearer(login(creds)), "Content-Type": "application/json"}
    second = bearer(login(creds, device="second"))

    note = json.loads(client.http.post("/notes", headers=auth, body=json.dumps({"text": "a"})).body)
    _assert_no_content(client.http.delete(f"/notes/{note['id']}", headers=auth))

    sessions = json.loads(client.http.get("/auth/sessions", headers=second).body)
    other = next(s["id"] for s in sessions if not s["current"])
    _assert_no_content(client.http.delete(f"/auth/sessions/{other}", headers=second))

    body = {"current_password": creds.password, "new_password": "Another-Quiet-Lantern-9"}
    _assert_no_content(post_json(client, "/auth/password", body, second))
    _assert_no_content(client.http.delete("/auth/sessions", headers=second))

    _assert_no_content(client.http.post(f"/admin/users/{creds.username}/disable", headers=admin_auth))
    _assert_no_content(client.http.post(f"/admin/users/{creds.username}/enable", headers=admin_auth))
