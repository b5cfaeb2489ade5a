"""Deleting an account (self-service and the admin CLI): every identity row goes, sessions end, and
the app's hook runs."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
from chalice.test import Client

import app as gatehouse_app
from app import notes_table
from chalicelib.notes.repository import NoteRepository
from gatehouse.accounts import admin
from gatehouse.admin import cli
from gatehouse.services import Services
from gatehouse.storage.account_email import claim_key
from gatehouse.storage.attempts import LOGIN
from tests.conftest import (
    DEFAULT_PASSWORD,
    Credentials,
    FakeClock,
    Mailbox,
    bearer,
    json_body,
    post_json,
)

ADDRESS = "alice@example.com"


def login(client: Client, username: str, password: str = DEFAULT_PASSWORD) -> Any:
    return post_json(
        client, "/auth/token", {"grant_type": "password", "username": username, "password": password}
    )


def delete(client: Client, token: str, password: str = DEFAULT_PASSWORD) -> Any:
    return post_json(client, "/auth/account/delete", {"current_password": password}, bearer(token))


@pytest.fixture
def alice(client: Client, mailbox: Mailbox) -> dict[str, Any]:
    """An account with an email address, two sessions and two notes; the first session's grant."""
    body = {"username": "alice", "password": DEFAULT_PASSWORD, "email": ADDRESS}
    assert post_json(client, "/auth/register", body).status_code == 201
    grant = json_body(login(client, "alice"))
    login(client, "alice")
    for text in ("one", "two"):
        created = post_json(client, "/notes", {"text": text}, bearer(grant["access_token"]))
        assert created.status_code == 201
    return {
        **grant,
        "account_id": jwt.decode(grant["access_token"], options={"verify_signature": False})["sub"],
    }


def notes_of(rt: Services, owner: str) -> list[Any]:
    return NoteRepository(notes_table.table()).list_page(owner, 100)[0]


def items_about(rt: Services, username: str, account_id: str) -> list[dict[str, Any]]:
    """Every item of every Gatehouse table that mentions the user, by name or by id."""
    found = []
    for table in (rt.settings.users_table, rt.settings.sessions_table, rt.settings.attempts_table):
        for item in rt.table(table).scan()["Items"]:
            if {username, account_id} & {item.get("username"), item.get("owner"), item.get("account_id")}:
                found.append(item)
    return found


@pytest.fixture
def hooks_restored() -> Iterator[list[Callable[[str], object]]]:
    hooks = gatehouse_app.gate.account_deleted_hooks
    saved = list(hooks)
    yield hooks
    hooks[:] = saved


def test_deleting_my_account_removes_every_row_ends_sessions_and_the_notes_hook_runs(
    client: Client, rt: Services, alice: dict[str, Any], clock: FakeClock
) -> None:
    login(client, "alice", "Wrong-password-42")  # a failure counted for the name
    # Another attempt on the same counter, as a second failed login would leave.
    rt.attempts.count_failure("alice", LOGIN, rt.now(), rt.lockout)
    # user, email claim, skeleton claim, two sessions, attempts
    assert len(items_about(rt, "alice", alice["account_id"])) == 6
    assert len(notes_of(rt, alice["account_id"])) == 2

    response = delete(client, alice["access_token"])

    assert response.status_code == 204, response.body
    assert items_about(rt, "alice", alice["account_id"]) == []
    assert rt.account_email.owner_of(ADDRESS) is None
    assert notes_of(rt, alice["account_id"]) == []
    refreshed = post_json(
        client, "/auth/token", {"grant_type": "refresh_token", "refresh_token": alice["refresh_token"]}
    )
    assert refreshed.status_code == 400
    # Access tokens: refused once the authorizer's session cache has run out (the documented bound).
    clock.advance(rt.settings.session_cache_seconds)
    assert client.http.get("/me", headers=bearer(alice["access_token"])).status_code == 401
    assert login(client, "alice").status_code == 400


def test_the_name_and_address_are_free_again_after_deletion(
    client: Client, rt: Services, alice: dict[str, Any]
) -> None:
    delete(client, alice["access_token"])
    body = {"username": "alice", "password": DEFAULT_PASSWORD, "email": ADDRESS}
    assert post_json(client, "/auth/register", body).status_code == 201
    assert notes_of(rt, alice["account_id"]) == []


def test_deletion_needs_the_current_password_and_counts_wrong_ones(
    client: Client, rt: Services, alice: dict[str, Any]
) -> None:
    statuses = [delete(client, alice["access_token"], "Wrong-password-42").status_code for _ in range(6)]
    assert statuses[:5] == [400] * 5
    assert statuses[5] == 429
    assert rt.users.get("alice") is not None
    assert len(notes_of(rt, alice["account_id"])) == 2


def test_the_other_users_are_untouched(
    client: Client, rt: Services, alice: dict[str, Any], make_user: Callable[..., Credentials], login: Any
) -> None:
    bob = make_user("bob")
    token = login(bob)
    post_json(client, "/notes", {"text": "bob's"}, bearer(token))
    delete(client, alice["access_token"])
    assert client.http.get("/me", headers=bearer(token)).status_code == 200
    assert len(notes_of(rt, bob.account_id)) == 1


