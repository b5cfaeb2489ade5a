"""Security events: what each use case records, what a login pays for it, and what never goes in."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from chalice.test import Client

from gatehouse.accounts import activity, admin, deletion
from gatehouse.services import Services
from tests.conftest import Credentials, bearer, json_body, post_json

WRONG = "Wrong-password-1"
AGENT = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"


def grant(client: Client, creds: Credentials, password: str | None = None, **extra: str) -> Any:
    body = {"grant_type": "password", "username": creds.username, "password": password or creds.password}
    return post_json(client, "/auth/token", {**body, **extra}, {"User-Agent": AGENT})


def account_of(rt: Services, username: str) -> str:
    user = rt.users.get(username)
    assert user is not None
    return user.account_id


def kinds(rt: Services, username: str) -> list[str]:
    """The account's event kinds, newest first."""
    events, _ = rt.events.page(account_of(rt, username), 100, rt.now())
    return [e.kind for e in events]


def stored_items(rt: Services) -> list[dict[str, Any]]:
    return rt.table(rt.settings.events_table).scan(ConsistentRead=True)["Items"]


def test_a_login_is_recorded_with_device_agent_address_and_its_session(client: Client, make_user, rt) -> None:
    creds = make_user()
    answer = grant(client, creds, device="laptop")
    assert answer.status_code == 200
    [event] = rt.events.page(account_of(rt, creds.username), 10, rt.now())[0]
    [session] = rt.sessions.keys_for(account_of(rt, creds.username))
    assert (event.kind, event.device, event.user_agent) == ("login_succeeded", "laptop", AGENT)
    assert event.session == session.sid
    assert event.source_ip == "127.0.0.1"  # what chalice's test gateway says
    assert event.detail == activity.NEW_DEVICE  # no device token was shown
    assert event.expires_at == event.at + 90 * 86400  # the retention setting's default


def test_a_login_records_its_event_inside_its_own_transaction(
    client: Client, make_user, dynamodb_calls: list[str]
) -> None:
    creds = make_user()
    first = grant(client, creds)
    token = json_body(first)["device_token"]
    dynamodb_calls.clear()
    assert grant(client, creds, device_token=token).status_code == 200
    # Read the user, count the attempt, list sessions, one transaction: no request of its own.
    assert dynamodb_calls == ["GetItem", "UpdateItem", "Query", "TransactWriteItems"]


def test_a_wrong_password_and_an_unknown_name_make_the_same_requests(
    client: Client, make_user, rt, dynamodb_calls: list[str]
) -> None:
    creds = make_user()
    dynamodb_calls.clear()
    assert grant(client, creds, WRONG).status_code == 400
    known = list(dynamodb_calls)
    dynamodb_calls.clear()
    assert grant(client, Credentials("nobody-here", WRONG)).status_code == 400
    assert dynamodb_calls == known == ["GetItem", "UpdateItem", "PutItem"]
    assert kinds(rt, creds.username) == ["login_failed"]
    assert [i["account"] for i in stored_items(rt)] == [account_of(rt, creds.username)]


def test_the_failure_that_starts_the_lockout_is_recorded_as_such_and_refusals_are_not(
    client: Client, make_user, rt, clock
) -> None:
    creds = make_user()
    for _ in range(rt.lockout.threshold):
        grant(client, creds, WRONG)
        clock.advance(1)  # events of one millisecond have no order
    assert grant(client, creds, WRONG).status_code == 429  # refused: no password check, no event
    assert kinds(rt, creds.username) == ["locked_out"] + ["login_failed"] * (rt.lockout.threshold - 1)


def test_refresh_token_reuse_is_recorded_against_the_account(client: Client, make_user, rt) -> None:
    creds = make_user()
    first = json_body(grant(client, creds))["refresh_token"]
    refresh = {"grant_type": "refresh_token", "refresh_token": first}
    assert post_json(client, "/auth/token", refresh).status_code == 200
    rt.clock.advance(rt.settings.refresh_grace + 1)  # type: ignore[attr-defined]
    assert post_json(client, "/auth/token", refresh).status_code == 400
    assert kinds(rt, creds.username)[0] == "refresh_reuse"


