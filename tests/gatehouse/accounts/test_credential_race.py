"""Ending sessions is final for every login that began before it, concurrent ones included.

A login reads the user (hash, ``disabled``, credential version), spends
argon2 time, then writes its session.  A password change, a disable or "end
every session" landing in that gap used to miss the session written after
it.  Here logins are held inside their password check while the change
happens (deterministic), and a storm of logins runs across it (the issue's
shape), against moto with DynamoDB's per-item atomicity
(``atomic_conditional_writes``).  Afterwards no session opened with the old
credentials refreshes, and no access token of one passes the authorizer.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from gatehouse.accounts import admin, login, sessions
from gatehouse.authorizer.bearer import Unauthorized
from gatehouse.authorizer.identity import Identity
from gatehouse.errors import InvalidGrant
from gatehouse.services import Services
from tests.conftest import Credentials, FakeClock
from tests.gatehouse.authorizer import local as authorizer_local

NEW_PASSWORD = "Brand-new-Pass-77"
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc/api/GET/me"


@pytest.fixture
def rt(make_runtime: Callable[..., Services], atomic_conditional_writes: None) -> Services:
    # Cheap hashing: the race is in the storage, not in argon2.
    return make_runtime(argon2_time_cost=1, argon2_memory_kib=64, lockout_threshold=100)


def identity_of(grant: sessions.TokenGrant, username: str) -> Identity:
    account_id, rest = grant.refresh_token.split("~", 1)
    sid = rest.split(".", 1)[0]
    return Identity(account_id=account_id, username=username, roles=("user",), session_id=sid, token_id="t")


def authorizer_allows(access_token: str) -> bool:
    event = {"type": "TOKEN", "authorizationToken": f"Bearer {access_token}", "methodArn": METHOD_ARN}
    try:
        authorizer_local.gatehouse_auth(event)
    except Unauthorized:
        return False
    return True


def refresh_works(rt: Services, grant: sessions.TokenGrant) -> bool:
    try:
        sessions.refresh(rt, grant.refresh_token)
    except InvalidGrant:
        return False
    return True


def usable(rt: Services, clock: FakeClock, grants: list[sessions.TokenGrant]) -> list[str]:
    """What still works of ``grants`` once the authorizer's cache bound has passed."""
    clock.advance(rt.settings.session_cache_seconds)
    alive = [f"access {i}" for i, g in enumerate(grants) if authorizer_allows(g.access_token)]
    return alive + [f"refresh {i}" for i, g in enumerate(grants) if refresh_works(rt, g)]


class HeldLogins:
    """``count`` logins with a password, each held right after its password check until released."""

    def __init__(self, rt: Services, monkeypatch: pytest.MonkeyPatch, creds: Credentials, count: int) -> None:
        self.grants: list[sessions.TokenGrant] = []
        self.refused: list[Exception] = []
        self.inside = threading.Semaphore(0)
        self.release = threading.Event()
        original = rt.hasher.check

        def held_check(stored: str | None, password: str) -> Any:
            result = original(stored, password)
            if threading.current_thread() in self.threads:  # never the owner's own check
                self.inside.release()
                self.release.wait(timeout=30)
            return result

        monkeypatch.setattr(rt.hasher, "check", held_check)

        def one() -> None:
            try:
                self.grants.append(login.password_login(rt, creds.username, creds.password, "attacker"))
            except InvalidGrant as error:
                self.refused.append(error)

        self.threads = [threading.Thread(target=one) for _ in range(count)]
        for thread in self.threads:
            thread.start()
        for _ in range(count):  # every one has read the old credentials and checked them
            assert self.inside.acquire(timeout=30)

    def finish(self) -> None:
        self.release.set()
        for thread in self.threads:
            thread.join(timeout=30)


def test_a_login_that_read_the_old_password_fails_its_write_after_a_password_change(
    rt: Services, clock: FakeClock, make_user: Callable[..., Credentials], monkeypatch: pytest.MonkeyPatch
) -> None:
    creds = make_user()
    owner = login.password_login(rt, creds.username, creds.password, "owner")
    held = HeldLogins(rt, monkeypatch, creds, count=6)
    login.change_password(rt, identity_of(owner, creds.username), creds.password, NEW_PASSWORD)
    held.finish()
    assert (len(held.grants), len(held.refused)) == (0, 6)
    assert refresh_works(rt, owner)  # the owner's own session stays


def test_a_login_that_read_the_user_before_a_disable_opens_no_session_even_after_enable(
    rt: Services, clock: FakeClock, make_user: Callable[..., Credentials], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_user(roles=("admin",))
    creds = make_user()
    before = login.password_login(rt, creds.username, creds.password, "earlier")
    held = HeldLogins(rt, monkeypatch, creds, count=6)
    admin.set_disabled(rt, creds.username, True)
    held.finish()
    assert (len(held.grants), len(held.refused)) == (0, 6)
    admin.set_disabled(rt, creds.username, False)
    assert usable(rt, clock, [before]) == []  # enabling revives nothing


def test_a_login_that_read_the_user_before_end_all_sessions_opens_no_session(
    rt: Services, clock: FakeClock, make_user: Callable[..., Credentials], monkeypatch: pytest.MonkeyPatch
) -> None:
    creds = make_user()
    held = HeldLogins(rt, monkeypatch, creds, count=4)
    sessions.end_all_sessions(rt, rt.users.get(creds.username))
    held.finish()
    assert (len(held.grants), len(held.refused)) == (0, 4)


def _storm(rt: Services, creds: Credentials, change: Callable[[], object]) -> list[sessions.TokenGrant]:
    """Six threads log in with the old password over and over while ``change`` happens."""
    grants: list[sessions.TokenGrant] = []
    stop = threading.Event()

    def keep_logging_in() -> None:
        while not stop.is_set():
            with contextlib.suppress(InvalidGrant):
                grants.append(login.password_login(rt, creds.username, creds.password, "attacker"))

    threads = [threading.Thread(target=keep_logging_in) for _ in range(6)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    while len(grants) < 6 and time.monotonic() < deadline:  # a few logins land before the change
        time.sleep(0.01)
    change()
    time.sleep(0.3)  # logins keep starting, with the old password, after the change
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert len(grants) >= 6
    return grants


def test_no_session_of_a_login_storm_survives_a_password_change(
    rt: Services, clock: FakeClock, make_user: Callable[..., Credentials]
) -> None:
    creds = make_user()
    owner = login.password_login(rt, creds.username, creds.password, "owner")
    grants = _storm(
        rt,
        creds,
        lambda: login.change_password(rt, identity_of(owner, creds.username), creds.password, NEW_PASSWORD),
    )
    assert usable(rt, clock, grants) == []
    assert refresh_works(rt, owner)


def test_no_session_of_a_login_storm_survives_a_disable(
    rt: Services, clock: FakeClock, make_user: Callable[..., Credentials]
) -> None:
    make_user(roles=("admin",))
    creds = make_user()
    grants = _storm(rt, creds, lambda: admin.set_disabled(rt, creds.username, True))
    admin.set_disabled(rt, creds.username, False)
    assert usable(rt, clock, grants) == []
