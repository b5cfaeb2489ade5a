"""Password login and password change, each under its own brute-force lockout.

Which counter an attempt is charged to (all live in the attempts table,
keyed by the name as typed, real account or not; the rules are in
:mod:`gatehouse.storage.attempts`):

* a password grant with a valid device token of that user: the account's
  one device budget, shared by all of its device tokens (so collecting tokens
  multiplies nothing), and nothing else: the name's lockout never refuses it;
* a password grant without one (or with one that is not valid for the
  name): the name's counter;
* a password change: the account's own password-change counter, so that a
  stolen access token cannot guess the password without limit, nor lock
  the owner's login by trying.

The password is checked first and the attempt settled after, with one
conditional write whose condition is the admission rule: a wrong password
is counted, a right one only checked against the rule.  So parallel logins
with the right password never count against each other, and concurrent
wrong guesses still cannot slip past the back-off (DynamoDB evaluates the
rule on each write; a refused guess is answered 429, whatever the password
was, so it tells nothing).

Every path makes the same DynamoDB requests in the same order whether or
not the account exists and whether or not the password is right up to the
admission (read the user, one argon2 verification, against a dummy hash for
unknown names, then the one conditional write), so the answer, its
``Retry-After`` and its timing do not say whether an account exists.
"""

from __future__ import annotations

from dataclasses import replace

from gatehouse.accounts import activity, devices, mfa_login, sessions
from gatehouse.accounts.mfa_login import MfaRequired
from gatehouse.accounts.passwords import check_password_policy
from gatehouse.accounts.ports import AccountServices
from gatehouse.accounts.usernames import USERNAME_PATTERN, normalize_username
from gatehouse.authorizer.identity import Identity
from gatehouse.errors import InvalidGrant, TooManyAttempts, WrongPassword
from gatehouse.jose.keys import KeySet
from gatehouse.storage.attempts import LOGIN, PASSWORD_CHANGE, Refused, devices_counter
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
    well_formed = USERNAME_PATTERN.fullmatch(username) is not None
    user = None
    known_device = False
    counter = LOGIN
    if well_formed:
        # Read first: a device token is valid only for the account it was issued to.
        user = rt.users.get(username)
        known_device = bool(user and device_token and devices.device_id(rt, user, device_token))
        if user is not None and known_device:
            counter = devices_counter(user.account_id, user.cred_version)
    check = rt.hasher.check(user.password_hash if user else None, password)
    right = user is not None and check.matched and not user.disabled
    failures = 0
    if well_formed:
        failures = _settle(rt, username, counter, right)
    if user is None or not right:
        # The account's event (or, for a name without one, the same request writing nothing).
        activity.failed_login(rt, user, device, failures)
        raise InvalidGrant()
    new_hash = rt.hasher.hash(password) if check.rehash else None
    if user.has_factor:
        known = device_token if known_device else None
        return mfa_login.after_password(rt, user, device, counter, known, new_hash)
    who = activity.Who.of(user)
    event, event_item = activity.login_item(rt, who, device, new_device=not known_device)
    # The session, the check that the credentials did not change since they
    # were read, the counter reset, the login's event and any hash upgrade are
    # one transaction.
    grant = sessions.open_session(
        rt,
        user,
        device,
        {"counter": rt.attempts.reset_item(username, counter)},
        new_hash=new_hash,
        event=event_item,
    )
    activity.logged_in(rt, who, event)
    return replace(grant, device_token=device_token if known_device else devices.issue(rt, user))


def _settle(rt: AccountServices, username: str, counter: str, right: bool) -> int:
    """After the password check: count a wrong password on ``counter``, or check that a right one
    is admitted (counting nothing); either way refused in the back-off.  How many failures the
    window holds (0 for a right password)."""
    if right:
        settled: Refused | int | None = rt.attempts.admit(username, counter, rt.now(), rt.lockout)
    else:
        settled = rt.attempts.count_failure(username, counter, rt.now(), rt.lockout)
    if isinstance(settled, Refused):
        raise TooManyAttempts(settled.retry_after)
    return settled or 0


def settle_attempt(rt: AccountServices, username: str, counter: str, right: bool) -> int:
    """:func:`_settle` for the second factor's codes, which share the password's budgets."""
    return _settle(rt, username, counter, right)


def change_password(rt: AccountServices, identity: Identity, current: str, new: str) -> int:
    """Set a new password and end every session but the caller's; returns how many ended."""
    # Policy first: a rejected new password must not count as a failed attempt.
    check_password_policy(new, identity.username)
    user = confirm_password(rt, identity, current)
    # The new hash and a new credential version in one write: a login that
    # read the old password cannot open a session after this.
    rt.users.set_password_hash(user.username, user.account_id, rt.hasher.hash(new))
    ended = sessions.end_other_sessions_after(rt, user, identity, activity.PASSWORD_CHANGED)
    return ended


def confirm_password(rt: AccountServices, identity: Identity, password: str) -> User:
    """The signed-in user, once ``password`` is confirmed as theirs: before a sensitive change.

    Checked under the password-change counter, so a stolen access token opens
    no unlimited password-guessing oracle; the attempt is settled after the
    check, as a login's is (a right password clears the counter if admitted).
    """
    # None when that incarnation is gone, whoever holds its name now.
    user = rt.users.get_account(identity.username, identity.account_id)
    right = user is not None and rt.hasher.verify(user.password_hash, password)
    now = rt.now()
    settled: Refused | int | None
    if right:
        settled = rt.attempts.admit_and_reset(identity.username, PASSWORD_CHANGE, now, rt.lockout)
    else:
        settled = rt.attempts.count_failure(identity.username, PASSWORD_CHANGE, now, rt.lockout)
    if isinstance(settled, Refused):
        raise TooManyAttempts(settled.retry_after)
    if user is None or not right:
        raise WrongPassword()
    return user


def published_keys(keyset: KeySet) -> dict[str, list[dict[str, str]]]:
    """The public keys that verify the tokens login signs, as ``/.well-known/jwks.json`` serves them."""
    return keyset.jwks()
