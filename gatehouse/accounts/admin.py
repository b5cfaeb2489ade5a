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

from gatehouse.accounts import activity, sessions
from gatehouse.accounts.usernames import USERNAME_PATTERN, normalize_username
from gatehouse.errors import LastAdmin, NoSuchUser
from gatehouse.roles import ADMIN
from gatehouse.runtime import Runtime
from gatehouse.storage.users import WitnessGone

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


def set_disabled(rt: Runtime, raw_username: str, disabled: bool, *, actor: str = activity.ADMIN_CLI) -> int:
    """Disable (or re-enable) an account; disabling ends all its sessions.

    Enabling never brings an ended session back: those rows are gone.
    ``actor`` (the admin's name, else the CLI) goes into the account's event.
    """
    username = account_name(raw_username)
    if not disabled:
        if not rt.users.set_disabled(username, False):
            raise NoSuchUser()
        _record(rt, username, activity.ACCOUNT_ENABLED, actor)
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
    ended = sessions.end_all_sessions(rt, username, bump=False)  # the disable bumped it
    _record(rt, username, activity.ACCOUNT_DISABLED, actor, f"{ended} sessions ended")
    return ended


def set_roles(
    rt: Runtime,
    username: str,
    roles: tuple[str, ...],
    *,
    was_active_admin: bool,
    actor: str = activity.ADMIN_CLI,
) -> bool:
    """Replace ``username``'s roles; False when there is no such user."""
    demoting = was_active_admin and ADMIN not in roles
    changed = _keeping_an_admin(
        rt, username, demoting, lambda witness: rt.users.set_roles(username, roles, witness=witness)
    )
    if changed:
        _record(rt, username, activity.ROLES_CHANGED, actor, ",".join(sorted(roles)) or "none")
    return changed


def _record(rt: Runtime, username: str, kind: str, actor: str, detail: str = "") -> None:
    activity.record(
        rt, activity.Who(activity.account_key(username), username), kind, actor=actor, detail=detail
    )


def _keeping_an_admin(
    rt: Runtime, username: str, removes_an_admin: bool, change: Callable[[str | None], bool]
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


def unlock(rt: Runtime, raw_username: str, *, actor: str = activity.ADMIN_CLI) -> int:
    """Clear every lockout counter of an existing account (the name's, its devices', its
    password change's); returns how many there were."""
    username = account_name(raw_username)
    if rt.users.get(username) is None:
        raise NoSuchUser()
    cleared = rt.attempts.clear(username)
    _record(rt, username, activity.ACCOUNT_UNLOCKED, actor, f"{cleared} counters cleared")
    return cleared
