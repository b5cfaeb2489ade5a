"""What an administrator may do to an account: disable it (ending its sessions), enable it,
change its roles (removing one ends its sessions), clear its lockout counters.

The HTTP admin routes and the admin CLI both call these functions, so each
rule has this one home.

The last active admin can be neither deleted, disabled nor demoted
(``LastAdmin``): nobody could then administer the service except through the
AWS account.  The rule holds under any interleaving, in DynamoDB itself:
every change that could end an active admin is one transaction that either
checks that another active admin (the "witness") still is one, or, for a user
read as no active admin, holds only while it still is none (a promotion or an
enable in between makes it take a witness after all).  So a change can end an
active admin only while another one exists at that same instant, and two
admins removing each other at once cannot both succeed (see
:func:`keeping_an_admin`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gatehouse.accounts import activity, sessions
from gatehouse.accounts.paging import checked_cursor
from gatehouse.accounts.ports import AccountServices
from gatehouse.accounts.usernames import USERNAME_PATTERN, account_name
from gatehouse.errors import InvalidRequest, LastAdmin, NoSuchUser
from gatehouse.roles import ADMIN, is_valid_role
from gatehouse.storage.users import NowAnAdmin, User, UserRepository, WitnessGone

# Witnesses tried before giving up: each retry means another admin was removed meanwhile.
MAX_WITNESSES = 3

__all__ = ["account_name", "keeping_an_admin", "list_users", "set_disabled", "set_roles", "unlock"]


def is_active_admin(user: User) -> bool:
    return ADMIN in user.roles and not user.disabled


def keeping_an_admin(
    rt: AccountServices,
    user: User,
    change: Callable[[str | None], bool],
    *,
    removes_an_admin: bool | None = None,
) -> bool:
    """Apply ``change`` (which takes a witness, or None) unless it would leave no active admin.

    ``change`` must make its write and the check that the witness is still an
    active admin one transaction, raising :class:`WitnessGone` when that check
    fails; without a witness its write must hold only while the user is no
    active admin, raising :class:`NowAnAdmin` otherwise (the storage layer's
    changes do both); it returns False when the user itself is gone.
    ``removes_an_admin`` defaults to "the user is an active admin" as read (a
    deletion or a disable); the read may be stale, the write's condition is not.
    """
    if removes_an_admin is None:
        removes_an_admin = is_active_admin(user)
    if not removes_an_admin:
        try:
            return change(None)  # DynamoDB checks that the user is still no active admin
        except NowAnAdmin:
            pass  # promoted or enabled since it was read: a witness is needed after all
    for _ in range(MAX_WITNESSES):
        others = [name for name in rt.users.active_admins() if name != user.username]
        if not others:
            break
        try:
            return change(others[0])
        except WitnessGone:
            continue
    raise LastAdmin()


def _existing(rt: AccountServices, raw_username: str) -> User:
    user = rt.users.get(account_name(raw_username))
    if user is None:
        raise NoSuchUser()
    return user


def set_disabled(
    rt: AccountServices, raw_username: str, disabled: bool, *, actor: str = activity.ADMIN_CLI
) -> int:
    """Disable (or re-enable) an account; disabling ends all its sessions.

    Enabling never brings an ended session back: those rows are gone.
    ``actor`` (the admin's name, else the CLI) goes into the account's event.
    """
    user = _existing(rt, raw_username)
    if not disabled:
        if not rt.users.set_disabled(user, False):
            raise NoSuchUser()
        activity.record(rt, activity.Who.of(user), activity.ACCOUNT_ENABLED, actor=actor)
        return 0
    if not keeping_an_admin(rt, user, lambda witness: rt.users.set_disabled(user, True, witness=witness)):
        raise NoSuchUser()
    ended = sessions.end_all_sessions(rt, user, bump=False)  # the disable bumped it
    detail = f"{ended} sessions ended"
    activity.record(rt, activity.Who.of(user), activity.ACCOUNT_DISABLED, actor=actor, detail=detail)
    return ended


def check_roles(raw: list[str]) -> tuple[str, ...]:
    """Roles travel in the token and, comma-joined, in the authorizer context."""
    roles = tuple(sorted({r.strip() for r in raw if r.strip()}))
    for role in roles:
        if not is_valid_role(role):
            raise InvalidRequest(f"Role {role!r} is not valid: at most 64 printable characters, no comma.")
    return roles


@dataclass(frozen=True)
class RolesChanged:
    before: tuple[str, ...]
    after: tuple[str, ...]
    sessions_ended: int


def set_roles(
    rt: AccountServices, raw_username: str, raw_roles: list[str], *, actor: str = activity.ADMIN_CLI
) -> RolesChanged:
    """Replace a user's roles; taking a role away also ends the user's sessions.

    An access token carries the roles it was issued with, so a removed role
    would keep working until the token expires.  Ending the sessions makes
    the authorizer's session check refuse those tokens now.  An added role
    arrives with the next token (refresh reads the user again).
    """
    wanted = check_roles(raw_roles)
    user = _existing(rt, raw_username)
    demoting = is_active_admin(user) and ADMIN not in wanted
    changed = keeping_an_admin(
        rt,
        user,
        lambda witness: rt.users.set_roles(user, wanted, witness=witness),
        removes_an_admin=demoting,
    )
    if not changed:
        raise NoSuchUser()
    ended = 0
    if set(user.roles) - set(wanted):
        ended = sessions.end_all_sessions(rt, user)
    detail = ",".join(wanted) or "none"
    activity.record(rt, activity.Who.of(user), activity.ROLES_CHANGED, actor=actor, detail=detail)
    return RolesChanged(user.roles, wanted, ended)


def unlock(rt: AccountServices, raw_username: str, *, actor: str = activity.ADMIN_CLI) -> int:
    """Clear every lockout counter of an existing account (the name's, its devices', its
    password change's); returns how many there were."""
    user = _existing(rt, raw_username)
    cleared = rt.attempts.clear(user.username)
    detail = f"{cleared} counters cleared"
    activity.record(rt, activity.Who.of(user), activity.ACCOUNT_UNLOCKED, actor=actor, detail=detail)
    return cleared


def list_users(
    users: UserRepository, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of accounts as an admin sees them (never a hash), and the cursor of the next.

    A cursor is a username from an earlier page: anything else is refused
    before it reaches the table as a key.
    """
    cursor = checked_cursor(cursor, USERNAME_PATTERN)
    page, following = users.list_page(limit, cursor)
    return [u.public() for u in page], following
