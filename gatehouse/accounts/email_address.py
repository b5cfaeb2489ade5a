"""The account's email address: claimed at sign-up or changed later, then verified by a mailed code.

Only a verified address ever receives a password reset code: verification is
what proves the mailbox belongs to the account's owner.  Until then the
claim keeps the address from other accounts only for the life of its first
code (``GATEHOUSE_EMAIL_CODE_TTL``, 24 hours by default); after that the
real owner's sign-up or address change takes it over (see
:mod:`gatehouse.storage.account_email`), so nobody can squat an address by
claiming it and never proving it.
"""

from __future__ import annotations

from gatehouse import logs
from gatehouse.accounts import activity, guesses, login, outbox
from gatehouse.accounts.codes import (
    EMAIL_CODE_LENGTH,
    code_digest,
    grouped,
    new_code,
    normalize_code,
    same_digest,
)
from gatehouse.accounts.email_syntax import normalize_email
from gatehouse.accounts.ports import AccountServices
from gatehouse.accounts.usernames import USERNAME_PATTERN, normalize_username
from gatehouse.authorizer.identity import Identity
from gatehouse.errors import InvalidCode, NothingToVerify
from gatehouse.mail import compose
from gatehouse.storage.account_email import ClaimOwner
from gatehouse.storage.users import User, user_item

SUBJECT = "Confirm your email address"
TOO_MANY = "Too many verification attempts from this address. Try again later."


def _purpose(email: str) -> str:
    # A code is good for the one address it was mailed to.
    return f"verify-email {email.lower()}"


def create_with_email(rt: AccountServices, user: User, email: str, source: str | None = None) -> None:
    code = new_code(EMAIL_CODE_LENGTH)
    now = rt.now()
    # The claim keeps the address from others as long as its first code lives, and no longer.
    rt.account_email.create_user_with_email(
        user_item(user),
        email,
        code_digest(_purpose(email), user.account_id, code),
        now + rt.settings.email_code_ttl,
        now,
    )
    _mail_code(rt, user.account_id, email, code, source)


def change_email(
    rt: AccountServices, identity: Identity, current_password: str, raw_email: str, source: str | None = None
) -> None:
    """A new address for the caller's account (its current password confirms): unverified, code mailed.

    The same address again, not yet verified, mails a fresh code; the same
    address already verified changes nothing.
    """
    address = normalize_email(raw_email)
    user = login.confirm_password(rt, identity, current_password)
    current = rt.account_email.contact(user.username, user.account_id)
    if current is not None and current.email == address and current.verified:
        return
    code = new_code(EMAIL_CODE_LENGTH)
    now = rt.now()
    rt.account_email.change_email(
        ClaimOwner(user.account_id, user.username),
        current.email if current else None,
        address,
        code_digest(_purpose(address), user.account_id, code),
        now + rt.settings.email_code_ttl,
        now,
        old_verified=current is None or current.verified,
    )
    logs.event("email_changed", user=identity.username)
    _mail_code(rt, user.account_id, address, code, source)
    who = activity.Who.of(user)
    event = activity.record(rt, who, activity.EMAIL_CHANGED, session=identity.session_id)
    if current is not None and current.verified and current.email != address:
        # The owner hears of it at the address that was proven theirs.
        activity.send_notice(
            rt, who, activity.EMAIL_CHANGED, event, to=current.email, more={"new_address": address}
        )


def resend_verification(rt: AccountServices, identity: Identity, source: str | None = None) -> None:
    """A new code for the caller's unverified address, mailed there; the previous code stops working.

    The caller is the account (a bearer token), and the code goes only to the
    address already on it, so this cannot mail anyone new.  How often it may
    mail is decided where every mail is sent (the mail caps of :mod:`outbox`).
    """
    current = rt.account_email.contact(identity.username, identity.account_id)
    if current is None or current.verified:
        raise NothingToVerify()
    code = new_code(EMAIL_CODE_LENGTH)
    digest = code_digest(_purpose(current.email), identity.account_id, code)
    expires = rt.now() + rt.settings.email_code_ttl
    owner = ClaimOwner(identity.account_id, identity.username)
    if not rt.account_email.renew_email_code(owner, current.email, digest, expires):
        raise NothingToVerify()  # changed or verified meanwhile: this code would be for nothing
    logs.event("email_code_resent", user=identity.username)
    _mail_code(rt, identity.account_id, current.email, code, source)


def verify_email(rt: AccountServices, raw_username: str, raw_code: str, *, source: str | None = None) -> None:
    """Mark the address verified, or ``InvalidCode`` (wrong, expired, spent: all the same answer).

    Anyone may guess (the route is public, and names are not secret), so a wrong guess
    touches no code: it is counted against its source address only (429 past the cap),
    and the code's 60 bits keep guessing hopeless.  A limit per code would let a stranger
    kill every code the owner is mailed, and an address never verified never gets a
    password reset.
    """
    username = normalize_username(raw_username)
    if not USERNAME_PATTERN.fullmatch(username):
        raise InvalidCode()
    code = normalize_code(raw_code)
    if code is None or len(code) != EMAIL_CODE_LENGTH:
        raise InvalidCode()  # cannot be one of ours, whatever the account: counts nowhere
    now = rt.now()
    guesses.count_guess(rt, "verify", source, now, TOO_MANY)
    pending = rt.account_email.email_code(username)
    if pending is None or pending.expires <= now:
        raise InvalidCode()
    digest = code_digest(_purpose(pending.email), pending.owner.account_id, code)
    if not same_digest(digest, pending.digest):
        logs.event("email_verification", user=username, outcome="wrong_code")
        raise InvalidCode()
    # Spends the code on the condition that it is still the one read and unexpired.
    if not rt.account_email.mark_verified(pending.owner, pending.email, pending.digest, now):
        raise InvalidCode()
    logs.event("email_verification", user=username, outcome="verified")
    activity.record(rt, activity.Who(pending.owner.account_id, username), activity.EMAIL_VERIFIED)


def _mail_code(rt: AccountServices, account_id: str, email: str, code: str, source: str | None) -> None:
    """The verification mail. It goes to an address nobody has proven yet, so it carries no text
    the requester chose (not even the username): only the code and its lifetime."""
    hours = str(max(1, rt.settings.email_code_ttl // 3600))
    message = compose(
        "verify_email", email, SUBJECT, {"code": grouped(code), "hours": hours}, templates=rt.mail_templates
    )
    outbox.deliver(rt, message, account_id=account_id, source=source)
