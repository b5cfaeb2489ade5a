"""The one rule for a page cursor a client hands back: it must look like a key this layer made.

Every paginated list (sessions, security events, the admin's user list)
hands out the key of its last item as the next page's cursor.  A cursor is
checked against the shape of those keys before it reaches a table as a
key, so a forged one is a clear 400, never a read of another kind of record.
"""

from __future__ import annotations

import re

from gatehouse.errors import InvalidRequest


def checked_cursor(cursor: str | None, key_pattern: re.Pattern[str]) -> str | None:
    """``cursor`` when it is absent or has the shape of this list's keys; else InvalidRequest."""
    if cursor is not None and not key_pattern.fullmatch(cursor):
        raise InvalidRequest("cursor is not valid: use the one from the Link header.")
    return cursor
