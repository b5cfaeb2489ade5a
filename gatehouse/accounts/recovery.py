"""Password reset by a code mailed to the account's verified address, which nobody else can deny.

``forgot_password`` never says whether an account exists or has a verified
address: the answer is the same, it makes the same DynamoDB requests either
way (read the account, count the mail against its caps, one conditional
write that adds a code or, with a condition that never holds, nothing), and
it takes at least ``GATEHOUSE_FORGOT_MIN_MS``, which hides the time a sent
mail costs.

Recovery holds up against strangers who keep asking and guessing:

* every mailed code is independent: a later request adds a code beside the
  live ones instead of replacing them, and a wrong guess touches no code, so
  what reached the owner's mailbox works for its whole life;
* a code has 60 bits, so guessing needs no per-code limit (which anyone
  could spend); guesses are counted per source address instead
  (:mod:`gatehouse.accounts.guesses`), before the code is compared;
* a code is stored only when its mail was admitted by the caps, and the caps
  always admit one reset mail per address in every clock hour that has had
  none (:func:`gatehouse.accounts.outbox.reserve_reset`), so whoever asks,
  the owner's mailbox gets a live code within the hour;
* a request that carries a valid device token of the account (a device the
  owner logged in on) counts against the account's own device budget, not
  the anonymous caps, so it mails a code at once.

``reset_password`` reads the account's codes with one GetItem of the same
shape for every name and compares the digest of the typed code with exactly
:data:`~gatehouse.accounts.codes.MAX_LIVE_RESET_CODES` entries, real or
padding, so a wrong code costs the same with or without a pending code.  It
spends the code exactly once, sets the new password the way a password
change does (every other pending code goes with it) and ends every session
of the account.
"""

from __future__ import annotations

import hmac
import html
import time
from collections.abc import Callable
from urllib.parse import urlencode

from gatehouse import logs
from gatehouse.accounts import activity, devices, guesses, outbox, sessions
from gatehouse.accounts.codes import (
    MAX_LIVE_RESET_CODES,
    RESET_CODE_LENGTH,
    code_digest,
    grouped,
    new_code,
    normalize_code,
)
from gatehouse.accounts.email_syntax import normalize_email
from gatehouse.accounts.passwords import check_password_policy
from gatehouse.accounts.ports import AccountServices
from gatehouse.accounts.usernames import USERNAME_PATTERN, normalize_username
from gatehouse.errors import InvalidCode, InvalidRequest
from gatehouse.mail import compose
from gatehouse.storage.account_email import ResetState, claim_key
from gatehouse.storage.users import AccountKey

SUBJECT = "Your password reset code"
# Every attempt with a well-formed code counts against its source address, before it is compared.
TOO_MANY = "Too many password reset attempts from this address. Try again later."
# What fills the compared entries up to MAX_LIVE_RESET_CODES: no digest ever matches it.
_PADDING = ("", 0)
# The key read and written for a username that cannot exist: no item has it.
NO_ACCOUNT = "unknown#"
PURPOSE = "password-reset"


