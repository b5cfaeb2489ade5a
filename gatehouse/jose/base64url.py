"""Unpadded base64url (RFC 7515 section 2, RFC 4648 section 5): the package's one implementation.

Decoding accepts the canonical spelling only: no padding, no characters
outside the URL-safe alphabet, and zero unused trailing bits.  Every other
spelling of the same bytes is refused, so one token, key member or device
token has exactly one spelling, and a signed value cannot be re-spelt into
a second string that still verifies.
"""

from __future__ import annotations

import base64
import binascii
import re

_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")
# The last character of a canonical string by its length mod 4: with 2 (3) characters
# in the last group, its low 4 (2) bits are unused and must be zero.
_CANONICAL_LAST = {2: frozenset("AQgw"), 3: frozenset("AEIMQUYcgkosw048")}


def encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode(text: str) -> bytes:
    """The bytes of a canonical unpadded base64url string; ValueError for anything else."""
    if len(text) % 4 == 1 or _ALPHABET.fullmatch(text) is None:
        raise ValueError("not unpadded base64url")
    last_group = len(text) % 4
    if last_group and text[-1] not in _CANONICAL_LAST[last_group]:
        # Non-zero unused bits: a second spelling of the same bytes.
        raise ValueError("not canonical base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not unpadded base64url") from None
