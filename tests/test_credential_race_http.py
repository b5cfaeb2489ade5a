"""The credential-change race over real HTTP, against the embedded stack of ``make run``.

Threads keep logging in with the old password while the owner changes it (or
an admin disables the account).  Afterwards no session opened by those logins
may be used: no refresh succeeds and no access token passes the authorizer.
The embedded DynamoDB has DynamoDB's per-item atomicity, so this exercises
Gatehouse's guarantee, not a gap of the emulator.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.live_stack import ADMIN_PASSWORD, LiveStack, live_stack

pytestmark = pytest.mark.e2e
OLD = "Harbor-Quiet-Lantern-31"
NEW = "Orchid-Canyon-31-harbor"
STORM_SECONDS = 1.5


@pytest.fixture(scope="module")
def stack() -> Iterator[LiveStack]:
    # No session cache in the authorizer: a token of an ended session is refused at once.
    with live_stack({"GATEHOUSE_SESSION_CACHE_SECONDS": "0", "GATEHOUSE_AUTHORIZER_TTL": "0"}) as running:
        yield running


def _login(stack: LiveStack, username: str, password: str, device_token: str | None = None) -> Any:
    body = {"grant_type": "password", "username": username, "password": password}
    if device_token is not None:
        body["device_token"] = device_token
    status, _, answer = stack.call("POST", "/auth/token", body)
    return answer if status == 200 else None


def _storm(stack: LiveStack, username: str, change: Any) -> list[dict[str, Any]]:
    """Log in with the old password from four threads while ``change()`` runs midway."""
    grants: list[dict[str, Any]] = []
    stop = threading.Event()

    def keep_logging_in() -> None:
        while not stop.is_set():
            grant = _login(stack, username, OLD)
            if grant is not None:
                grants.append(grant)

    threads = [threading.Thread(target=keep_logging_in) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(STORM_SECONDS / 2)
        change()
        time.sleep(STORM_SECONDS / 2)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    return grants


def _usable(stack: LiveStack, grant: dict[str, Any]) -> list[str]:
    """What still works with one grant of the storm."""
    works = []
    status, _, _ = stack.call("GET", "/me", headers={"Authorization": f"Bearer {grant['access_token']}"})
    if status == 200:
        works.append("access token")
    body = {"grant_type": "refresh_token", "refresh_token": grant["refresh_token"]}
    status, _, _ = stack.call("POST", "/auth/token", body)
    if status == 200:
        works.append("refresh token")
    return works


def _new_user(stack: LiveStack, name: str) -> None:
    status, _, answer = stack.call("POST", "/auth/register", {"username": name, "password": OLD})
    assert status == 201, answer


def test_no_session_opened_with_the_old_password_survives_a_password_change(stack: LiveStack) -> None:
    _new_user(stack, "racer-one")
    owner = _login(stack, "racer-one", OLD)
    assert owner is not None

    def change_password() -> None:
        headers = {"Authorization": f"Bearer {owner['access_token']}"}
        body = {"current_password": OLD, "new_password": NEW}
        status, _, answer = stack.call("POST", "/auth/password", body, headers)
        assert status == 204, answer

    grants = _storm(stack, "racer-one", change_password)
    assert grants, "the storm opened no session at all: nothing was tested"
    assert [works for grant in grants if (works := _usable(stack, grant))] == []
    # The storm's failures after the change locked the name, and every device token issued before
    # the change died with the old password (the storm's and the owner's alike): none exempts now.
    assert _login(stack, "racer-one", NEW, owner["device_token"]) is None


def test_no_session_opened_before_a_disable_survives_it_nor_comes_back_on_enable(stack: LiveStack) -> None:
    _new_user(stack, "racer-two")
    admin = _login(stack, "admin", ADMIN_PASSWORD)
    assert admin is not None
    headers = {"Authorization": f"Bearer {admin['access_token']}"}

    def disable() -> None:
        status, _, answer = stack.call("POST", "/admin/users/racer-two/disable", headers=headers)
        assert status == 204, answer

    grants = _storm(stack, "racer-two", disable)
    assert grants, "the storm opened no session at all: nothing was tested"
    status, _, _ = stack.call("POST", "/admin/users/racer-two/enable", headers=headers)
    assert status == 204
    assert [works for grant in grants if (works := _usable(stack, grant))] == []
