"""Password reset by a code mailed to the account's verified address.

``forgot_password`` never says whether an account exists or has a verified
address: the answer is the same, it makes the same DynamoDB requests either
way (read the account, one conditional write that stores a code or, with a
condition that never holds, nothing), and it takes at least
``GATEHOUSE_FORGOT_MIN_MS``, which hides the time a sent mail costs.

``reset_password`` spends the code exactly once, sets the new password the
way a password change does and ends every session of the account.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from urllib.parse import urlencode

from gatehouse import logs
from gatehouse.accounts import activity, outbox, sessions
from gatehouse.accounts.codes import (
    MAX_CODE_FAILURES,
    RESET_CODE_LENGTH,
    code_digest,
    new_code,
    normalize_code,
    same_digest,
)
from gatehouse.accounts.email_syntax import normalize_email
from gatehouse.accounts.passwords import check_password_policy
from gatehouse.accounts.ports import AccountServices
from gatehouse.accounts.usernames import USERNAME_PATTERN, normalize_username
from gatehouse.errors import InvalidCode, InvalidRequest
from gatehouse.mail import compose
from gatehouse.storage.account_email import RESET, ResetState, claim_key
from gatehouse.storage.users import AccountKey

SUBJECT = "Your password reset code"
RATE_WINDOW = 3600
# The key read and written for a username that cannot exist: no item has it.
NO_ACCOUNT = "unknown#"
PURPOSE = "password-reset"


def forgot_password(
    rt: AccountServices,
    raw_username: str | None,
    raw_email: str | None,
    *,
    source: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Mail a reset code if the account exists and has a verified address; answer alike either way."""
    if (raw_username is None) == (raw_email is None):
        raise InvalidRequest("Send either username or email.")
    if raw_username == "":
        raise InvalidRequest("username must not be empty.")
    started = time.monotonic()
    try:
        _forgot(rt, raw_username, raw_email, source)
    finally:
        left = rt.settings.forgot_min_ms / 1000 - (time.monotonic() - started)
        if left > 0:
            sleep(left)


def _forgot(rt: AccountServices, raw_username: str | None, raw_email: str | None, source: str | None) -> None:
    address: str | None = None
    owner_id: str | None = None
    if raw_email is not None:
        address = normalize_email(raw_email)  # a malformed address says nothing about accounts: 400
        owner = rt.account_email.owner_of(address)
        key = owner.username if owner else claim_key(address)
        owner_id = owner.account_id if owner else None
    else:
        username = normalize_username(raw_username or "")
        key = username if USERNAME_PATTERN.fullmatch(username) else NO_ACCOUNT
    state = rt.account_email.reset_state(key)
    if state is not None and owner_id is not None and state.account_id != owner_id:
        state = None  # the claim's account is gone; the name belongs to another one now
    now = rt.now()
    why_not = _refusal(rt, state, address, now)
    if state is None or why_not:
        rt.account_email.store_nothing(key)
        outbox.count_no_mail(rt, "reset_code", address or key, source)
        logs.event(
            "password_reset_request", user=state.username if state else None, outcome=why_not or "no_account"
        )
        return
    recent = [t for t in state.requested if t > now - RATE_WINDOW]
    code = new_code(RESET_CODE_LENGTH)
    stored = rt.account_email.store_reset_code(
        state, [*recent, now], code_digest(PURPOSE, state.account_id, code), now + rt.settings.reset_code_ttl
    )
    if not stored:  # a concurrent request won: it mails its own code
        logs.event("password_reset_request", user=state.username, outcome="concurrent_request")
        return
    logs.event("password_reset_request", user=state.username, outcome="code_mailed")
    _mail_code(rt, state, code, source)


def _refusal(rt: AccountServices, state: ResetState | None, address: str | None, now: int) -> str | None:
    """Why no code goes out for this account (None: one does)."""
    if state is None:
        return None
    if not state.email or not state.verified:
        return "no_verified_email"
    if address is not None and state.email.lower() != address.lower():
        return "no_verified_email"
    if state.disabled:
        return "disabled"
    if len([t for t in state.requested if t > now - RATE_WINDOW]) >= rt.settings.reset_requests_per_hour:
        return "rate_limited"
    return None


def reset_password(rt: AccountServices, raw_username: str, raw_code: str, new_password: str) -> int:
    """Set a new password with a mailed code and end every session; returns how many ended."""
    username = normalize_username(raw_username)
    if not USERNAME_PATTERN.fullmatch(username):
        raise InvalidCode()
    # Policy first: a refused new password must not spend one of the code's guesses.
    check_password_policy(new_password, username)
    item = rt.account_email.reserve_guess(username, RESET, rt.now(), MAX_CODE_FAILURES)
    code = normalize_code(raw_code)
    if item is None or code is None:
        raise InvalidCode()
    stored = str(item.get("reset_hash", ""))
    account = AccountKey(username, str(item.get("account_id", "")))
    if not same_digest(code_digest(PURPOSE, account.account_id, code), stored):
        logs.event("password_reset", user=username, outcome="wrong_code")
        raise InvalidCode()
    new_hash = rt.hasher.hash(new_password)
    # One write spends the code and sets the hash (bumping the credential version), only on the
    # account the code was mailed for: a concurrent reset, a disable or a deletion wins whole.
    if not rt.account_email.spend_reset_code(username, account.account_id, stored, new_hash):
        raise InvalidCode()
    # As a password change does: every guarantee it gets about concurrent logins holds here too.
    ended = sessions.end_all_sessions(rt, account, bump=False)  # the write above bumped it
    # The owner proved control of the mailbox: the name's lockout counters go.
    rt.attempts.clear(username)
    logs.event("password_reset", user=username, outcome="password_set")
    detail = f"{ended} sessions ended"
    activity.record(rt, activity.who(rt, account), activity.PASSWORD_RESET, detail=detail, notice=True)
    return ended


def reset_link(base: str, username: str, code: str) -> str:
    return f"{base}?{urlencode({'code': code, 'username': username})}"


def _mail_code(rt: AccountServices, state: ResetState, code: str, source: str | None) -> None:
    username, email = state.username, state.email
    values = {"username": username, "code": code, "minutes": str(max(1, rt.settings.reset_code_ttl // 60))}
    link_text, link_html = "", ""
    if rt.settings.reset_url:
        link = reset_link(rt.settings.reset_url, username, code)
        link_text = f"\nOr open this link: {link}\n"
        link_html = f'<p><a href="{html.escape(link, quote=True)}">Choose a new password</a></p>'
    message = compose(
        "reset_code",
        email,
        SUBJECT,
        {**values, "link_text": link_text},
        {"link_html": link_html},
        templates=rt.mail_templates,
    )
    outbox.deliver(rt, message, account_id=state.account_id, source=source)
