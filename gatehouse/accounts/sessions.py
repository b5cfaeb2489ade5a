"""Sessions over time: open, refresh (rotate), revoke, list, end."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gatehouse import logs
from gatehouse.accounts import activity
from gatehouse.accounts.paging import checked_cursor
from gatehouse.accounts.ports import Account, AccountServices
from gatehouse.accounts.refresh_tokens import (
    MalformedRefreshToken,
    RefreshToken,
    looks_like_refresh_token,
    new_refresh_token,
    next_refresh_token,
    parse_refresh_token,
    seal,
    unseal,
)
from gatehouse.authorizer.identity import Identity
from gatehouse.errors import InvalidGrant, NoSuchSession, StoreError
from gatehouse.jose.access_tokens import PASSWORD_ONLY, AccessClaims, issue_access_token, verify_access_token
from gatehouse.jose.errors import TokenError
from gatehouse.storage.sessions import SID_PATTERN, Session, new_sid
from gatehouse.storage.users import User

MAX_REFRESH_ATTEMPTS = 3
# A transaction holds at most 100 items; a login needs a few of its own.
MAX_ENDED_PER_LOGIN = 90


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    expires_in: int
    refresh_token: str
    device_token: str | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
        }
        if self.device_token is not None:
            body["device_token"] = self.device_token
        return body

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> TokenGrant:
        return cls(str(body["access_token"]), int(body["expires_in"]), str(body["refresh_token"]))


def _grant(
    rt: AccountServices, user: User, sid: str, refresh: RefreshToken, now: int, amr: Sequence[str] = ()
) -> TokenGrant:
    access, _ = issue_access_token(
        rt.signing_key,
        rt.rules,
        subject=user.account_id,
        username=user.username,
        session_id=sid,
        roles=user.roles,
        now=now,
        amr=tuple(amr) or PASSWORD_ONLY,
    )
    return TokenGrant(access, rt.settings.access_token_ttl, refresh.value)


def open_session(
    rt: AccountServices,
    user: User,
    device: str,
    together_with: Mapping[str, dict[str, Any]] | None = None,
    *,
    new_hash: str | None = None,
    amr: Sequence[str] = (),
    event: Callable[[str], dict[str, Any]] | None = None,
) -> TokenGrant:
    """Open a session for ``user`` as read (fresh) from the users table.

    One transaction writes the session, checks that the user is still enabled
    and still has the credential version it was read with (else
    ``InvalidGrant``: a password change, a disable or an "end all sessions"
    came in between, and this login is refused rather than missed), ends the
    oldest sessions past the per-user cap, and carries ``together_with``.
    The check names the account's id too: a login that read an account which
    was deleted meanwhile never opens a session in a later account of the name.
    """
    now = rt.now()
    sid = new_sid(int(rt.clock() * 1000))
    refresh = new_refresh_token(user.account_id, sid)
    # Sign first: if the key cannot be loaded no orphan session is written.
    grant = _grant(rt, user, sid, refresh, now, amr)
    live = [k for k in rt.sessions.keys_for(user.account_id) if k.expires_at > now]
    excess = live[: max(0, len(live) - rt.settings.max_sessions_per_user + 1)][:MAX_ENDED_PER_LOGIN]
    items = {"user": rt.users.unchanged_since(user, new_hash), **(together_with or {})}
    items.update({f"ended {k.sid}": rt.sessions.delete_item(k) for k in excess})
    if event is not None:
        items["event"] = event(sid)  # the login's security event, made from the new session's id
    failed = rt.sessions.create(
        Session(
            sid=sid,
            account_id=user.account_id,
            username=user.username,
            device=device,
            created_at=now,
            last_used_at=now,
            expires_at=now + rt.settings.session_ttl,
            refresh_hash=refresh.digest,
            generation=refresh.generation,
            family_hash=refresh.family_digest,
            amr=tuple(amr),
        ),
        items,
    )
    # The user's item (credentials changed, disabled or deleted since it was read) or one the
    # caller added (a second-factor challenge used up by another request): refused.
    if failed & {"user", *(together_with or {})}:
        raise InvalidGrant()
    if failed:
        raise StoreError("A login's transaction failed a condition it does not set.")
    return grant


def _same(a: str, b: str) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a, b)


def refresh(rt: AccountServices, value: str) -> TokenGrant:
    """Rotate a refresh token (RFC 6749 section 6, with OAuth 2.1 rotation and reuse detection)."""
    try:
        presented = parse_refresh_token(value)
    except MalformedRefreshToken:
        raise InvalidGrant("The refresh token is not valid.") from None
    digest = presented.digest
    for _ in range(MAX_REFRESH_ATTEMPTS):
        now = rt.now()
        session = rt.sessions.get(presented.account_id, presented.sid)
        # The TTL sweep runs late (up to days): expiry is checked here, not left to it.
        # Not of this session's family: not one of its tokens (nothing to end).
        if (
            session is None
            or session.expires_at <= now
            or not _same(presented.family_digest, session.family_hash)
        ):
            break
        if presented.generation == session.generation and _same(digest, session.refresh_hash):
            # The account the session was opened in, not whoever holds its name now.
            user = rt.users.get_account(session.username, session.account_id)
            if user is None or user.disabled:
                rt.sessions.delete(session.account_id, session.sid)
                break
            replacement = next_refresh_token(presented)
            grant = _grant(rt, user, session.sid, replacement, now, session.amr)
            # Conditional on the row still holding the presented hash: a session
            # ended meanwhile (deleted) is never written back.
            if rt.sessions.rotate(session, replacement.digest, seal(presented, grant.body()), now):
                return grant
            continue  # another request rotated first: read again, its pair is in the grace box
        just_retired = presented.generation == session.generation - 1 and _same(digest, session.prev_hash)
        if just_retired and now - session.rotated_at <= rt.settings.refresh_grace:
            sealed = unseal(presented, session.grace_box)
            if sealed is not None:
                return TokenGrant.from_body(sealed)
        if presented.generation < session.generation:
            # A retired token of the family, however many rotations ago: reuse.
            rt.sessions.delete(session.account_id, session.sid)
            logs.event(
                "refresh_reuse",
                account=session.account_id,
                outcome="session_ended",
                metrics={logs.REFRESH_REUSE: 1},
            )
            activity.record(rt, activity.Who.of(session), activity.REFRESH_REUSE, session=session.sid)
            raise InvalidGrant("The refresh token was already used; the session has ended.")
        break
    raise InvalidGrant("The refresh token is not valid.")


def revoke(rt: AccountServices, value: str) -> None:
    """RFC 7009: end the session a refresh or access token belongs to; unknown tokens are no error."""
    if looks_like_refresh_token(value):
        presented = parse_refresh_token(value)
        session = rt.sessions.get(presented.account_id, presented.sid)
        digest = presented.digest
        if session is None:
            return
        # Only a token of this session's family may end it (not just its sid): the current one,
        # or a retired one (which would end it by reuse anyway).
        of_family = _same(presented.family_digest, session.family_hash)
        current = presented.generation == session.generation and _same(digest, session.refresh_hash)
        if of_family and (current or presented.generation < session.generation):
            _revoked(rt, session, rt.sessions.delete(session.account_id, session.sid))
        return
    try:
        claims = verify_access_token(value, rt.keyset, rt.rules, now=rt.now())
    except TokenError:
        return
    if SID_PATTERN.fullmatch(claims.sid):
        _revoked(rt, claims, rt.sessions.delete(claims.sub, claims.sid))


def _revoked(rt: AccountServices, session: Session | AccessClaims, deleted: bool) -> None:
    """A session its own token signed out (RFC 7009 revocation): the account's event."""
    if deleted:
        account = session.account_id if isinstance(session, Session) else session.sub
        who = activity.Who(account, session.username)
        activity.record(rt, who, activity.SESSION_ENDED, session=session.sid, detail="revoked")


