"""Password login and password change, both under the brute-force lockout."""

from __future__ import annotations

from chalicelib.gatehouse.accounts import sessions
from chalicelib.gatehouse.accounts.lockout import Refused
from chalicelib.gatehouse.accounts.passwords import check_password_policy
from chalicelib.gatehouse.accounts.usernames import USERNAME_PATTERN, normalize_username
from chalicelib.gatehouse.errors import InvalidGrant, TooManyAttempts, WrongPassword
from chalicelib.gatehouse.runtime import Runtime
from chalicelib.gatehouse.storage.users import User
from chalicelib.gatehouse.verify.identity import Identity


def password_login(rt: Runtime, raw_username: str, password: str, device: str) -> sessions.TokenGrant:
    """Check the password and open a session; every failure is the same ``InvalidGrant``.

    Unknown, malformed and disabled usernames all run one argon2 verification,
    so the answer and its timing do not say whether an account exists.
    """
    username = normalize_username(raw_username)
    user = _admit(rt, username, rt.now()) if USERNAME_PATTERN.fullmatch(username) else None
    matched = rt.hasher.verify(user.password_hash if user else None, password)
    if user is None or not matched or user.disabled:
        if user is not None:
            # Both failure paths make two DynamoDB requests, so their timing matches too.
            rt.users.record_failure(username, rt.now())
        raise InvalidGrant()
    new_hash = rt.hasher.hash(password) if rt.hasher.needs_rehash(user.password_hash) else None
    # The session write, the attempt-count reset and any hash upgrade are one
    # transaction: a successful login is exactly two DynamoDB requests.
    return sessions.open_session(
        rt, user, device, together_with=[rt.users.login_succeeded(username, new_hash)]
    )


def _admit(rt: Runtime, username: str, now: int) -> User | None:
    """Count this attempt against the account, or the unknown name, before any password check."""
    reserved = rt.users.reserve_login(username, now, rt.lockout)
    if isinstance(reserved, Refused):
        raise TooManyAttempts(reserved.retry_after)
    if reserved is None:
        refused = rt.attempts.reserve(username, now, rt.lockout)
        if refused is not None:
            raise TooManyAttempts(refused.retry_after)
    return reserved


def change_password(rt: Runtime, identity: Identity, current: str, new: str) -> int:
    """Set a new password and end every session but the caller's; returns how many ended."""
    # Policy first: a rejected new password must not count as a failed attempt.
    check_password_policy(new, identity.username)
    # A stolen access token must not open an unlimited password-guessing
    # oracle: the current password is checked under the login lockout.
    now = rt.now()
    user = _admit(rt, identity.username, now)
    if user is None or not rt.hasher.verify(user.password_hash, current):
        if user is not None:
            rt.users.record_failure(user.username, now)
        raise WrongPassword()
    rt.users.set_password_hash(user.username, rt.hasher.hash(new))
    return sessions.end_all_sessions(rt, user.username, keep=identity.session_id)


def confirm_password(rt: Runtime, username: str, password: str) -> User:
    """The signed-in user, once ``password`` is confirmed as theirs: before a sensitive change.

    Checked under the login lockout, exactly like a password change, so a
    stolen access token opens no unlimited password-guessing oracle.
    """
    now = rt.now()
    user = _admit(rt, username, now)
    if user is None or not rt.hasher.verify(user.password_hash, password):
        if user is not None:
            rt.users.record_failure(user.username, now)
        raise WrongPassword()
    return user
