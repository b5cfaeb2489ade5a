"""Password login and password change, each under its own brute-force lockout.

Which counter an attempt is charged to (all live in the attempts table,
keyed by the name as typed, real account or not):

* a password grant with a valid device token of that user: the device's own
  counter, and nothing else: the name's lockout never refuses it;
* a password grant without one (or with one that is not valid for the
  name): the name's counter;
* a password change: the account's own password-change counter, so that a
  stolen access token cannot guess the password without limit, nor lock
  the owner's login by trying.

Every path makes the same DynamoDB requests in the same order whether or
not the account exists (a login reads the user, then counts the attempt; a
password confirmation counts, then reads), then one argon2
verification (against a dummy hash for unknown names), so the answer, its
``Retry-After`` and its timing do not say whether an account exists.
"""

from __future__ import annotations

from dataclasses import replace

from gatehouse.accounts import activity, devices, mfa_login, sessions
from gatehouse.accounts.lockout import Refused
from gatehouse.accounts.mfa_login import MfaRequired
from gatehouse.accounts.passwords import check_password_policy
from gatehouse.accounts.ports import AccountServices
from gatehouse.accounts.usernames import USERNAME_PATTERN, normalize_username
from gatehouse.authorizer.identity import Identity
from gatehouse.errors import InvalidGrant, TooManyAttempts, WrongPassword
from gatehouse.jose.keys import KeySet
from gatehouse.storage.attempts import DEVICE, LOGIN, PASSWORD_CHANGE
from gatehouse.storage.users import User


def password_login(
    rt: AccountServices, raw_username: str, password: str, device: str, device_token: str | None = None
) -> sessions.TokenGrant | MfaRequired:
    """Check the password and open a session; every failure is the same ``InvalidGrant``.

    For an account with a second factor a right password opens nothing: the
    answer is the ``mfa_required`` challenge (:mod:`gatehouse.accounts.mfa_login`),
    unless this device is remembered.

    Unknown, malformed and disabled usernames all run one argon2 verification,
    so the answer and its timing do not say whether an account exists.  The
    grant carries a device token: the one presented, if valid, else a new one.
    """
    username = normalize_username(raw_username)
    user = None
    known_device: str | None = None
    counter = LOGIN
    failures = 0
    if USERNAME_PATTERN.fullmatch(username):
        # Read first: a device token is valid only for the account it was issued to.
        user = rt.users.get(username)
        known_device = devices.device_id(rt, user, device_token) if user and device_token else None
        counter = DEVICE + known_device if known_device else LOGIN
        failures = _count(rt, username, counter)
    check = rt.hasher.check(user.password_hash if user else None, password)
    if user is None or not check.matched or user.disabled:
        # The account's event (or, for a name without one, the same request writing nothing).
        activity.failed_login(rt, user, device, failures)
        raise InvalidGrant()
    new_hash = rt.hasher.hash(password) if check.rehash else None
    if user.has_factor:
        return mfa_login.after_password(rt, user, device, counter, known_device, device_token, new_hash)
    who = activity.Who.of(user)
    event, event_item = activity.login_item(rt, who, device, new_device=known_device is None)
    # The session, the check that the credentials did not change since they
    # were read, the counter reset, the login's event and any hash upgrade are
    # one transaction.
    grant = sessions.open_session(
        rt,
        user,
        device,
        {"counter": rt.attempts.reset_item(username, counter, rt.now(), rt.lockout)},
        new_hash=new_hash,
        event=event_item,
    )
    activity.logged_in(rt, who, event)
    return replace(grant, device_token=device_token if known_device else devices.issue(rt, user))


def _count(rt: AccountServices, username: str, counter: str) -> int:
    """Count this attempt on ``counter`` before any password check, or refuse it in the back-off;
    how many the window has counted."""
    admitted = rt.attempts.reserve(username, counter, rt.now(), rt.lockout)
    if isinstance(admitted, Refused):
        raise TooManyAttempts(admitted.retry_after)
    return admitted


def _admit(rt: AccountServices, identity: Identity) -> User | None:
    """Count this attempt on the password-change counter before any password check, then read
    the caller's account (None when that incarnation is gone, whoever holds its name now)."""
    _count(rt, identity.username, PASSWORD_CHANGE)
    return rt.users.get_account(identity.username, identity.account_id)


def count_attempt(rt: AccountServices, username: str, counter: str) -> int:
    """:func:`_count` for the second factor's codes, which share the password's budgets."""
    return _count(rt, username, counter)


def change_password(rt: AccountServices, identity: Identity, current: str, new: str) -> int:
    """Set a new password and end every session but the caller's; returns how many ended."""
    # Policy first: a rejected new password must not count as a failed attempt.
    check_password_policy(new, identity.username)
    user = confirm_password(rt, identity, current)
    # The new hash and a new credential version in one write: a login that
    # read the old password cannot open a session after this.
    rt.users.set_password_hash(user.username, user.account_id, rt.hasher.hash(new))
    ended = sessions.end_all_sessions(rt, user, keep=identity.session_id, bump=False)
    activity.record(
        rt,
        activity.Who.of(user),
        activity.PASSWORD_CHANGED,
        session=identity.session_id,
        detail=f"{ended} other sessions ended",
        notice=True,
    )
    return ended


def confirm_password(rt: AccountServices, identity: Identity, password: str) -> User:
    """The signed-in user, once ``password`` is confirmed as theirs: before a sensitive change.

    Checked under the same counter as a password change, so a stolen access
    token opens no unlimited password-guessing oracle.
    """
    # A stolen access token must not open an unlimited password-guessing oracle.
    user = _admit(rt, identity)
    if user is None or not rt.hasher.verify(user.password_hash, password):
        raise WrongPassword()
    _confirmed(rt, user.username)
    return user


def _confirmed(rt: AccountServices, username: str) -> None:
    """The right password: the failures counted before it no longer count (as a login resets its own)."""
    rt.attempts.reset(username, PASSWORD_CHANGE, rt.now(), rt.lockout)


def published_keys(keyset: KeySet) -> dict[str, list[dict[str, str]]]:
    """The public keys that verify the tokens login signs, as ``/.well-known/jwks.json`` serves them."""
    return keyset.jwks()