def test_signing_out_one_and_every_session_is_recorded_with_how(
    client: Client, make_user, login: Callable[..., str], rt, clock
) -> None:
    creds = make_user()
    other = json_body(grant(client, creds))["refresh_token"]
    token = login(creds)
    clock.advance(1)
    assert post_json(client, "/auth/revoke", {"token": other}).status_code == 200
    clock.advance(1)
    assert client.http.delete("/auth/sessions", headers=bearer(token)).status_code == 204
    events = rt.events.page(account_of(rt, creds.username), 10, rt.now())[0]
    assert [(e.kind, e.detail) for e in events[:2]] == [
        ("session_ended", "all 1 sessions ended"),
        ("session_ended", "revoked"),
    ]


def test_admin_actions_name_the_admin(rt: Services, make_user, clock) -> None:
    creds = make_user()
    admin.set_disabled(rt, creds.username, True, actor="root-admin")
    clock.advance(1)
    admin.set_disabled(rt, creds.username, False, actor="root-admin")
    clock.advance(1)
    admin.unlock(rt, creds.username)
    clock.advance(1)
    admin.set_roles(rt, creds.username, ["user", "editor"], actor="root-admin")
    events = rt.events.page(account_of(rt, creds.username), 10, rt.now())[0]
    assert [(e.kind, e.actor) for e in events] == [
        ("roles_changed", "root-admin"),
        ("account_unlocked", activity.ADMIN_CLI),
        ("account_enabled", "root-admin"),
        ("account_disabled", "root-admin"),
    ]
    assert events[0].detail == "editor,user"


def test_a_deleted_accounts_events_stay_under_its_id_only_until_they_expire(rt: Services, make_user) -> None:
    creds = make_user()
    account = account_of(rt, creds.username)
    activity.record(rt, activity.Who(account, creds.username), activity.PASSWORD_CHANGED)
    rt.clock.advance(1)  # type: ignore[attr-defined]
    deletion.delete_user(rt, creds.username, [])
    assert [e["kind"] for e in activity.events_of_account(rt, account, 10, None)[0]] == [
        "account_deleted",
        "password_changed",
    ]
    rt.clock.advance(rt.settings.event_retention_days * 86400)  # type: ignore[attr-defined]
    assert activity.events_of_account(rt, account, 10, None)[0] == []  # past retention, before the sweep


def test_no_event_holds_a_password_token_or_hash(client: Client, make_user, rt) -> None:
    creds = make_user()
    tokens = json_body(grant(client, creds, device="phone"))
    grant(client, creds, WRONG)
    change = {"current_password": creds.password, "new_password": "Brand-new-Pass-77"}
    assert post_json(client, "/auth/password", change, bearer(tokens["access_token"])).status_code == 204
    text = json.dumps(stored_items(rt), default=str)
    user = rt.users.get(creds.username)
    assert user is not None
    for secret in (creds.password, WRONG, "Brand-new-Pass-77", user.password_hash, *tokens.values()):
        assert str(secret) not in text
    assert set(json.loads(text)[0]) <= {
        "account",
        "event_id",
        "kind",
        "at",
        "expires_at",
        "username",
        "device",
        "user_agent",
        "source_ip",
        "session",
        "actor",
        "detail",
    }


def test_a_new_account_of_a_deleted_name_inherits_none_of_its_events(
    client: Client, make_user, login: Callable[..., str], rt, clock
) -> None:
    creds = make_user("reused-name")
    assert grant(client, creds, WRONG).status_code == 400
    old = account_of(rt, creds.username)
    clock.advance(1)
    deletion.delete_user(rt, creds.username, [])
    clock.advance(1)
    again = make_user("reused-name")
    assert account_of(rt, again.username) != old
    events = json_body(client.http.get("/auth/events", headers=bearer(login(again))))
    assert [e["kind"] for e in events] == ["login_succeeded"]
    assert [e["kind"] for e in activity.events_of_account(rt, old, 10, None)[0]] == [
        "account_deleted",
        "login_failed",
    ]


@pytest.mark.parametrize("days", [1, 365])
def test_the_retention_setting_is_the_events_ttl(make_runtime, make_user, days: int) -> None:
    rt = make_runtime(event_retention_days=days)
    creds = make_user()
    event = activity.record(rt, activity.Who(account_of(rt, creds.username), creds.username), "x")
    assert event.expires_at - event.at == days * 86400
