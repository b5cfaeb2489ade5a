"""The second factor of an account: enrol a TOTP app, confirm it, replace recovery codes, remove it.

Enrolment is two steps, so that a factor is active only once the user has
shown a code from it (a secret scanned wrongly never locks anyone out):
``enrol`` (the current password, then a new secret awaiting confirmation)
and ``confirm`` (a code from the app; the factor is on, ten recovery codes
are shown this once, every other session ends).  Removing the factor takes a
code or a recovery code and also ends every other session.  Each change (new
recovery codes included), and each recovery code used, is a security event of the account
(:mod:`gatehouse.accounts.activity`) whose notice is mailed to its verified
address through the one capped mail path.

Everything here acts on one account incarnation (its ``account_id``): the
sealed secret is bound to it, and every write of the factor's state is
conditioned on it, so nothing of a deleted account's factor works for a
later account of the same name.

Codes typed on these routes are counted, like a password confirmation, on
a counter of the account's own (:data:`FACTOR_CODES`): a stolen access token
gets no unlimited guesses, and cannot lock the owner's login either.  It is
not the password confirmation's counter: there a right current password
clears the count, and a session plus the password (no phone) would then
guess codes without limit, a few between each right password.  The TOTP
secret exists in the clear only in memory: stored sealed
(:mod:`gatehouse.accounts.factor_key`), shown only in the enrolment answer,
never logged.
"""

from __future__ import annotations

from dataclasses import dataclass

from gatehouse import logs
from gatehouse.accounts import activity, admin, login, recovery_codes, totp
from gatehouse.accounts import sessions as lifecycle
from gatehouse.accounts.ports import AccountServices
from gatehouse.authorizer.identity import Identity
from gatehouse.errors import (
    FactorExists,
    InvalidRequest,
    NoFactor,
    NoPendingEnrolment,
    NoSuchUser,
    TooManyAttempts,
    WrongSecondFactor,
)
from gatehouse.storage.attempts import FACTOR_CODES
from gatehouse.storage.factors import FactorState
from gatehouse.storage.users import User

# How long a new secret waits for its first code.
PENDING_SECONDS = 15 * 60
# From this many recovery codes left down, the used-code notice urges the owner to make new ones.
FEW_RECOVERY_CODES = 3


@dataclass(frozen=True)
class Enrolment:
    secret: str
    otpauth_uri: str
    qr_svg: str

    def body(self) -> dict[str, str]:
        return {"secret": self.secret, "otpauth_uri": self.otpauth_uri, "qr_svg": self.qr_svg}


def enrol(rt: AccountServices, identity: Identity, current_password: str) -> Enrolment:
    """A new secret for the caller's authenticator app; the factor is not active until confirmed."""
    user = login.confirm_password(rt, identity, current_password)
    secret = totp.new_secret()
    sealed = rt.mfa_keys.seal(secret, user.account_id)
    if not rt.factors.start_enrolment(user, sealed, rt.now() + PENDING_SECONDS):
        raise FactorExists()
    uri = totp.provisioning_uri(secret, user.username, rt.settings.mfa_issuer_name)
    logs.event("mfa", action="enrolment_started", user=user.username)
    return Enrolment(secret, uri, totp.qr_svg(uri))


def confirm(rt: AccountServices, identity: Identity, code: str) -> list[str]:
    """Turn the enrolment on with a code from the app; the recovery codes, shown only now."""
    user, state = _read(rt, identity)
    if state.active:
        raise FactorExists()
    if state.pending is None or state.pending_until <= rt.now():
        raise NoPendingEnrolment()
    secret = rt.mfa_keys.open(state.pending, user.account_id)
    step = totp.matching_step(secret, code, rt.clock(), None)
    _settle(rt, user, FACTOR_CODES, right=step is not None)
    if step is None:
        raise WrongSecondFactor()
    codes = recovery_codes.new_codes()
    if not rt.factors.confirm(user, state.pending, step, _digests(codes), rt.now()):
        raise NoPendingEnrolment()  # another enrolment replaced this one meanwhile
    # The confirmation bumped the credential version: logins in flight are refused.
    lifecycle.end_other_sessions_after(rt, user, identity, activity.FACTOR_ADDED)
    return codes


def replace_recovery_codes(rt: AccountServices, identity: Identity, code: str) -> list[str]:
    """Ten new recovery codes (the old ones stop working), for a code from the app."""
    user, state = _read(rt, identity)
    sealed = _active(state)
    check_code(rt, user, state, code, counter=FACTOR_CODES)
    codes = recovery_codes.new_codes()
    if not rt.factors.replace_recovery_codes(user, sealed, _digests(codes)):
        raise NoFactor()
    logs.event("mfa", action="recovery_codes_replaced", user=user.username)
    # New codes are a new way in: the owner hears of it (the event and the mail hold no code).
    activity.record(
        rt,
        activity.Who.of(user),
        activity.RECOVERY_CODES_REPLACED,
        session=identity.session_id,
        notice=True,
    )
    return codes


