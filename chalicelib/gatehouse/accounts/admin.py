"""What an administrator may do to an account: disable it (ending its sessions) or enable it."""

from __future__ import annotations

from chalicelib.gatehouse.accounts import sessions
from chalicelib.gatehouse.accounts.usernames import normalize_username
from chalicelib.gatehouse.errors import NoSuchUser
from chalicelib.gatehouse.runtime import Runtime


def set_disabled(rt: Runtime, raw_username: str, disabled: bool) -> int:
    """Disable (or re-enable) an account; disabling ends all its sessions."""
    username = normalize_username(raw_username)
    if not rt.users.set_disabled(username, disabled):
        raise NoSuchUser()
    return sessions.end_all_sessions(rt, username) if disabled else 0