def list_sessions(
    rt: AccountServices, identity: Identity, limit: int, cursor: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the caller's live sessions, oldest first, and the cursor of the next page."""
    cursor = checked_cursor(cursor, SID_PATTERN)
    now = rt.now()
    page, following = rt.sessions.list_page(identity.account_id, limit, cursor)
    return [s.public(identity.session_id) for s in page if s.expires_at > now], following


def end_session(rt: AccountServices, identity: Identity, sid: str) -> None:
    # Another user's session id is "not found", exactly like one that never existed.
    if not SID_PATTERN.fullmatch(sid) or not rt.sessions.delete(identity.account_id, sid):
        raise NoSuchSession()
    detail = "signed_out" if sid == identity.session_id else f"ended_from_session {identity.session_id}"
    activity.record(rt, activity.Who.of(identity), activity.SESSION_ENDED, session=sid, detail=detail)


def sign_out_everywhere(rt: AccountServices, identity: Identity) -> int:
    """``DELETE /auth/sessions``: end every session of the caller, theirs included; how many ended."""
    ended = end_all_sessions(rt, identity)
    activity.record(
        rt,
        activity.Who.of(identity),
        activity.SESSION_ENDED,
        session=identity.session_id,
        detail=f"all {ended} sessions ended",
    )
    return ended


def end_all_sessions(
    rt: AccountServices, account: Account, keep: str | None = None, *, bump: bool = True
) -> int:
    """End every session of ``account`` (but ``keep``), final for every login that began before.

    First the user's credential version is bumped: a login that read the user
    before that cannot write its session any more (its transaction checks the
    version).  A login that wrote its session before the bump is found by the
    strongly consistent query that follows, and deleted.  So when this
    returns, no session opened by a login that began before it remains.
    ``bump=False`` only for a caller whose own write just bumped the version
    (a new password hash, a disable): a second bump would also refuse a
    login that already read the new state.  Returns how many sessions ended.
    """
    if bump:
        rt.users.bump_cred_version(account.username, account.account_id)
    ended = 0
    for key in rt.sessions.keys_for(account.account_id):
        if key.sid != keep and rt.sessions.delete(key.account_id, key.sid):
            ended += 1
    return ended


def end_other_sessions_after(rt: AccountServices, user: User, identity: Identity, kind: str) -> int:
    """End every session of ``user`` but the caller's after a credential change the caller made
    (its own write bumped the credential version), and record it as ``kind`` with a notice to
    the owner: someone else holding a session learns of the change by mail, and is out."""
    ended = end_all_sessions(rt, user, keep=identity.session_id, bump=False)
    activity.record(
        rt,
        activity.Who.of(user),
        kind,
        session=identity.session_id,
        detail=f"{ended} other sessions ended",
        notice=True,
    )
    return ended
