"""Deleting an account: its identity rows, its sessions, then the application's own data.

The user item and its email claim go in one transaction (with, for an active
admin, the check that another active admin remains: see
:mod:`gatehouse.accounts.admin`); then every session ends (refresh tokens at
once, access tokens at the authorizer within the documented bound), and the
lockout counters of the name go.  Last, the application's hooks
(``gate.on_account_deleted``) run with the account's id to remove its own data.

Hooks run at least once: each is called, and called again (up to
:data:`HOOK_ATTEMPTS` times in all) while it raises, so it must be
idempotent.  A hook that still fails is logged (``account_deleted_hook``,
with the hook's name and the error's type) and the deletion still succeeds:
the account is gone and cannot be brought back for a retry, so the operator
re-runs the cleanup from the log line.

Its security events stay, under the account id only, until their retention
ends (``GATEHOUSE_EVENT_RETENTION_DAYS``): the last is ``account_deleted``,
and the owner is mailed a notice at the verified address.  No later account
of the same name can read them (a new account gets a new id); an operator
can, by the id the ``account_deleted`` log line names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gatehouse import logs
from gatehouse.accounts import activity, admin, login, sessions
from gatehouse.accounts.ports import AccountServices
from gatehouse.authorizer.identity import Identity
from gatehouse.errors import Conflict, NoSuchUser
from gatehouse.storage.users import User, WitnessGone

Hook = Callable[[str], object]
HOOK_ATTEMPTS = 3


@dataclass(frozen=True)
class Deleted:
    username: str
    account_id: str
    sessions_ended: int
    hooks_failed: int


def delete_own_account(
    rt: AccountServices, identity: Identity, current_password: str, hooks: Sequence[Hook]
) -> Deleted:
    """The caller's own account, once its current password is confirmed (under the lockout)."""
    user = login.confirm_password(rt, identity, current_password)
    return _delete(rt, user, hooks, actor="", session=identity.session_id)


def delete_user(
    rt: AccountServices, raw_username: str, hooks: Sequence[Hook], *, actor: str = activity.ADMIN_CLI
) -> Deleted:
    """Any account (the admin CLI), the last active admin excepted."""
    user = rt.users.get(admin.account_name(raw_username))
    if user is None:
        raise NoSuchUser()
    return _delete(rt, user, hooks, actor=actor)


def _delete(
    rt: AccountServices, user: User, hooks: Sequence[Hook], *, actor: str, session: str = ""
) -> Deleted:
    contact = rt.account_email.contact(user.username, user.account_id)
    email = contact.email if contact else None
    claim = rt.account_email.claim_removal(email, user.account_id) if email else None

    def remove(witness: str | None) -> bool:
        failed = rt.users.delete(user, email, claim, witness=witness)
        if "user" in failed:
            return False
        if failed & {"also", "skeleton"}:  # its email or skeleton claim changed meanwhile
            raise Conflict("The account changed meanwhile; try again.")
        if "witness" in failed:
            raise WitnessGone()
        return True

    # The user item first: a login or refresh that read it before now fails
    # its own conditional write, so no session can be opened after this.
    if not admin.keeping_an_admin(rt, user, remove):
        raise NoSuchUser()
    ended = sessions.end_all_sessions(rt, user, bump=False)  # the row is gone: nothing to bump
    rt.attempts.clear(user.username)  # the name's lockout counters: nothing of the account stays
    # The account's events stay under its id until they expire (the last one is this), and
    # the owner hears of it at the address the account had, if it was verified.
    verified = contact.email if contact is not None and contact.verified else ""
    who = activity.Who(user.account_id, user.username, verified)
    activity.record(rt, who, activity.ACCOUNT_DELETED, actor=actor, session=session, notice=True)
    logs.event("account_deleted", user=user.username, account=user.account_id)
    failed = sum(not run_hook(hook, user.account_id) for hook in hooks)
    return Deleted(user.username, user.account_id, ended, failed)


def run_hook(hook: Hook, account_id: str) -> bool:
    name = getattr(hook, "__qualname__", type(hook).__name__)
    for attempt in range(1, HOOK_ATTEMPTS + 1):
        try:
            hook(account_id)
        except Exception as error:  # the app's code: any failure is logged, never the answer
            logs.event(
                "account_deleted_hook",
                account=account_id,
                hook=name,
                attempt=attempt,
                outcome="failed",
                error=type(error).__name__,
            )
            continue
        return True
    return False