def forgot_password(
    rt: AccountServices,
    raw_username: str | None,
    raw_email: str | None,
    *,
    source: str | None = None,
    device_token: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Mail a reset code if the account exists and has a verified address; answer alike either way.

    With a valid ``device_token`` of the account, the mail counts against the account's own
    device budget instead of the anonymous caps, so the owner's device gets a code at once
    whatever strangers asked for."""
    if (raw_username is None) == (raw_email is None):
        raise InvalidRequest("Send either username or email.")
    if raw_username == "":
        raise InvalidRequest("username must not be empty.")
    started = time.monotonic()
    try:
        _forgot(rt, raw_username, raw_email, source, device_token)
    finally:
        left = rt.settings.forgot_min_ms / 1000 - (time.monotonic() - started)
        if left > 0:
            sleep(left)


def _forgot(
    rt: AccountServices,
    raw_username: str | None,
    raw_email: str | None,
    source: str | None,
    device_token: str | None,
) -> None:
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
    why_not = _refusal(state, address)
    if state is None or why_not:
        outbox.reserve_reset(rt, address or key, None, source)
        rt.account_email.store_nothing(key)
        logs.event(
            "password_reset_request", user=state.username if state else None, outcome=why_not or "no_account"
        )
        return
    # The mail is counted before its code is stored: a code that was stored exists in a mailbox.
    if _from_a_device(rt, state, device_token):
        admitted = outbox.reserve_device_reset(rt, state.account_id)
    else:
        admitted = outbox.reserve_reset(rt, state.email, state.account_id, source)
    if not admitted:
        rt.account_email.store_nothing(key)
        logs.event("password_reset_request", user=state.username, outcome="capped")
        return
    now = rt.now()
    code = new_code(RESET_CODE_LENGTH)
    digest = code_digest(PURPOSE, state.account_id, code)
    if len([x for x in (state.codes or {}).values() if x > now]) >= MAX_LIVE_RESET_CODES or not (
        rt.account_email.add_reset_code(state, digest, now + rt.settings.reset_code_ttl, now)
    ):  # the address changed meanwhile (or, past what the caps admit, no room): nothing is sent
        logs.event("password_reset_request", user=state.username, outcome="not_stored")
        return
    logs.event("password_reset_request", user=state.username, outcome="code_mailed")
    _mail_code(rt, state, code)


def _from_a_device(rt: AccountServices, state: ResetState, device_token: str | None) -> bool:
    """Whether ``device_token`` is a valid device token of the account (its current credentials)."""
    if device_token is None:
        return False
    user = rt.users.get_account(state.username, state.account_id)
    return user is not None and devices.device_id(rt, user, device_token) is not None


def _refusal(state: ResetState | None, address: str | None) -> str | None:
    """Why no code goes out for this account (None: one does)."""
    if state is None:
        return None
    if not state.email or not state.verified:
        return "no_verified_email"
    if address is not None and state.email.lower() != address.lower():
        return "no_verified_email"
    if state.disabled:
        return "disabled"
    return None


def reset_password(
    rt: AccountServices, raw_username: str, raw_code: str, new_password: str, *, source: str | None = None
) -> int:
    """Set a new password with a mailed code and end every session; returns how many ended."""
    username = normalize_username(raw_username)
    if not USERNAME_PATTERN.fullmatch(username):
        raise InvalidCode()
    # Policy first: a refused new password must not spend one of the source's attempts.
    check_password_policy(new_password, username)
    code = normalize_code(raw_code)
    if code is None or len(code) != RESET_CODE_LENGTH:
        raise InvalidCode()  # cannot be one of ours, whatever the account
    now = rt.now()
    guesses.count_guess(rt, "reset", source, now, TOO_MANY)
    found = rt.account_email.reset_codes(username)
    digest = code_digest(PURPOSE, found.account_id, code)
    if not _live(digest, found.codes, now):
        logs.event("password_reset", user=username, outcome="wrong_code")
        raise InvalidCode()
    new_hash = rt.hasher.hash(new_password)
    # One write spends the code and sets the hash (bumping the credential version), only on the
    # account the code was mailed for: a concurrent reset, a disable or a deletion wins whole.
    if not rt.account_email.spend_reset_code(username, found.account_id, digest, now, new_hash):
        raise InvalidCode()
    account = AccountKey(username, found.account_id)
    # As a password change does: every guarantee it gets about concurrent logins holds here too.
    ended = sessions.end_all_sessions(rt, account, bump=False)  # the write above bumped it
    # The owner proved control of the mailbox: the name's lockout counters go.
    rt.attempts.clear(username)
    logs.event("password_reset", user=username, outcome="password_set")
    detail = f"{ended} sessions ended"
    activity.record(rt, activity.who(rt, account), activity.PASSWORD_RESET, detail=detail, notice=True)
    return ended


def _live(digest: str, codes: dict[str, int], now: int) -> bool:
    """Whether ``digest`` is one of ``codes`` and unexpired: one comparison with each of exactly
    MAX_LIVE_RESET_CODES entries (real ones, then padding) and no early exit, so the work is the
    same whether the account has pending codes, none, or does not exist."""
    entries = [*codes.items()][:MAX_LIVE_RESET_CODES]
    entries += [_PADDING] * (MAX_LIVE_RESET_CODES - len(entries))
    found = False
    for stored, expires in entries:
        same = hmac.compare_digest(digest.encode(), stored.encode().ljust(len(digest), b"\0"))
        found |= same & (expires > now)
    return found


def reset_link(base: str, username: str, code: str) -> str:
    return f"{base}?{urlencode({'code': code, 'username': username})}"


def _mail_code(rt: AccountServices, state: ResetState, code: str) -> None:
    """The reset mail; its caps were counted by ``reserve_reset`` before its code was stored."""
    username, email = state.username, state.email
    minutes = str(max(1, rt.settings.reset_code_ttl // 60))
    values = {"username": username, "code": grouped(code), "minutes": minutes}
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
    outbox.send_reserved(rt, message)
