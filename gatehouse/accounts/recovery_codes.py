"""Recovery codes: ten one-time look-up secrets (NIST SP 800-63B-4 section 3.1.2) for a lost phone.

Each code is 80 bits from :mod:`secrets`, written as 16 base32 characters
(RFC 4648: A-Z, 2-7) in groups of four (``K7QM-3XWD-PZ2A-HN5E``), so it is typed without
ambiguity and guessed with no better chance than 2^-80 per try.  Only a digest
is stored: the codes are shown once, at enrolment.  With that much entropy a
plain SHA-256 is as good as a slow hash (nothing to brute-force), and lets the
store spend a code with one conditional write on its digest.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

COUNT = 10
CODE_BYTES = 10  # 80 bits: at least 64, as the rules ask
GROUP = 4
MAX_RECOVERY_CODE_INPUT = 64
_SHAPE = re.compile(r"[A-Z2-7]{16}")


def new_codes(count: int = COUNT) -> list[str]:
    return [_format(base64.b32encode(secrets.token_bytes(CODE_BYTES)).decode("ascii")) for _ in range(count)]


def _format(letters: str) -> str:
    return "-".join(letters[i : i + GROUP] for i in range(0, len(letters), GROUP))


def normalize(raw: str) -> str | None:
    """The code's letters (case, spaces and dashes as typed do not matter), else None."""
    letters = re.sub(r"[\s-]", "", raw).upper()
    return letters if _SHAPE.fullmatch(letters) else None


def digest(raw: str) -> str | None:
    """What the store keeps of a code (None for input that cannot be a code)."""
    letters = normalize(raw)
    if letters is None:
        return None
    return hashlib.sha256(b"gatehouse-recovery-code\x00" + letters.encode("ascii")).hexdigest()
