"""One-time codes sent by mail: generated, normalised as typed, and stored only as a hash.

Codes use Crockford's base32 alphabet (no I, L, O or U), so a code read off
a phone and typed elsewhere survives the usual confusions: case, ``O`` for
``0``, ``I``/``L`` for ``1``, spaces and dashes are all forgiven.

A password reset code has 10 characters (50 bits): with at most 5 guesses
per code, online guessing is hopeless, and even someone who could read the
users table would need about 2^49 SHA-256 evaluations per code, far beyond
its 15-minute life.  That entropy is why a fast hash is enough.  An email
verification code has 8 characters (40 bits): it only proves a mailbox.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RESET_CODE_LENGTH = 10
EMAIL_CODE_LENGTH = 8
# Wrong guesses a code survives: the fifth wrong one kills it.
MAX_CODE_FAILURES = 5
# Longer input is refused before any work is done on it.
MAX_CODE_INPUT = 64
_TYPO = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_code(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def normalize_code(raw: str) -> str | None:
    """The code as issued, or None when ``raw`` cannot be one of ours."""
    code = raw.replace("-", "").replace(" ", "").upper().translate(_TYPO)
    if not code or any(c not in ALPHABET for c in code):
        return None
    return code


def code_digest(purpose: str, account_id: str, code: str) -> str:
    """What the table keeps: bound to the purpose and the account's id (not its reusable name),
    so no digest works for another purpose or another account."""
    return hashlib.sha256(f"gatehouse {purpose}\0{account_id}\0{code}".encode()).hexdigest()


def same_digest(a: str, b: str) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a, b)
