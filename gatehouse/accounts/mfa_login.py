"""The login's second step, for an account with a factor: ``mfa_required``, then a code.

A right password for such an account opens no session: the password grant
answers ``mfa_required`` with an ``mfa_token`` (single use, five minutes,
stored only as a digest; :mod:`gatehouse.storage.challenges`).  The client
then sends the token with a TOTP code (``urn:gatehouse:grant-type:mfa-otp``)
or a recovery code (``urn:gatehouse:grant-type:mfa-recovery-code``) and gets
the same grant a password login gets, with ``amr``/``aal`` saying a second
factor was used.

The failure budget is the one the password attempt was charged to (the
name's, or the device's): each code is counted on it before it is looked
at, and only a finished login resets it.  The password step does not reset
it, so a new ``mfa_token`` (the password again) never buys new guesses.

Remembered devices: a device that shows a valid device token when it
finishes a login with a second factor may skip the second factor for
``GATEHOUSE_MFA_REMEMBER_DAYS`` days; the password alone then opens a session
(``amr`` ``pwd`` + ``mfa``: the device token, bound after a code, is the
possession factor).  Any credential change (password, reset, "end all
sessions", disable) or factor change bumps the account's credential version
and so ends every remembered device, and every ``mfa_token`` issued before it
(a challenge keeps the version its password was checked against).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from gatehouse.accounts import activity, devices, mfa
from gatehouse.accounts import sessions as lifecycle
from gatehouse.accounts.ports import AccountServices
from gatehouse.errors import InvalidGrant, WrongSecondFactor
from gatehouse.storage.challenges import Challenge, new_token
from gatehouse.storage.factors import FactorState
from gatehouse.storage.users import User

OTP_GRANT = "urn:gatehouse:grant-type:mfa-otp"
RECOVERY_CODE_GRANT = "urn:gatehouse:grant-type:mfa-recovery-code"
MFA_TOKEN_SECONDS = 5 * 60
OTP_AMR = ("pwd", "otp", "mfa")
RECOVERY_CODE_AMR = ("pwd", "mfa")
REMEMBERED_AMR = ("pwd", "mfa")
DAY = 24 * 3600
# The detail of a login_failed event whose password was right and second factor wrong.
SECOND_FACTOR = "wrong_second_factor"


@dataclass(frozen=True)
class MfaRequired:
    """A right password for an account with a factor: no tokens, just the challenge."""

    mfa_token: str

    def body(self) -> dict[str, Any]:
        return {"error": "mfa_required", "mfa_token": self.mfa_token}


def after_password(
    rt: AccountServices,
    user: User,
    device: str,
    counter: str,
    device_token: str | None,
    new_hash: str | None = None,
) -> lifecycle.TokenGrant | MfaRequired:
    """A right password, an account with a factor: a remembered device's session, else the challenge.

    ``new_hash`` (the password's hash with today's parameters, when the stored one is older) is
    written here, with the session or the challenge, as a password login writes it: only while
    the account still has the credentials it was read with.
    """
    # ``device_token``: a valid device token of the account (the password grant checked it), or None.
    known_device = devices.device_id(rt, user, device_token)
    if known_device is not None and rt.settings.mfa_remember_days > 0:
        state = rt.factors.get(user)
        if state is not None and _remembered(state, known_device, rt.now()):
            grant = _open(
                rt,
                user,
                device,
                {"counter": rt.attempts.reset_item(user.username, counter)},
                REMEMBERED_AMR,
                new_device=False,
                new_hash=new_hash,
            )
            return replace(grant, device_token=device_token)
    token = new_token()
    stored = rt.challenges.create(
        token,
        Challenge(
            username=user.username,
            account_id=user.account_id,
            device=device,
            counter=counter,
            device_id=known_device or "",
            expires_at=rt.now() + MFA_TOKEN_SECONDS,
            cred_version=user.cred_version,
        ),
        together_with=rt.users.unchanged_since(user, new_hash) if new_hash else None,
    )
    if not stored:  # credentials changed, disabled or deleted since the user was read
        raise InvalidGrant()
    return MfaRequired(token)


def otp_login(
    rt: AccountServices, mfa_token: str, otp: str, device_token: str | None, remember: bool = True
) -> lifecycle.TokenGrant:
    """Finish a login with a TOTP code."""
    challenge, user, state = _challenge(rt, mfa_token)
    try:
        mfa.check_code(rt, user, state, otp, counter=challenge.counter)
    except WrongSecondFactor:
        _failed(rt, user, challenge)
        raise InvalidGrant("The code is wrong or was already used.") from None
    return _finish(rt, mfa_token, challenge, user, state, OTP_AMR, device_token, remember)


def recovery_code_login(
    rt: AccountServices, mfa_token: str, recovery_code: str, device_token: str | None, remember: bool = True
) -> lifecycle.TokenGrant:
    """Finish a login with a recovery code (it is spent; the owner is mailed)."""
    challenge, user, state = _challenge(rt, mfa_token)
    try:
        mfa.spend_recovery_code(
            rt, user, state, recovery_code, counter=challenge.counter, device=challenge.device
        )
    except WrongSecondFactor:
        _failed(rt, user, challenge)
        raise InvalidGrant("The recovery code is wrong or was already used.") from None
    return _finish(rt, mfa_token, challenge, user, state, RECOVERY_CODE_AMR, device_token, remember)


def _failed(rt: AccountServices, user: User, challenge: Challenge) -> None:
    """A wrong second factor after a right password: the account's ``login_failed`` event (the
    owner sees that somebody had the password)."""
    activity.record(
        rt, activity.Who.of(user), activity.LOGIN_FAILED, device=challenge.device, detail=SECOND_FACTOR
    )


def _challenge(rt: AccountServices, mfa_token: str) -> tuple[Challenge, User, FactorState]:
    challenge = rt.challenges.get(mfa_token, rt.now())
    if challenge is None:
        raise InvalidGrant("The mfa_token is not valid (used, expired or unknown): sign in again.")
    # The same account incarnation (a later account of the name is not it), still enabled,
    # still with its factor, and with the credentials the password was checked against: a
    # password change or reset, "end all sessions", or a factor removed and added again since
    # ends this login as it ends the sessions (the session's write is conditioned on the
    # version read here).
    user = rt.users.get_account(challenge.username, challenge.account_id)
    state = rt.factors.get(user) if user is not None else None
    if (
        user is None
        or state is None
        or user.disabled
        or not state.active
        or user.cred_version != challenge.cred_version
    ):
        raise InvalidGrant("The mfa_token is not valid (used, expired or unknown): sign in again.")
    return challenge, user, state


def _finish(
    rt: AccountServices,
    mfa_token: str,
    challenge: Challenge,
    user: User,
    state: FactorState,
    amr: tuple[str, ...],
    device_token: str | None,
    remember: bool,
) -> lifecycle.TokenGrant:
    now = rt.now()
    # One transaction: the session, the challenge used up (a second request with the
    # same mfa_token fails here), the failure counter reset.
    grant = _open(
        rt,
        user,
        challenge.device,
        {
            "challenge": rt.challenges.consume_item(mfa_token, now),
            "counter": rt.attempts.reset_item(user.username, challenge.counter),
        },
        amr,
        new_device=not challenge.device_id,
    )
    # A device that showed a valid device token keeps it (the client holds it); any other
    # gets a new one, as after a password login.
    token: str | None
    if challenge.device_id:
        device_id: str | None = challenge.device_id
        token = (
            device_token if device_token and devices.device_id(rt, user, device_token) == device_id else None
        )
    else:
        token = devices.issue(rt, user)
        device_id = devices.device_id(rt, user, token)
    days = rt.settings.mfa_remember_days
    if remember and days > 0 and device_id is not None:
        fresh = rt.factors.get(user)
        if fresh is not None and fresh.active:
            rt.factors.remember(user, fresh, device_id, now + days * DAY, now)
    return replace(grant, device_token=token)


def _open(
    rt: AccountServices,
    user: User,
    device: str,
    together_with: dict[str, dict[str, Any]],
    amr: tuple[str, ...],
    *,
    new_device: bool,
    new_hash: str | None = None,
) -> lifecycle.TokenGrant:
    """A session, with its login's security event in the same transaction (as a password login's)."""
    who = activity.Who.of(user)
    event, event_item = activity.login_item(rt, who, device, new_device=new_device)
    grant = lifecycle.open_session(
        rt, user, device, together_with, amr=amr, event=event_item, new_hash=new_hash
    )
    activity.logged_in(rt, who, event)
    return grant


def _remembered(state: FactorState, device_id: str, now: int) -> bool:
    entry = state.remembered.get(device_id)
    return entry is not None and entry[0] > now and entry[1] == state.cred_version
