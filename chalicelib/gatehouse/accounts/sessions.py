"""Sessions over time: open, refresh (rotate), revoke, list, end."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.gatehouse import logs
from chalicelib.gatehouse.accounts.refresh_tokens import (
    MalformedRefreshToken,
    RefreshToken,
    looks_like_refresh_token,
    new_refresh_token,
    parse_refresh_token,
    seal,
    unseal,
)
from chalicelib.gatehouse.errors import InvalidGrant, NoSuchSession
from chalicelib.gatehouse.runtime import Runtime
from chalicelib.gatehouse.storage.sessions import Session
from chalicelib.gatehouse.storage.users import User
from chalicelib.gatehouse.verify.identity import Identity
from chalicelib.gatehouse.verify.tokens import TokenError, issue_access_token, verify_access_token

MAX_REFRESH_ATTEMPTS = 3


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    expires_in: int
    refresh_token: str

    def body(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
        }

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> TokenGrant:
        return cls(str(body["access_token"]), int(body["expires_in"]), str(body["refresh_token"]))


def _grant(rt: Runtime, user: User, sid: str, refresh: RefreshToken, now: int) -> TokenGrant:
    access, _ = issue_access_token(
        rt.signing_key, rt.rules, subject=user.username, session_id=sid, roles=user.roles, now=now
    )
    return TokenGrant(access, rt.settings.access_token_ttl, refresh.value)


def open_session(
    rt: Runtime, user: User, device: str, together_with: Sequence[dict[str, Any]] = ()
) -> TokenGrant:
    now = rt.now()
    sid = secrets.token_urlsafe(16)
    refresh = new_refresh_token(sid)
    # Sign first: if the key cannot be loaded no orphan session is written.
    grant = _grant(rt, user, sid, refresh, now)
    rt.sessions.create(
        Session(
            sid=sid,
            username=user.username,
            device=device,
            created_at=now,
            last_used_at=now,
            expires_at=now + rt.settings.session_ttl,
            refresh_hash=refresh.digest,
        ),
        together_with,
    )
    return grant


def _same(a: str, b: str) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a, b)


def refresh(rt: Runtime, value: str) -> TokenGrant:
    """Rotate a refresh token (RFC 6749 section 6, with OAuth 2.1 rotation and reuse detection)."""
    try:
        presented = parse_refresh_token(value)
    except MalformedRefreshToken:
        raise InvalidGrant("The refresh token is not valid.") from None
    digest = presented.digest
    for _ in range(MAX_REFRESH_ATTEMPTS):
        now = rt.now()
        session = rt.sessions.get(presented.sid)
        # The TTL sweep runs late (up to days): expiry is checked here, not left to it.
        if session is None or session.expires_at <= now:
            break
        if _same(digest, session.refresh_hash):
            user = rt.users.get(session.username)
            if user is None or user.disabled:
                rt.sessions.delete(session.sid)
                break
            replacement = new_refresh_token(session.sid)
            grant = _grant(rt, user, session.sid, replacement, now)
            if rt.sessions.rotate(session, replacement.digest, seal(presented, grant.body()), now):
                return grant
            continue  # another request rotated first: read again, its pair is in the grace box
        if _same(digest, session.prev_hash) and now - session.rotated_at <= rt.settings.refresh_grace:
            sealed = unseal(presented, session.grace_box)
            if sealed is not None:
                return TokenGrant.from_body(sealed)
        if _same(digest, session.prev_hash) or any(_same(digest, h) for h in session.history):
            rt.sessions.delete(session.sid)
            logs.event("refresh_reuse", user=session.username, outcome="session_ended")
            raise InvalidGrant("The refresh token was already used; the session has ended.")
        break
    raise InvalidGrant("The refresh token is not valid.")


def revoke(rt: Runtime, value: str) -> None:
    """RFC 7009: end the session a refresh or access token belongs to; unknown tokens are no error."""
    if looks_like_refresh_token(value):
        presented = parse_refresh_token(value)
        session = rt.sessions.get(presented.sid)
        digest = presented.digest
        if session is None:
            return
        # Only a token this session really issued may end it (not just its sid).
        if any(_same(digest, h) for h in (session.refresh_hash, session.prev_hash, *session.history)):
            rt.sessions.delete(session.sid)
        return
    try:
        claims = verify_access_token(value, rt.keyset, rt.rules, now=rt.now())
    except TokenError:
        return
    rt.sessions.delete(claims.sid, claims.sub)


def list_sessions(rt: Runtime, identity: Identity) -> list[dict[str, Any]]:
    now = rt.now()
    live = [s for s in rt.sessions.list_for(identity.username) if s.expires_at > now]
    return [s.public(identity.session_id) for s in sorted(live, key=lambda s: (s.created_at, s.sid))]


def end_session(rt: Runtime, identity: Identity, sid: str) -> None:
    # Another user's session id is "not found", exactly like one that never existed.
    if not rt.sessions.delete(sid, identity.username):
        raise NoSuchSession()


def end_all_sessions(rt: Runtime, username: str, keep: str | None = None) -> int:
    return rt.sessions.delete_all_for(username, keep=keep)
