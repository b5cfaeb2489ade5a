"""The admin CLI's ``events``: a user's security events, or a deleted account's by its id."""

# The CLI's `run` fixture is imported from its own tests; the tests take it as a parameter.
# ruff: noqa: F811

from __future__ import annotations

import json
from collections.abc import Callable

from chalice.test import Client

from gatehouse.accounts import activity
from gatehouse.services import Services
from tests.admin.test_cli import _login, run  # noqa: F401
from tests.conftest import Credentials, FakeClock

Run = Callable[..., tuple[int, str]]


def test_events_lists_a_users_events_newest_first(
    run: Run,
    client: Client,
    make_user: Callable[..., Credentials],
    clock: FakeClock,
) -> None:
    creds = make_user()
    assert _login(client, creds.username, "Not-the-password-9").status_code == 400
    clock.advance(1)
    assert run("disable-user", "--yes", creds.username)[0] == 0
    code, output = run("events", creds.username)
    assert code == 0, output
    newest, oldest = output.strip().splitlines()
    assert "account_disabled" in newest
    assert "actor='admin-cli'" in newest
    assert "login_failed" in oldest
    assert "source_ip='127.0.0.1'" in oldest


def test_events_as_json_with_a_limit(run: Run, rt: Services, make_user, clock: FakeClock) -> None:
    creds = make_user()
    user = rt.users.get(creds.username)
    assert user is not None
    who = activity.Who.of(user)
    for kind in ("one", "two", "three"):
        activity.record(rt, who, kind)
        clock.advance(1)
    code, output = run("events", creds.username, "--limit", "2", "--json")
    assert code == 0, output
    assert [e["kind"] for e in json.loads(output)] == ["three", "two"]


def test_a_deleted_accounts_events_are_read_by_its_account_id(
    run: Run,
    rt: Services,
    make_user,
    clock: FakeClock,
) -> None:
    creds = make_user()
    user = rt.users.get(creds.username)
    assert user is not None
    account = user.account_id
    assert run("delete-user", "--yes", creds.username)[0] == 0
    assert run("events", creds.username) == (1, "error: No such user.\n")
    code, output = run("events", "--account-id", account)
    assert code == 0, output
    assert "account_deleted" in output


def test_events_needs_exactly_one_of_a_name_and_an_id(run: Run) -> None:
    assert run("events") == (1, "error: Name a user, or give --account-id ID (not both).\n")
    assert run("events", "someone", "--account-id", "x")[0] == 1
    assert run("events", "someone", "--limit", "0") == (1, "error: --limit must be from 1 to 1000.\n")
