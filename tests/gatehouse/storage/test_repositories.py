"""The identity repositories against moto, directly: each takes its table and raises domain errors."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gatehouse.accounts.usernames import skeleton
from gatehouse.errors import NoSuchUser, StoreError, UsernameTaken
from gatehouse.services import Services
from gatehouse.storage.attempts import LOGIN, PASSWORD_CHANGE, Refused
from gatehouse.storage.sessions import Session, new_sid
from gatehouse.storage.users import User

NOW = 1_800_000_000


def _id(name: str) -> str:
    """A stable account id per test name (32 hex digits, as a real one)."""
    return name.encode().hex().ljust(32, "0")[:32]


def _user(name: str = "alice", **changes: object) -> User:
    user = User(
        username=name,
        account_id=_id(name),
        password_hash="$argon2id$stand-in",
        roles=("user",),
        created_at=NOW,
        name_skeleton=skeleton(name),
    )
    return replace(user, **changes)


def _session(username: str, at_ms: int) -> Session:
    return Session(
        sid=new_sid(at_ms),
        account_id=_id(username),
        username=username,
        device="phone",
        created_at=at_ms // 1000,
        last_used_at=at_ms // 1000,
        expires_at=at_ms // 1000 + 3600,
        refresh_hash="h",
    )


# -- users ---------------------------------------------------------------------------------


def test_a_created_user_reads_back_and_a_second_one_of_that_name_is_taken(rt: Services) -> None:
    rt.users.create(_user())
    assert rt.users.get("alice") == _user()
    with pytest.raises(UsernameTaken):
        rt.users.create(_user(password_hash="$argon2id$other"))
    assert rt.users.get("nobody") is None


def test_a_new_password_hash_bumps_the_credential_version(rt: Services) -> None:
    rt.users.create(_user())
    rt.users.set_password_hash("alice", _id("alice"), "$argon2id$new")
    changed = rt.users.get("alice")
    assert changed is not None
    assert (changed.password_hash, changed.cred_version) == ("$argon2id$new", 2)


def test_changing_an_unknown_user_is_a_domain_error_or_false(rt: Services) -> None:
    with pytest.raises(NoSuchUser):
        rt.users.set_password_hash("nobody", _id("nobody"), "$argon2id$new")
    assert rt.users.bump_cred_version("nobody", _id("nobody")) is False
    assert rt.users.set_disabled(_user("nobody"), True) is False


def test_a_change_for_a_deleted_incarnation_never_reaches_a_new_account_of_the_name(rt: Services) -> None:
    rt.users.create(_user())
    old = replace(_user(), account_id="f" * 32)  # an earlier alice, deleted since
    with pytest.raises(NoSuchUser):
        rt.users.set_password_hash("alice", old.account_id, "$argon2id$new")
    assert rt.users.bump_cred_version("alice", old.account_id) is False
    assert rt.users.set_disabled(old, True) is False
    assert rt.users.set_roles(old, ("admin",)) is False
    assert rt.users.get("alice") == _user()
    assert rt.users.get_account("alice", old.account_id) is None


def test_a_user_item_without_an_id_or_a_credential_version_is_an_error_not_a_default(rt: Services) -> None:
    table = rt.table(rt.settings.users_table)
    table.put_item(Item={"username": "legacy", "password_hash": "$argon2id$x", "created_at": NOW})
    with pytest.raises(StoreError):
        rt.users.get("legacy")
    table.put_item(
        Item={"username": "legacy", "account_id": _id("legacy"), "password_hash": "h", "created_at": 0}
    )
    with pytest.raises(StoreError):
        rt.users.get("legacy")


def test_the_user_list_never_carries_a_hash(rt: Services) -> None:
    for name in ("carol", "alice", "bob"):
        rt.users.create(_user(name))
    listed = rt.users.list()
    assert sorted(u.username for u in listed) == ["alice", "bob", "carol"]
    assert {u.password_hash for u in listed} == {""}


# -- sessions ------------------------------------------------------------------------------


def test_sessions_are_found_by_user_and_sid_and_end_one_by_one(rt: Services) -> None:
    first, second = _session("alice", NOW * 1000), _session("alice", NOW * 1000 + 5)
    rt.sessions.create(first)
    rt.sessions.create(second)
    rt.sessions.create(_session("bob", NOW * 1000))
    alice, bob = _id("alice"), _id("bob")
    assert rt.sessions.get(alice, first.sid) == first
    assert rt.sessions.get(bob, first.sid) is None  # a sid names a session only with its owner
    assert sorted(k.sid for k in rt.sessions.keys_for(alice)) == sorted([first.sid, second.sid])
    assert rt.sessions.delete(alice, first.sid) is True
    assert rt.sessions.delete(alice, first.sid) is False
    assert [k.sid for k in rt.sessions.keys_for(alice)] == [second.sid]


def test_a_rotation_that_lost_the_race_says_so_and_changes_nothing(rt: Services) -> None:
    session = _session("alice", NOW * 1000)
    rt.sessions.create(session)
    assert rt.sessions.rotate(session, "h2", "box", NOW + 1) is True
    assert rt.sessions.rotate(session, "h3", "box", NOW + 2) is False  # it still believes "h"
    stored = rt.sessions.get(_id("alice"), session.sid)
    assert stored is not None
    assert (stored.refresh_hash, stored.prev_hash) == ("h2", "h")


# -- attempts -------------------------------------------------------------------------------


def test_attempts_count_per_counter_until_the_threshold_then_refuse(rt: Services) -> None:
    rules = rt.lockout
    for count in range(1, rules.threshold + 1):
        assert rt.attempts.count_failure("alice", LOGIN, NOW, rules) == count  # counted, with its count
    refused = rt.attempts.count_failure("alice", LOGIN, NOW, rules)
    assert isinstance(refused, Refused)
    assert refused.retry_after > 0
    assert isinstance(rt.attempts.admit("alice", LOGIN, NOW, rules), Refused)  # a right password too
    assert rt.attempts.count_failure("alice", PASSWORD_CHANGE, NOW, rules) == 1  # its own counter


def test_admitting_a_right_password_counts_nothing(rt: Services) -> None:
    rules = rt.lockout
    for _ in range(rules.threshold * 3):
        assert rt.attempts.admit("alice", LOGIN, NOW, rules) is None
    assert rt.attempts.count_failure("alice", LOGIN, NOW, rules) == 1


def test_a_counter_at_its_hard_cap_admits_nothing_in_any_later_window(rt: Services) -> None:
    rules = replace(rt.lockout, threshold=100, max_consecutive=3)
    for count in range(1, 4):
        assert rt.attempts.count_failure("alice", LOGIN, NOW + count * rules.window_seconds, rules) == 1
    later = NOW + 50 * rules.window_seconds
    assert rt.attempts.count_failure("alice", LOGIN, later, rules) == Refused(rules.max_seconds)
    assert rt.attempts.admit_and_reset("alice", LOGIN, later, rules) == Refused(rules.max_seconds)
    assert rt.attempts.clear("alice") == 1
    assert rt.attempts.count_failure("alice", LOGIN, later, rules) == 1


def test_clearing_a_names_counters_lets_it_in_again(rt: Services) -> None:
    rules = rt.lockout
    for _ in range(rules.threshold + 1):
        rt.attempts.count_failure("alice", LOGIN, NOW, rules)
    assert rt.attempts.clear("alice") == 1
    assert rt.attempts.count_failure("alice", LOGIN, NOW, rules) == 1
