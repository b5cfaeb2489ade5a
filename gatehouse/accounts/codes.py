"""One-time codes sent by mail: generated, normalised as typed, and stored only as a hash.

Codes use Crockford's base32 alphabet (no I, L, O or U), so a code read off
a phone and typed elsewhere survives the usual confusions: case, ``O`` for
``0``, ``I``/``L`` for ``1``, spaces and dashes are all forgiven.

A password reset code has 12 characters (60 bits), mailed in three groups
of four.  Wrong guesses never kill it (that would let anyone deny the owner
a reset, see :mod:`gatehouse.accounts.recovery`); its entropy is what keeps
guessing hopeless: guesses are counted per source address, and even every
request API Gateway admits in a code's 15-minute life (10,000 a second, its
default account limit) has a chance below 10^-10 against the at most
:data:`MAX_LIVE_RESET_CODES` live codes of an account.  Someone who could
read the users table would need about 2^59 SHA-256 evaluations per code,
which is why a fast hash is enough.  An email verification code is made
and guessed the same way, for the same reason: anyone may guess at it, and
an address that could never be verified could never receive a reset code
(:mod:`gatehouse.accounts.email_address`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RESET_CODE_LENGTH = 12
# How a reset code is shown in a mail: groups of this many characters, joined by dashes.
RESET_CODE_GROUP = 4
# Reset codes one account may hold at once.  The mail caps admit at most 3 anonymous
# reset mails to an address per clock hour and 3 from the account's devices, so within
# any code life of up to an hour (two clock hours at most) at most 12 can be alive:
# a new code is never refused for room.
MAX_LIVE_RESET_CODES = 12
# As long as a reset code, for the same reason: no wrong guess may kill one.
EMAIL_CODE_LENGTH = RESET_CODE_LENGTH
# Longer input is refused before any work is done on it.
MAX_CODE_INPUT = 64
_TYPO = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_code(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def grouped(code: str) -> str:
    """``code`` as a mail shows it: ``ABCD-EFGH-JKMN`` (the dashes are forgiven when typed)."""
    return "-".join(code[i : i + RESET_CODE_GROUP] for i in range(0, len(code), RESET_CODE_GROUP))


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
