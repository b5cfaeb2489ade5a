"""Account rules: normalised passwords, look-alike names, no-store answers, the session cap,
paged lists, and the last active admin."""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Callable
from typing import Any

import pytest

import app as gatehouse_app
from gatehouse.accounts import admin as admin_ops
from gatehouse.errors import LastAdmin
from gatehouse.services import Services
from tests.conftest import Credentials, bearer, json_body, next_link, post_json

NFC_PASSWORD = unicodedata.normalize("NFC", "Café-Tulip-Marble-9")
NFD_PASSWORD = unicodedata.normalize("NFD", NFC_PASSWORD)


def password_login(client: Any, username: str, password: str, device: str = "") -> Any:
    body = {"grant_type": "password", "username": username, "password": password, "device": device}
    return post_json(client, "/auth/token", body)


# -- passwords: NFKC -------------------------------------------------------------------------


def test_a_password_typed_in_another_unicode_form_still_matches(client, make_user):
    assert NFC_PASSWORD != NFD_PASSWORD
    creds = make_user(password=NFC_PASSWORD)
    assert password_login(client, creds.username, NFD_PASSWORD).status_code == 200
    # NFKC folds compatibility forms too: fullwidth letters and digits are the ASCII ones.
    fullwidth = make_user(
        password="".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in "Tulip-Marble-9")
    )
    assert password_login(client, fullwidth.username, "Tulip-Marble-9").status_code == 200


def test_a_hash_made_before_normalisation_verifies_and_is_upgraded_at_login(client, make_user, rt):
    creds = make_user(password=NFC_PASSWORD)
    # A hash of the raw, unnormalised NFD text, as stored before passwords were normalised.
    legacy = rt.hasher._argon2.hash(NFD_PASSWORD)
    rt.users._table.update_item(
        Key={"username": creds.username},
        UpdateExpression="SET password_hash = :h",
        ExpressionAttributeValues={":h": legacy},
    )
    assert password_login(client, creds.username, NFD_PASSWORD).status_code == 200
    upgraded = rt.users.get(creds.username).password_hash
    assert upgraded != legacy
    assert rt.hasher._argon2.verify(upgraded, NFC_PASSWORD)  # now the NFKC form's hash
    assert password_login(client, creds.username, NFC_PASSWORD).status_code == 200


# -- usernames -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["admin.", "admin-", "admin_", "_admin", ".admin", "-admin"])
def test_a_name_beginning_or_ending_with_punctuation_is_refused(client, name):
    response = post_json(client, "/auth/register", {"username": name, "password": "Tulip-Marble-9-x"})
    assert response.status_code == 400
    assert "starting and ending with a letter or digit" in json_body(response)["message"]


def test_punctuation_inside_a_name_is_still_allowed(client):
    response = post_json(client, "/auth/register", {"username": "ad.m-i_n", "password": "Tulip-Marble-9-x"})
    assert response.status_code == 201


# -- Cache-Control on every authenticated answer -----------------------------------------------

PARAMS = {"{note_id}": "01j0000000000000000000000000", "{session_id}": "x", "{username}": "someone"}


def _protected_routes() -> list[tuple[str, str]]:
    return sorted(
        (method, path)
        for path, methods in gatehouse_app.app.routes.items()
        for method, entry in methods.items()
        if entry.authorizer is gatehouse_app.gate.authorizer
    )


@pytest.mark.parametrize(("method", "path"), _protected_routes())
def test_every_protected_route_answers_with_no_store(client, make_user, login, method, path):
    token = login(make_user(roles=("admin", "user")))
    make_user(roles=("admin",))  # so the caller is never the last admin
    for template, value in PARAMS.items():
        path = path.replace(template, value)
    body = "{}" if method in ("POST", "PUT") else ""
    headers = {**bearer(token), "Content-Type": "application/json"}
    response = client.http.request(method, path, headers=headers, body=body)
    assert response.status_code < 500, response.body
    assert response.headers.get("Cache-Control") == "no-store", (method, path, response.status_code)


def test_the_notes_list_of_the_example_app_is_no_store_too(client, make_user, login):
    response = client.http.get("/notes", headers=bearer(login(make_user())))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


# -- the cap on sessions per user ----------------------------------------------------------------


def test_a_login_past_the_session_cap_ends_the_oldest_session(make_runtime, make_user, client, clock):
    make_runtime(max_sessions_per_user=3)
    creds = make_user()
    grants = []
    for device in ("one", "two", "three", "four"):
        grants.append(json_body(password_login(client, creds.username, creds.password, device)))
        clock.advance(1)
    refresh = {"grant_type": "refresh_token", "refresh_token": grants[0]["refresh_token"]}
    assert post_json(client, "/auth/token", refresh).status_code == 400
    listed = json_body(client.http.get("/auth/sessions", headers=bearer(grants[-1]["access_token"])))
    assert [s["device"] for s in listed] == ["two", "three", "four"]


