"""The authorizer's check that a token's session is still live.

One strongly consistent read of the session per (``sub``, ``sid``) per
cache window (``SessionRepository.get`` reads the row keyed by both, with
``ConsistentRead``; ``sub`` is the account id, so a later account of the
same name never owns a session of the old one).  What is cached
is the session's owner (account id and username) and absolute expiry, not a
yes/no answer, so every token is compared with them on every call: a cached
session never vouches for a token of another ``sub`` or ``username``, nor
past its own ``expires_at``.  A session
is re-read after ``ttl`` seconds, so an ended (deleted) one is noticed
within that bound.  Two answers are final and never re-read: a missing
session (ids are random and created only if absent, so it never comes
back) and one past its absolute ``expires_at`` (which nothing extends).
Any failure to read propagates to the caller, which denies: the check
fails closed, and nothing is cached for it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from gatehouse.jose.access_tokens import AccessClaims

if TYPE_CHECKING:
    from gatehouse.storage.sessions import Session

MAX_ENTRIES = 10_000


class _Seen(NamedTuple):
    owner: str | None  # the account id; None: no such session
    username: str
    expires_at: int
    checked_at: int

    def vouches_for(self, claims: AccessClaims, now: int) -> bool:
        return (
            self.owner is not None
            and self.owner == claims.sub
            and self.username == claims.username
            and now < self.expires_at
        )

    def is_final(self, now: int) -> bool:
        return self.owner is None or now >= self.expires_at


class SessionCheck:
    def __init__(
        self, load: Callable[[str, str], Session | None], ttl: int, max_entries: int = MAX_ENTRIES
    ) -> None:
        self._load = load
        self._ttl = ttl
        self._max_entries = max_entries
        self._lock = threading.Lock()
        # (sub, sid) -> what the last read saw; insertion order doubles as age for eviction.
        self._cache: OrderedDict[tuple[str, str], _Seen] = OrderedDict()

    def is_live(self, claims: AccessClaims, now: int) -> bool:
        key = (claims.sub, claims.sid)
        with self._lock:
            seen = self._cache.get(key)
        if seen is not None and (seen.is_final(now) or now < seen.checked_at + self._ttl):
            return seen.vouches_for(claims, now)
        session = self._load(claims.sub, claims.sid)
        if session is None:
            seen = _Seen(owner=None, username="", expires_at=0, checked_at=now)
        else:
            seen = _Seen(
                owner=session.account_id,
                username=session.username,
                expires_at=session.expires_at,
                checked_at=now,
            )
        with self._lock:
            self._cache[key] = seen
            self._cache.move_to_end(key)
            while len(self._cache) > self._max_entries:
                self._cache.popitem(last=False)
        return seen.vouches_for(claims, now)
