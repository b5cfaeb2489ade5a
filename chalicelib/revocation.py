"""The authorizer's check that a token's session is still live.

One strongly consistent read of the session per ``sid`` per cache window.
A live answer is trusted for ``ttl`` seconds; a dead session never comes
back, so a dead answer is kept for good.  Any failure to read propagates to
the caller, which denies: the check fails closed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from chalicelib.sessions import Session
from chalicelib.tokens import AccessClaims

MAX_ENTRIES = 10_000


class SessionCheck:
    def __init__(
        self, load: Callable[[str], Session | None], ttl: int, max_entries: int = MAX_ENTRIES
    ) -> None:
        self._load = load
        self._ttl = ttl
        self._max_entries = max_entries
        self._lock = threading.Lock()
        # sid -> (live, checked_at); insertion order doubles as age for eviction.
        self._cache: OrderedDict[str, tuple[bool, int]] = OrderedDict()

    def is_live(self, claims: AccessClaims, now: int) -> bool:
        with self._lock:
            cached = self._cache.get(claims.sid)
        if cached is not None:
            live, checked_at = cached
            if not live or now < checked_at + self._ttl:
                return live
        session = self._load(claims.sid)
        live = session is not None and session.username == claims.sub and session.expires_at > now
        with self._lock:
            self._cache[claims.sid] = (live, now)
            self._cache.move_to_end(claims.sid)
            while len(self._cache) > self._max_entries:
                self._cache.popitem(last=False)
        return live