# -- paged lists -------------------------------------------------------------------------------


def _all_pages(client: Any, path: str, token: str) -> list[list[Any]]:
    pages = []
    url: str | None = path
    while url is not None:
        response = client.http.get(url, headers=bearer(token))
        assert response.status_code == 200, response.body
        pages.append(json_body(response))
        url = next_link(response)
    return pages


def test_sessions_are_listed_in_pages_oldest_first_with_a_next_link(client, make_user, clock):
    creds = make_user()
    for device in "abcde":
        token = json_body(password_login(client, creds.username, creds.password, device))["access_token"]
        clock.advance(1)
    pages = _all_pages(client, "/auth/sessions?limit=2", token)
    assert [[s["device"] for s in page] for page in pages] == [["a", "b"], ["c", "d"], ["e"]]
    first = client.http.get("/auth/sessions?limit=2", headers=bearer(token))
    assert next_link(first).startswith("/auth/sessions?limit=2&cursor=")


def test_users_are_listed_in_pages_that_together_hold_every_user(client, make_user, login):
    token = login(make_user("boss", roles=("admin", "user")))
    for i in range(4):
        make_user(f"member{i}")
    pages = _all_pages(client, "/admin/users?limit=2", token)
    assert all(len(page) <= 2 for page in pages)
    names = [u["username"] for page in pages for u in page]
    assert sorted(names) == ["boss", "member0", "member1", "member2", "member3"]


@pytest.mark.parametrize("path", ["/auth/sessions", "/admin/users"])
@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=x", "cursor=%21%21", "cursor=" + "a" * 300])
def test_a_bad_limit_or_cursor_is_400(client, make_user, login, path, query):
    token = login(make_user(roles=("admin", "user")))
    response = client.http.get(f"{path}?{query}", headers=bearer(token))
    assert response.status_code == 400
    assert json_body(response)["error"] == "invalid_request"


# -- the last active admin -------------------------------------------------------------------


def test_the_last_active_admin_cannot_be_disabled(client, make_user, login):
    boss = make_user(roles=("admin", "user"))
    auth = bearer(login(boss))
    response = client.http.post(f"/admin/users/{boss.username}/disable", headers=auth)
    assert response.status_code == 409
    assert json_body(response) == {
        "error": "last_admin",
        "message": "This is the last active admin account; make another admin first.",
    }
    make_user(roles=("admin",))
    assert client.http.post(f"/admin/users/{boss.username}/disable", headers=auth).status_code == 204


def test_a_disabled_admin_does_not_count_as_the_other_admin(client, make_user, login, rt):
    boss = make_user(roles=("admin", "user"))
    other = make_user(roles=("admin",))
    admin_ops.set_disabled(rt, other.username, True)  # boss is the witness
    response = client.http.post(f"/admin/users/{boss.username}/disable", headers=bearer(login(boss)))
    assert response.status_code == 409


def test_two_admins_disabling_each_other_at_once_leave_one_active(rt, make_user, atomic_conditional_writes):
    for _ in range(10):
        a, b = make_user(roles=("admin",)), make_user(roles=("admin",))
        for name in rt.users.active_admins():
            if name not in (a.username, b.username):
                admin_ops.set_disabled(rt, name, True)  # earlier rounds' admins: out of the way
        outcomes: list[str] = []
        barrier = threading.Barrier(2)

        def disable(name: str, barrier: threading.Barrier, outcomes: list[str]) -> None:
            barrier.wait()
            try:
                admin_ops.set_disabled(rt, name, True)
                outcomes.append("disabled")
            except LastAdmin:
                outcomes.append("refused")

        threads = [
            threading.Thread(target=disable, args=(n, barrier, outcomes)) for n in (a.username, b.username)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(rt.users.active_admins()) == 1, outcomes
        assert sorted(outcomes) == ["disabled", "refused"]


def test_the_last_two_admins_deleting_themselves_at_once_leave_one_active(
    rt: Services, make_user: Callable[..., Credentials], atomic_conditional_writes: None
) -> None:
    from gatehouse.accounts import deletion

    for round_ in range(5):
        a = make_user(f"del-a{round_}", roles=("admin",))
        b = make_user(f"del-b{round_}", roles=("admin",))
        for name in rt.users.active_admins():
            if name not in (a.username, b.username):
                admin_ops.set_disabled(rt, name, True)  # earlier rounds' admins: out of the way
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def delete(name: str, barrier: threading.Barrier, outcomes: list[str]) -> None:
            barrier.wait()
            try:
                deletion.delete_user(rt, name, [])
                outcomes.append("deleted")
            except LastAdmin:
                outcomes.append("last_admin")

        threads = [
            threading.Thread(target=delete, args=(n, barrier, outcomes)) for n in (a.username, b.username)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["deleted", "last_admin"]
        assert len(rt.users.active_admins()) == 1
