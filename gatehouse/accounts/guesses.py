"""Guesses at mailed codes, counted per source address: never per account or per code.

A limit per code or per account is one anyone could spend: a stranger's five
wrong guesses would kill the owner's code.  Mailed codes are long enough
(60 bits) that guessing is hopeless without any such limit, so a guess is
counted only against the address it came from, before the code is compared,
and past the cap that address gets 429 for the rest of the window.
"""

from __future__ import annotations

from gatehouse import logs
from gatehouse.accounts import outbox
from gatehouse.accounts.ports import AccountServices
from gatehouse.errors import TooManyAttempts
from gatehouse.storage.mail_quota import Cap

# Guesses one source address may make at one kind of code: (limit, window in seconds).
GUESS_CAPS = ((20, outbox.HOUR),)
# Where guesses without a source address (no API Gateway in front) are counted: all together.
NO_SOURCE = "none"


def count_guess(rt: AccountServices, kind: str, source: str | None, now: int, refusal: str) -> None:
    """Count one guess at a ``kind`` code (``reset``, ``verify``) from ``source``, or refuse it
    with :class:`TooManyAttempts` carrying ``refusal`` once the source's cap is reached."""
    caps = [Cap(f"{kind}-attempt", source or NO_SOURCE, limit, window) for limit, window in GUESS_CAPS]
    if not rt.mail_quota.take(caps, now):
        logs.event("code_guess", code=kind, outcome="source_capped")
        window = GUESS_CAPS[0][1]
        raise TooManyAttempts(window - now % window, refusal)
