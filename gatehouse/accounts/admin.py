"""What an administrator may do to an account: disable it (ending its sessions), enable it,
change its roles, clear its lockout counters.

The last active admin can be neither disabled nor demoted (``LastAdmin``):
nobody could then administer the service except through the AWS account.
The rule holds under concurrency: each such change is one transaction that
also checks that another active admin (the "witness") still is one, so two
admins disabling each other at the same moment cannot both succeed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gatehouse.accounts import sessions
from gatehouse.accounts.ports import AccountServices
from gatehouse.accounts.usernames import USERNAME_PATTERN, normalize_username
from gatehouse.errors import InvalidRequest, LastAdmin, NoSuchUser
from gatehouse.roles import ADMIN
from gatehouse.storage.users import UserRepository, WitnessGone

# Witnesses tried before giving up: each retry means another admin was demoted meanwhile.
MAX_WITNESSES = 3


def account_name(raw_username: str) -> str:
    """The canonical name of an account ``raw_username`` may name, else ``NoSuchUser``.

    A name no account can have is never sent to DynamoDB (an empty or an
    overlong key is the store's error, and would be a 500).
    """
    username = normalize_username(raw_username)
    if not USERNAME_PATTERN.fullmatch(username):
        raise NoSuchUser()
    return username


def set_disabled(rt: AccountServices, raw_username: str, disabled: bool) -> int:
    """Disable (or re-enable) an account; disabling ends all its sessions.

    Enabling never brings an ended session back: those rows are gone.
    """
    username = account_name(raw_username)
    if not disabled:
        if not rt.users.set_disabled(username, False):
            raise NoSuchUser()
        return 0
    user = rt.users.get(username)
    if user is None:
        raise NoSuchUser()
    changed = _keeping_an_admin(
        rt,
        username,
        ADMIN in user.roles and not user.disabled,
        lambda witness: rt.users.set_disabled(username, True, witness=witness),
    )
    if not changed:
        raise NoSuchUser()
    return sessions.end_all_sessions(rt, username, bump=False)  # the disable bumped it


def set_roles(rt: AccountServices, username: str, roles: tuple[str, ...], *, was_active_admin: bool) -> bool:
    """Replace ``username``'s roles; False when there is no such user."""
    demoting = was_active_admin and ADMIN not in roles
    return _keeping_an_admin(
        rt, username, demoting, lambda witness: rt.users.set_roles(username, roles, witness=witness)
    )


def _keeping_an_admin(
    rt: AccountServices, username: str, removes_an_admin: bool, change: Callable[[str | None], bool]
) -> bool:
    if not removes_an_admin:
        return change(None)
    for _ in range(MAX_WITNESSES):
        others = [name for name in rt.users.active_admins() if name != username]
        if not others:
            break
        try:
            return change(others[0])
        except WitnessGone:
            continue
    raise LastAdmin()


def unlock(rt: AccountServices, raw_username: str) -> int:
    """Clear every lockout counter of an existing account (the name's, its devices', its
    password change's); returns how many there were."""
    username = account_name(raw_username)
    if rt.users.get(username) is None:
        raise NoSuchUser()
    return rt.attempts.clear(username)


def list_users(
    users: UserRepository, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of accounts as an admin sees them (never a hash), and the cursor of the next.

    A cursor is a username from an earlier page: anything else is refused
    before it reaches the table as a key.
    """
    if cursor is not None and not USERNAME_PATTERN.fullmatch(cursor):
        raise InvalidRequest("cursor is not valid: use the one from the Link header.")
    page, following = users.list_page(limit, cursor)
    return [u.public() for u in page], following
