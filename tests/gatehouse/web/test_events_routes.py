"""GET /auth/events (the caller's own) and GET /admin/users/{username}/events (an admin's view)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from chalice.test import Client

from tests.conftest import bearer, json_body, post_json

WRONG = "Wrong-password-1"


def failed_logins(client: Client, username: str, count: int, clock: Any) -> None:
    for _ in range(count):
        body = {"grant_type": "password", "username": username, "password": WRONG}
        assert post_json(client, "/auth/token", body).status_code == 400
        clock.advance(1)


def pages(client: Client, path: str, headers: dict[str, str]) -> list[list[dict[str, Any]]]:
    """Every page, following the Link header."""
    found = []
    while True:
        response = client.http.get(path, headers=headers)
        assert response.status_code == 200, response.body
        assert response.headers["Cache-Control"] == "no-store"
        found.append(json_body(response))
        link = response.headers.get("Link")
        if link is None:
            return found
        match = re.fullmatch(r'<([^>]+)>; rel="next"', link)
        assert match, link
        path = match.group(1)


def test_the_caller_sees_their_own_events_newest_first_page_by_page(client, make_user, login, clock) -> None:
    creds = make_user()
    failed_logins(client, creds.username, 3, clock)
    token = login(creds, "laptop")
    found = pages(client, "/auth/events?limit=2", bearer(token))
    assert [len(p) for p in found] == [2, 2]
    events = [e for p in found for e in p]
    assert [e["kind"] for e in events] == ["login_succeeded"] + ["login_failed"] * 3
    assert events[0]["device"] == "laptop"
    assert [e["at"] for e in events] == sorted((e["at"] for e in events), reverse=True)
    assert set(events[0]) == {
        "id",
        "kind",
        "at",
        "username",
        "device",
        "user_agent",
        "source_ip",
        "session",
        "actor",
        "detail",
    }


def test_nobody_sees_anothers_events(client, make_user, login, clock) -> None:
    alice, bob = make_user(), make_user()
    failed_logins(client, alice.username, 2, clock)
    events = json_body(client.http.get("/auth/events", headers=bearer(login(bob))))
    assert {e["username"] for e in events} == {bob.username}


@pytest.mark.parametrize("cursor", ["nope", "0" * 12 + "!" * 8, "x" * 500])
def test_a_cursor_that_is_not_one_of_ours_is_a_400(client, make_user, login, cursor: str) -> None:
    token = login(make_user())
    response = client.http.get(f"/auth/events?cursor={cursor}", headers=bearer(token))
    assert response.status_code == 400
    assert json_body(response)["error"] == "invalid_request"


def test_an_admin_reads_a_users_events_and_a_user_may_not(client, make_user, login, clock) -> None:
    admin = make_user(roles=("admin", "user"))
    target = make_user()
    failed_logins(client, target.username, 3, clock)
    admin_token = login(admin)
    found = pages(client, f"/admin/users/{target.username}/events?limit=2", bearer(admin_token))
    assert [e["kind"] for p in found for e in p] == ["login_failed"] * 3
    refused = client.http.get(f"/admin/users/{target.username}/events", headers=bearer(login(target)))
    assert refused.status_code == 403


@pytest.mark.parametrize("name", ["nobody-here", "NO SUCH", "a"])
def test_an_unknown_user_is_404(client, make_user, login, name: str) -> None:
    token = login(make_user(roles=("admin", "user")))
    response = client.http.get(f"/admin/users/{name}/events", headers=bearer(token))
    assert response.status_code == 404
    assert json_body(response)["error"] == "not_found"


def test_the_admins_name_is_on_the_events_of_what_they_did(client, make_user, login, clock) -> None:
    admin = make_user("root-admin", roles=("admin", "user"))
    target = make_user()
    token = login(admin)
    assert (
        client.http.post(f"/admin/users/{target.username}/disable", headers=bearer(token)).status_code == 204
    )
    events = json_body(client.http.get(f"/admin/users/{target.username}/events", headers=bearer(token)))
    assert [(e["kind"], e["actor"]) for e in events] == [("account_disabled", "root-admin")]
