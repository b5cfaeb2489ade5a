"""Security events: one record per event per account, and the owner's notice by mail.

Every use case that changes who can get into an account, or tries to, calls
:func:`record` (or, for a login, :func:`login_item`, which rides in the
login's own transaction).  The record says what happened, when and where
from (the request's user agent and source address, which the web edge
puts in :data:`client`; the device name a login gave; the session); never
a password, code, token or hash.  It lives ``GATEHOUSE_EVENT_RETENTION_DAYS``
(the table's TTL), keyed by the account id, so a later account of the same
name sees none of it.  A deleted account's events stay, under its account
id only, until they expire: an incident that ends in a deletion can still
be read (docs/OPERATIONS.md).

The kinds in :data:`NOTICES` also mail a notice to the account's verified
address, through the one mail path (with its caps): what happened, when,
from which device, and what to do if it was not the owner.  The texts are
the ``notice_<kind>`` templates (replaceable by the app, see
``gate.mail_templates``, passed to :func:`gatehouse.mail.compose`).

For other components (a second factor, say), the API is
``record(rt, who, kind, notice=True)``: the event is written and, for a kind
with a notice, the notice is mailed.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

from gatehouse import logs
from gatehouse.accounts import outbox
from gatehouse.accounts.paging import checked_cursor
from gatehouse.accounts.ports import Account, AccountServices
from gatehouse.accounts.usernames import USERNAME_PATTERN, normalize_username
from gatehouse.authorizer.identity import Identity
from gatehouse.errors import NoSuchUser
from gatehouse.mail import compose
from gatehouse.storage.events import EVENT_ID_PATTERN, Event, new_event_id
from gatehouse.storage.users import User

# The kinds of event (stable strings: clients and operators filter on them).
LOGIN_SUCCEEDED = "login_succeeded"
LOGIN_FAILED = "login_failed"
LOCKED_OUT = "locked_out"
REFRESH_REUSE = "refresh_reuse"
SESSION_ENDED = "session_ended"
PASSWORD_CHANGED = "password_changed"  # noqa: S105 (an event kind)
PASSWORD_RESET = "password_reset"  # noqa: S105
EMAIL_CHANGED = "email_changed"
EMAIL_VERIFIED = "email_verified"
FACTOR_ADDED = "factor_added"
FACTOR_REMOVED = "factor_removed"
RECOVERY_CODE_USED = "recovery_code_used"
RECOVERY_CODES_REPLACED = "recovery_codes_replaced"
ACCOUNT_DISABLED = "account_disabled"
ACCOUNT_ENABLED = "account_enabled"
ACCOUNT_UNLOCKED = "account_unlocked"
ACCOUNT_DELETED = "account_deleted"
ROLES_CHANGED = "roles_changed"
KINDS = (
    LOGIN_SUCCEEDED,
    LOGIN_FAILED,
    LOCKED_OUT,
    REFRESH_REUSE,
    SESSION_ENDED,
    PASSWORD_CHANGED,
    PASSWORD_RESET,
    EMAIL_CHANGED,
    EMAIL_VERIFIED,
    FACTOR_ADDED,
    FACTOR_REMOVED,
    RECOVERY_CODE_USED,
    RECOVERY_CODES_REPLACED,
    ACCOUNT_DISABLED,
    ACCOUNT_ENABLED,
    ACCOUNT_UNLOCKED,
    ACCOUNT_DELETED,
    ROLES_CHANGED,
)
# A login from a device without a (valid) device token: an event detail, and a notice.
NEW_DEVICE = "new_device"
# An administrator removed the account's second factor: a factor_removed event, its own notice.
FACTOR_RESET = "factor_reset"
# The kinds whose event mails the owner a notice (template notice_<kind>).
NOTICES = frozenset(
    {
        NEW_DEVICE,
        PASSWORD_CHANGED,
        PASSWORD_RESET,
        EMAIL_CHANGED,
        FACTOR_ADDED,
        FACTOR_REMOVED,
        FACTOR_RESET,
        RECOVERY_CODE_USED,
        RECOVERY_CODES_REPLACED,
        ACCOUNT_DELETED,
    }
)
EventItem = Callable[[str], dict[str, Any]]
# Who acted, when an administrator did it through the CLI (no account of theirs is involved).
ADMIN_CLI = "admin-cli"


@dataclass(frozen=True)
class Client:
    """Where the current request came from, as the web edge saw it (empty outside a request)."""

    user_agent: str = ""
    source_ip: str = ""


client: ContextVar[Client] = ContextVar("gatehouse_client", default=Client())  # noqa: B039


@contextmanager
def from_client(seen: Client) -> Iterator[None]:
    """Attribute the events of the code run inside to ``seen`` (the web edge, per request)."""
    token = client.set(seen)
    try:
        yield
    finally:
        client.reset(token)


@dataclass(frozen=True)
class Who:
    """The account an event belongs to: its id (the key) and its name at the time."""

    account: str
    username: str
    # Where a notice goes: the address, when it is verified (else no notice).
    verified_email: str = ""

    @classmethod
    def of(cls, account: Account) -> Who:
        """``account``'s events; a :class:`User` as read also brings its verified address."""
        verified = account.email if isinstance(account, User) and account.email_verified else ""
        return cls(account.account_id, account.username, verified)


