"""Deleting an account: its identity rows, its sessions, then the application's own data.

Its security events stay, under the account id only, until their retention
ends (``GATEHOUSE_EVENT_RETENTION_DAYS``): the last is ``account_deleted``,
and the owner is mailed a notice at the verified address.  No later account
of the same name can read them (a new account gets a new id); an operator
can, by the id the ``account_deleted`` log line names.

The user item, its email claim and its attempt row go in one transaction;
then every session ends (refresh tokens at once, access tokens at the
authorizer within the documented bound).  Last, the application's hooks
(``gate.on_account_deleted``) run with the username to remove its own data.

Hooks run at least once: each is called, and called again (up to
:data:`HOOK_ATTEMPTS` times in all) while it raises, so it must be
idempotent.  A hook that still fails is logged (``account_deleted_hook``,
with the hook's name and the error's type) and the deletion still succeeds:
the account is gone and cannot be brought back for a retry, so the operator
re-runs the cleanup from the log line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gatehouse import logs
from gatehouse.accounts import activity, login, sessions
from gatehouse.accounts.usernames import USERNAME_PATTERN, normalize_username
from gatehouse.errors import LastAdmin, NoSuchUser
from gatehouse.roles import ADMIN
from gatehouse.runtime import Runtime
from gatehouse.storage.users import User
from gatehouse.verify.identity import Identity

Hook = Callable[[str], object]
HOOK_ATTEMPTS = 3


@dataclass(frozen=True)
class Deleted:
    username: str
    sessions_ended: int
    hooks_failed: int


def delete_own_account(
    rt: Runtime, identity: Identity, current_password: str, hooks: Sequence[Hook]
) -> Deleted:
    """The caller's own account, once its current password is confirmed (under the lockout)."""
    user = login.confirm_password(rt, identity.username, current_password)
    return _delete(rt, user, hooks, actor="", session=identity.session_id)


def delete_user(
    rt: Runtime, raw_username: str, hooks: Sequence[Hook], *, actor: str = activity.ADMIN_CLI
) -> Deleted:
    """Any account (the admin CLI), the last active admin excepted."""
    username = normalize_username(raw_username)
    user = rt.users.get(username) if USERNAME_PATTERN.fullmatch(username) else None
    if user is None:
        raise NoSuchUser()
    return _delete(rt, user, hooks, actor=actor)


def ensure_not_last_admin(rt: Runtime, user: User) -> None:
    """Refuse a change that would leave no active admin (nobody could manage users any more)."""
    if ADMIN not in user.roles or user.disabled:
        return
    others = [
        u for u in rt.users.list() if ADMIN in u.roles and not u.disabled and u.username != user.username
    ]
    if not others:
        raise LastAdmin()


def _delete(rt: Runtime, user: User, hooks: Sequence[Hook], *, actor: str, session: str = "") -> Deleted:
    ensure_not_last_admin(rt, user)
    contact = rt.account_email.contact(user.username)
    # The user item first: a login or refresh that read it before now fails
    # its own conditional write, so no session can be opened after this.
    rt.account_email.delete_account(user.username, contact.email if contact else None)
    ended = sessions.end_all_sessions(rt, user.username)
    rt.attempts.clear(user.username)  # its lockout counters: nothing of the account stays
    who = activity.Who(
        activity.account_key(user.username),
        user.username,
        contact.email if contact is not None and contact.verified else "",
    )
    # The account's events stay under its id until they expire (the last one is this).
    activity.record(rt, who, activity.ACCOUNT_DELETED, actor=actor, session=session, notice=True)
    logs.event("account_deleted", user=user.username, account=who.account)
    failed = sum(not run_hook(hook, user.username) for hook in hooks)
    return Deleted(user.username, ended, failed)


def run_hook(hook: Hook, username: str) -> bool:
    name = getattr(hook, "__qualname__", type(hook).__name__)
    for attempt in range(1, HOOK_ATTEMPTS + 1):
        try:
            hook(username)
        except Exception as error:  # the app's code: any failure is logged, never the answer
            logs.event(
                "account_deleted_hook",
                user=username,
                hook=name,
                attempt=attempt,
                outcome="failed",
                error=type(error).__name__,
            )
            continue
        return True
    return False
