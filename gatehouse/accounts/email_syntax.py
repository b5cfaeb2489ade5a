"""What an email address may be, and its one canonical spelling.

The domain is case-insensitive everywhere and is lower-cased; the local part
is kept as typed (some mail servers honour its case).  Uniqueness across
accounts is decided on the fully lower-cased address, so ``Alice@x.org`` and
``alice@x.org`` cannot belong to two accounts.  Only plain ASCII addresses
are accepted: what SES delivers without extra encoding, and nothing a
look-alike character could hide in.
"""

from __future__ import annotations

import re

from gatehouse.errors import InvalidRequest

MAX_EMAIL_LENGTH = 254  # RFC 5321's path limit, minus the angle brackets
MAX_LOCAL_LENGTH = 64
# Longer input is refused before any normalising work is done on it.
MAX_EMAIL_INPUT = 320
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"({_LABEL}\.)+[a-z]{{2,63}}|({_LABEL}\.)+xn--[a-z0-9-]{{1,59}}")
INVALID = "email must be an address like name@example.com (plain ASCII, at most 254 characters)."


def normalize_email(raw: str) -> str:
    """The canonical form of ``raw``, or ``InvalidRequest``."""
    address = raw.strip()
    local, at, domain = address.rpartition("@")
    domain = domain.lower()
    if (
        not at
        or len(address) > MAX_EMAIL_LENGTH
        or len(local) > MAX_LOCAL_LENGTH
        or not address.isascii()
        or not _LOCAL.fullmatch(local)
        or not _DOMAIN.fullmatch(domain)
    ):
        raise InvalidRequest(INVALID)
    return f"{local}@{domain}"