def who(rt: AccountServices, account: Account) -> Who:
    """``account``, with its verified address read (for an event with a notice)."""
    contact = rt.account_email.contact(account.username, account.account_id)
    verified = contact.email if contact is not None and contact.verified else ""
    return Who(account.account_id, account.username, verified)


def new_event(
    rt: AccountServices,
    who: Who,
    kind: str,
    *,
    device: str = "",
    session: str = "",
    actor: str = "",
    detail: str = "",
) -> Event:
    now_ms = int(rt.clock() * 1000)
    seen = client.get()
    return Event(
        account=who.account,
        event_id=new_event_id(now_ms),
        kind=kind,
        at=now_ms // 1000,
        expires_at=now_ms // 1000 + rt.settings.event_retention_days * 86400,
        username=who.username,
        device=device,
        user_agent=seen.user_agent,
        source_ip=seen.source_ip,
        session=session,
        actor=actor,
        detail=detail,
    )


def record(
    rt: AccountServices,
    who: Who,
    kind: str,
    *,
    device: str = "",
    session: str = "",
    actor: str = "",
    detail: str = "",
    notice: bool = False,
    more: Mapping[str, str] | None = None,
) -> Event:
    """Write one event of ``who``'s account (one ``PutItem``); with ``notice``, mail its notice too.

    ``notice`` is honoured for the kinds in :data:`NOTICES`, to ``who``'s
    verified address (when it has one; else none is mailed); ``more`` are the
    kind's own template values (see :func:`send_notice`).
    """
    event = new_event(rt, who, kind, device=device, session=session, actor=actor, detail=detail)
    rt.events.put(event)
    if notice and kind in NOTICES:
        send_notice(rt, who, kind, event, more=more)
    return event


def login_item(rt: AccountServices, who: Who, device: str, *, new_device: bool) -> tuple[Event, EventItem]:
    """A successful login's event, written as an item of the login's own transaction.

    Returns the event and a function of the new session's id giving the
    transaction item: recording a login costs no request of its own.
    """
    event = new_event(rt, who, LOGIN_SUCCEEDED, device=device, detail=NEW_DEVICE if new_device else "")

    def item(sid: str) -> dict[str, Any]:
        return rt.events.put_item(replace(event, session=sid))

    return event, item


def logged_in(rt: AccountServices, who: Who, event: Event) -> None:
    """After a login's transaction: its log line (a metric) and, from a new device, the notice."""
    logs.event("login", outcome="succeeded", user=who.username, metrics={logs.LOGINS_SUCCEEDED: 1})
    if event.detail == NEW_DEVICE and rt.settings.new_device_notice:
        send_notice(rt, who, NEW_DEVICE, event)


