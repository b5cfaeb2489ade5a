"""The authorizer's session check: one strongly consistent read, bound to the token's sub, fail closed.

tests/gatehouse/accounts/test_lifecycle.py covers revocation end to end (logout, cache bound,
an unreadable table); these pin the rules of ``SessionCheck`` itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from gatehouse.authorizer.bearer import Unauthorized
from gatehouse.authorizer.session_check import SessionCheck
from gatehouse.jose.access_tokens import AccessClaims
from gatehouse.services import Services
from gatehouse.storage.sessions import Session, SessionRepository, read_session
from tests.conftest import FakeClock
from tests.gatehouse.authorizer import local as authorizer_local

NOW = 1_800_000_000
TTL = 5
ALICE = Session(
    sid="sid-a",
    account_id="alice",
    username="alice",
    device="",
    created_at=NOW,
    last_used_at=NOW,
    expires_at=NOW + 100,
)
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc/api/GET/me"


def claims(sub: str = "alice", sid: str = "sid-a") -> AccessClaims:
    return AccessClaims(sub=sub, username="alice", sid=sid, jti="j", roles=(), iat=NOW, exp=NOW + 900)


class Store:
    """A session table stand-in, keyed like the real one by (account_id, sid), that counts reads."""

    def __init__(self, *sessions: Session) -> None:
        self.rows = {s.sid: s for s in sessions}
        self.reads = 0

    def load(self, account_id: str, sid: str) -> Session | None:
        self.reads += 1
        row = self.rows.get(sid)
        return row if row is not None and row.account_id == account_id else None


def test_live_session_of_the_tokens_sub_is_live() -> None:
    assert SessionCheck(Store(ALICE).load, TTL).is_live(claims(), NOW) is True


def test_session_of_another_sub_is_not_live() -> None:
    assert SessionCheck(Store(ALICE).load, TTL).is_live(claims(sub="mallory"), NOW) is False


def test_a_cached_live_session_never_vouches_for_a_token_of_another_sub() -> None:
    store = Store(ALICE)
    check = SessionCheck(store.load, TTL)
    assert check.is_live(claims(), NOW) is True  # cached now

    assert check.is_live(claims(sub="mallory"), NOW + 1) is False
    # The cache is keyed by (sub, sid): mallory's miss is its own entry, and
    # alice's cached answer is neither used for it nor spoiled by it.
    assert check.is_live(claims(), NOW + 1) is True
    assert check.is_live(claims(sub="mallory"), NOW + 2) is False
    assert store.reads == 2


def test_session_past_its_absolute_expiry_is_not_live_though_its_row_is_still_there() -> None:
    store = Store(ALICE)
    check = SessionCheck(store.load, TTL)

    assert check.is_live(claims(), ALICE.expires_at) is False


def test_a_cached_live_session_stops_being_live_at_its_expiry_inside_the_cache_window() -> None:
    store = Store(ALICE)
    check = SessionCheck(store.load, ttl=1000)
    assert check.is_live(claims(), ALICE.expires_at - 1) is True

    assert check.is_live(claims(), ALICE.expires_at) is False
    assert store.reads == 1


def test_expired_session_is_final_and_never_read_again() -> None:
    store = Store(ALICE)
    check = SessionCheck(store.load, TTL)
    check.is_live(claims(), ALICE.expires_at)

    assert check.is_live(claims(), ALICE.expires_at + 10 * TTL) is False
    assert store.reads == 1


def test_missing_session_is_final_and_never_read_again() -> None:
    store = Store()
    check = SessionCheck(store.load, TTL)
    assert check.is_live(claims(), NOW) is False
    store.rows[ALICE.sid] = ALICE  # cannot happen (random ids, create-if-absent): proves no re-read

    assert check.is_live(claims(), NOW + 10 * TTL) is False
    assert store.reads == 1


def test_ended_session_is_noticed_once_the_cache_window_has_passed() -> None:
    store = Store(ALICE)
    check = SessionCheck(store.load, TTL)
    assert check.is_live(claims(), NOW) is True
    del store.rows[ALICE.sid]  # logout deletes the row

    assert check.is_live(claims(), NOW + TTL - 1) is True  # the documented bound
    assert check.is_live(claims(), NOW + TTL) is False
    assert store.reads == 2


def test_a_failed_read_propagates_so_the_caller_denies() -> None:
    def unreachable(_username: str, _sid: str) -> Session | None:
        raise ConnectionError("dynamodb unreachable")

    with pytest.raises(ConnectionError):
        SessionCheck(unreachable, TTL).is_live(claims(), NOW)


def test_a_failed_read_is_not_cached_as_an_answer() -> None:
    store = Store(ALICE)
    calls: list[str] = []

    def fails_once(username: str, sid: str) -> Session | None:
        calls.append(sid)
        if len(calls) == 1:
            raise ConnectionError("once")
        return store.load(username, sid)

    check = SessionCheck(fails_once, TTL)
    with pytest.raises(ConnectionError):
        check.is_live(claims(), NOW)
    assert check.is_live(claims(), NOW) is True


def test_the_cache_holds_at_most_max_entries_sessions() -> None:
    sessions = [replace(ALICE, sid=f"sid-{i}") for i in range(5)]
    store = Store(*sessions)
    check = SessionCheck(store.load, TTL, max_entries=3)
    for session in sessions:
        check.is_live(claims(sid=session.sid), NOW)

    check.is_live(claims(sid="sid-0"), NOW)  # evicted: read again
    check.is_live(claims(sid="sid-4"), NOW)  # still cached

    assert store.reads == 6


class SpyTable:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {}


def test_session_read_is_strongly_consistent() -> None:
    table = SpyTable()

    assert SessionRepository(table).get("alice", "sid-a") is None  # type: ignore[arg-type]
    assert table.calls == [{"Key": {"account_id": "alice", "sid": "sid-a"}, "ConsistentRead": True}]


def test_session_check_reads_through_a_low_level_client_exactly_what_the_repository_reads(
    rt: Services,
) -> None:
    rt.sessions.create(replace(ALICE, refresh_hash="h1", generation=1, family_hash="f"))
    for new_hash, box, at in (("h2", "box-2", NOW + 1), ("h3", "box-3", NOW + 2)):  # every attribute set
        current = rt.sessions.get(ALICE.account_id, ALICE.sid)
        assert current is not None
        assert rt.sessions.rotate(current, new_hash, box, at)
    stored = replace(ALICE, last_used_at=NOW + 2, refresh_hash="h3", prev_hash="h2", rotated_at=NOW + 2)
    stored = replace(stored, grace_box="box-3", generation=3, family_hash="f")
    requests: list[dict[str, Any]] = []
    rt.session_client.meta.events.register(
        "provide-client-params.dynamodb.GetItem", lambda params, **_: requests.append(dict(params))
    )

    table = rt.settings.sessions_table
    user = ALICE.account_id
    assert read_session(rt.session_client, table, user, ALICE.sid) == rt.sessions.get(user, ALICE.sid)
    assert read_session(rt.session_client, table, user, ALICE.sid) == stored
    assert read_session(rt.session_client, table, user, "no-such-sid") is None
    assert read_session(rt.session_client, table, "someone-else", ALICE.sid) is None
    assert requests[0] == {
        "TableName": rt.settings.sessions_table,
        "Key": {"account_id": {"S": user}, "sid": {"S": ALICE.sid}},
        "ConsistentRead": True,
    }


# -- through the authorizer ---------------------------------------------------------------


def _authorize(token: str) -> None:
    event = {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": METHOD_ARN}
    authorizer_local.gatehouse_auth(event)


def _session_of(rt: Services, account_id: str) -> Session:
    (key,) = rt.sessions.keys_for(account_id)
    session = rt.sessions.get(account_id, key.sid)
    assert session is not None
    return session


def test_authorizer_denies_a_token_naming_a_cached_live_session_of_another_user(
    rt: Services,
    make_user: Callable[..., Any],
    login: Callable[..., str],
    make_token: Callable[..., str],
) -> None:
    creds = make_user()
    _authorize(login(creds))  # alice's session is now cached as live
    sid = _session_of(rt, creds.account_id).sid

    with pytest.raises(Unauthorized) as info:
        _authorize(make_token(sub="mallory", sid=sid))
    assert info.value.reason == "session_ended"


def test_authorizer_denies_a_session_past_its_absolute_expiry_before_ttl_deletes_it(
    rt: Services,
    clock: FakeClock,
    make_user: Callable[..., Any],
    login: Callable[..., str],
    make_token: Callable[..., str],
) -> None:
    creds = make_user()
    login(creds)
    session = _session_of(rt, creds.account_id)
    clock.now = session.expires_at  # the row is still in the table
    token = make_token(sub=creds.account_id, username=creds.username, sid=session.sid)  # else valid now
    assert rt.sessions.get(creds.account_id, session.sid) is not None

    with pytest.raises(Unauthorized) as info:
        _authorize(token)
    assert info.value.reason == "session_ended"