def remove(rt: AccountServices, identity: Identity, code: str | None, recovery_code: str | None) -> None:
    """Remove the caller's factor, proven by a code from the app or a recovery code."""
    if (code is None) == (recovery_code is None):
        raise InvalidRequest("Send either code or recovery_code.")
    user, state = _read(rt, identity)
    _active(state)
    if code is not None:
        check_code(rt, user, state, code, counter=FACTOR_CODES)
    else:
        spend_recovery_code(
            rt,
            user,
            state,
            recovery_code or "",
            counter=FACTOR_CODES,
            session=identity.session_id,
            removing=True,
        )
    if not rt.factors.remove(user):
        raise NoFactor()
    lifecycle.end_other_sessions_after(rt, user, identity, activity.FACTOR_REMOVED)


def admin_reset(rt: AccountServices, raw_username: str, *, actor: str = activity.ADMIN_CLI) -> bool:
    """An administrator removes a user's factor (a lost phone and no recovery code left).

    Every session of the user ends (the factor's logins are no longer what
    they claimed); the owner is mailed.  ``actor`` (the admin's name, else the
    CLI) goes into the account's event.  False when the user had no factor.
    """
    user = rt.users.get(admin.account_name(raw_username))
    if user is None:
        raise NoSuchUser()
    if not rt.factors.remove(user):
        return False
    lifecycle.end_all_sessions(rt, user, bump=False)
    who = activity.Who.of(user)
    event = activity.record(rt, who, activity.FACTOR_REMOVED, actor=actor, detail="reset by an administrator")
    # The owner's notice says an administrator did it (not "you", as the owner's removal's does).
    activity.send_notice(rt, who, activity.FACTOR_RESET, event)
    return True


# -- shared with the login's second step ---------------------------------------------------


def check_code(rt: AccountServices, user: User, state: FactorState, code: str, *, counter: str) -> None:
    """Accept one TOTP code of the account, once, settled on ``counter`` as a password is: a wrong
    (or already used) code counts as a failure, a right one must be admitted (429 in the back-off)."""
    sealed = _active(state)
    secret = rt.mfa_keys.open(sealed, user.account_id)
    step = totp.matching_step(secret, code, rt.clock(), state.last_step)
    if step is not None:
        _settle(rt, user, counter, right=True)
        # The conditional write is what makes a code single-use: of two requests with
        # the same code, in parallel or not, one moves the step and the other fails here.
        if rt.factors.accept_step(user, sealed, step):
            return
    _settle(rt, user, counter, right=False)
    raise WrongSecondFactor()


def spend_recovery_code(
    rt: AccountServices,
    user: User,
    state: FactorState,
    raw: str,
    *,
    counter: str,
    device: str = "",
    session: str = "",
    removing: bool = False,
) -> None:
    """Use up one recovery code (settled on ``counter`` as a code is); its event mails the owner
    how many are left (none when it is ``removing`` the factor, which takes the rest with it)."""
    digest = recovery_codes.digest(raw)
    if digest is not None and digest in state.recovery:
        _settle(rt, user, counter, right=True)
        # A conditional removal: of two requests with the same code, one spends it.
        if rt.factors.spend_recovery_code(user, digest):
            remaining = 0 if removing else len(state.recovery - {digest})
            activity.record(
                rt,
                activity.Who.of(user),
                activity.RECOVERY_CODE_USED,
                device=device,
                session=session,
                detail=f"{remaining} left",
                notice=True,
                more=codes_left(remaining, removing=removing),
            )
            return
    _settle(rt, user, counter, right=False)
    raise WrongSecondFactor()


def codes_left(remaining: int, *, removing: bool = False) -> dict[str, str]:
    """The recovery-code notice's own template values: ``$remaining`` (how many codes are left,
    a number, never a code) and ``$replace_advice`` (a sentence urging new codes once
    :data:`FEW_RECOVERY_CODES` or fewer are left, else empty).  An owner who runs out with a lost
    phone can only be let back in by an administrator."""
    if removing:
        advice = "The second factor was removed with it, and the other recovery codes with it."
    elif remaining == 0:
        advice = "None is left: make new recovery codes now, or losing your phone locks you out."
    elif remaining <= FEW_RECOVERY_CODES:
        advice = "Few are left: make new recovery codes soon (the new ones replace the old)."
    else:
        advice = ""
    return {"remaining": str(remaining), "replace_advice": advice}


def _settle(rt: AccountServices, user: User, counter: str, *, right: bool) -> None:
    """Settle a code on ``counter``; a right one on the bearer routes' code counter also clears
    it, as a right current password clears the password confirmation's."""
    if right and counter == FACTOR_CODES:
        refused = rt.attempts.admit_and_reset(user.username, counter, rt.now(), rt.lockout)
        if refused is not None:
            raise TooManyAttempts(refused.retry_after)
        return
    login.settle_attempt(rt, user.username, counter, right)


def _read(rt: AccountServices, identity: Identity) -> tuple[User, FactorState]:
    """The caller's account and its factor state (``NoSuchUser`` once that incarnation is gone)."""
    user = rt.users.get_account(identity.username, identity.account_id)
    state = rt.factors.get(user) if user is not None else None
    if user is None or state is None:
        raise NoSuchUser()
    return user, state


def _active(state: FactorState) -> str:
    if state.sealed_secret is None:
        raise NoFactor()
    return state.sealed_secret


def _digests(codes: list[str]) -> list[str]:
    return [d for d in (recovery_codes.digest(c) for c in codes) if d is not None]