def failed_login(rt: AccountServices, user: User | None, device: str, failures: int) -> None:
    """A refused password: an event on the account it named, if any (``locked_out`` when this
    failure started the back-off).  A name without an account makes the same one request, which
    writes nothing, so the two cannot be told apart by their requests.  ``failures`` is what the
    attempt counter said (0: the name was malformed, nothing was counted or read)."""
    locked = failures == rt.lockout.threshold
    if failures == 0:
        pass
    elif user is None:
        rt.events.put_nothing()
    else:
        kind = LOCKED_OUT if locked else LOGIN_FAILED
        rt.events.put(new_event(rt, Who.of(user), kind, device=device))
    logs.event(
        "login",
        outcome="failed",
        user=user.username if user else None,
        metrics={logs.LOGINS_FAILED: 1, **({logs.LOCKOUTS: 1} if locked else {})},
    )


def send_notice(
    rt: AccountServices,
    who: Who,
    kind: str,
    event: Event,
    *,
    to: str | None = None,
    more: Mapping[str, str] | None = None,
) -> bool:
    """Mail ``kind``'s notice about ``event`` to ``to`` (default: ``who``'s verified address).

    Every notice template gets ``$username``, ``$when`` and ``$device``;
    ``more`` adds a kind's own (``$new_address`` for an address change;
    ``$remaining`` and ``$replace_advice`` for a recovery code used, see
    :func:`gatehouse.accounts.mfa.codes_left`).
    """
    address = who.verified_email if to is None else to
    if not address:
        return False
    values = {
        **(more or {}),
        "username": who.username,
        "when": when(event.at),
        "device": device_text(event),
    }
    message = compose(
        f"notice_{kind}", address, f"Security notice: {kind}", values, templates=rt.mail_templates
    )
    return outbox.deliver(rt, message, account_id=who.account)


def _plain(text: str, limit: int) -> str:
    kept = "".join(c if " " <= c <= "~" else "?" for c in text)
    return kept if len(kept) <= limit else kept[: limit - 3] + "..."


def when(at: int) -> str:
    return datetime.datetime.fromtimestamp(at, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def device_text(event: Event) -> str:
    """``"laptop" (Firefox/128.0), from 203.0.113.7``: what the notice says about the device.

    The device name and user agent are the client's own words, so a notice
    shows them only as printable ASCII, cut short: they cannot carry a
    convincing message of their own into the owner's mailbox.
    """
    parts = []
    if event.device:
        parts.append(f'"{_plain(event.device, 40)}"')
    if event.user_agent:
        agent = _plain(event.user_agent, 120)
        parts.append(f"({agent})" if parts else agent)
    described = " ".join(parts) or "an unnamed device"
    if event.source_ip:
        described += f", from {event.source_ip}"
    return described


# -- reading them ------------------------------------------------------------------------------


def own_events(
    rt: AccountServices, identity: Identity, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the caller's own events, newest first, and the cursor of the next page."""
    return _page(rt, identity.account_id, limit, cursor)


def events_of(
    rt: AccountServices, raw_username: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of an existing account's events (an administrator's view), newest first."""
    username = normalize_username(raw_username)
    user = rt.users.get(username) if USERNAME_PATTERN.fullmatch(username) else None
    if user is None:
        raise NoSuchUser()
    return _page(rt, user.account_id, limit, cursor)


def events_of_account(
    rt: AccountServices, account: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the events under an account id, whether or not the account still exists
    (an operator reading a deleted account's activity)."""
    return _page(rt, account, limit, cursor)


def _page(
    rt: AccountServices, account: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    cursor = checked_cursor(cursor, EVENT_ID_PATTERN)
    events, following = rt.events.page(account, limit, rt.now(), cursor)
    return [e.public() for e in events], following