def test_the_last_active_admin_cannot_delete_itself(
    client: Client, rt: Services, make_user: Callable[..., Credentials], login: Any
) -> None:
    root = make_user("root", roles=("admin", "user"))
    response = delete(client, login(root))
    assert (response.status_code, json_body(response)["error"]) == (409, "last_admin")
    assert rt.users.get("root") is not None


def test_an_admin_may_delete_itself_while_another_active_admin_remains(
    client: Client, rt: Services, make_user: Callable[..., Credentials], login: Any
) -> None:
    root = make_user("root", roles=("admin", "user"))
    make_user("second", roles=("admin",))
    assert delete(client, login(root)).status_code == 204
    assert rt.users.get("root") is None


def test_a_disabled_admin_does_not_count_as_the_remaining_one(
    client: Client, rt: Services, make_user: Callable[..., Credentials], login: Any
) -> None:
    root = make_user("root", roles=("admin", "user"))
    make_user("second", roles=("admin",))
    admin.set_disabled(rt, "second", True)  # root is the witness
    assert delete(client, login(root)).status_code == 409


def test_a_failing_hook_is_retried_logged_and_the_deletion_still_succeeds(
    client: Client,
    rt: Services,
    alice: dict[str, Any],
    hooks_restored: list[Callable[[str], object]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[str] = []

    def flaky(username: str) -> None:
        calls.append(username)
        raise RuntimeError("the app's table is throttled")

    hooks_restored.insert(0, flaky)
    caplog.set_level("INFO")
    assert delete(client, alice["access_token"]).status_code == 204
    assert calls == [alice["account_id"]] * 3
    failures = [r.getMessage() for r in caplog.records if "account_deleted_hook" in r.getMessage()]
    assert len(failures) == 3
    assert all('"error":"RuntimeError"' in line and "flaky" in line for line in failures)
    assert notes_of(rt, alice["account_id"]) == []  # the notes hook after it still ran


def test_a_hook_that_fails_once_runs_again_and_succeeds(
    client: Client, alice: dict[str, Any], hooks_restored: list[Callable[[str], object]]
) -> None:
    calls: list[str] = []

    def once_flaky(username: str) -> None:
        calls.append(username)
        if len(calls) == 1:
            raise RuntimeError("transient")

    hooks_restored.append(once_flaky)
    assert delete(client, alice["access_token"]).status_code == 204
    assert calls == [alice["account_id"]] * 2


def test_on_account_deleted_is_usable_as_a_decorator(hooks_restored: list[Callable[[str], object]]) -> None:
    @gatehouse_app.gate.on_account_deleted
    def cleanup(username: str) -> None:
        del username

    assert cleanup in hooks_restored
    assert callable(cleanup)


def test_notes_delete_all_for_removes_every_page_and_only_that_owner(rt: Services, clock: FakeClock) -> None:
    from chalicelib.notes.repository import Note, new_note_id

    repo = NoteRepository(notes_table.table())
    for n in range(30):
        repo.create(Note("alice", new_note_id(n), f"note {n}", 0, 0))
    repo.create(Note("bob", new_note_id(1), "bob's", 0, 0))
    assert repo.delete_all_for("alice") == 30
    assert repo.delete_all_for("alice") == 0
    assert notes_of(rt, "alice") == []
    assert len(notes_of(rt, "bob")) == 1


# -- the admin CLI ------------------------------------------------------------------------------


def run_cli(clock: FakeClock, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    # An explicit AWS target (moto in-process): never a developer's running local stack.
    code = cli.main(list(argv), env={"AWS_ACCESS_KEY_ID": "testing"}, stdin=io.StringIO(""), clock=clock)
    out, err = capsys.readouterr()
    # The target line every command starts with is checked in tests/admin.
    err = "".join(line for line in err.splitlines(keepends=True) if not line.startswith("Target: "))
    return code, out + err


def test_cli_delete_user_does_what_the_route_does(
    client: Client, rt: Services, alice: dict[str, Any], clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_cli(clock, capsys, "delete-user", "--yes", "alice")
    assert code == 0, out
    assert "Deleted 'alice'; ended 2 session(s)" in out
    assert items_about(rt, "alice", alice["account_id"]) == []
    assert (
        rt.table(rt.settings.users_table).get_item(Key={"username": claim_key(ADDRESS)}).get("Item") is None
    )
    assert notes_of(rt, alice["account_id"]) == []
    clock.advance(rt.settings.session_cache_seconds)
    assert client.http.get("/me", headers=bearer(alice["access_token"])).status_code == 401


def test_cli_delete_user_refuses_the_last_admin_and_unknown_users_in_one_line(
    rt: Services, make_user: Callable[..., Credentials], clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    make_user("root", roles=("admin",))
    code, out = run_cli(clock, capsys, "delete-user", "--yes", "root")
    assert code == 1
    assert out.strip().splitlines() == [
        "error: This is the last active admin account; make another admin first."
    ]
    code, out = run_cli(clock, capsys, "delete-user", "--yes", "nobody")
    assert (code, out.strip()) == (1, "error: No such user.")
    assert rt.users.get("root") is not None
