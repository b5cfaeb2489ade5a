"""Refresh tokens: opaque, 256 random bits, stored only as a hash.

A refresh token reads ``<account id>~<sid>.<generation>.<family>.<secret>``:
the account id and session id say which row to read (sessions are keyed by
account, so that one strongly consistent query finds all of an account's
sessions, and a later account of the same name has none of them), the secret
proves possession.  ``~`` cannot occur in a JWT, so a refresh token is never
mistaken for an access token.  The table keeps SHA-256 of the whole token,
never the token.

Reuse detection (OAuth 2.1: a rotated-out token presented again ends the
session) needs no memory of retired tokens.  Every token of one session is of
one *family*: 128 random bits drawn at login, carried by each of its tokens
and kept in the table as a hash only; and each token has its *generation*,
1 at login, one more at each rotation, which the session row counts too.  A
token of the family whose generation is below the row's was retired, however
many rotations ago: only a holder of one of the family's tokens knows the
family, and the row alone cannot make a token that works (the current one
needs its own secret, of which the row has the hash only).

A retry within the grace window must get back the *same* new pair, yet the
table may not hold usable tokens.  So the pair handed out on rotation is kept
sealed (AES-256-GCM) under a key derived from the *old* refresh token: only
whoever presents that old token again can open it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from dataclasses import dataclass

SECRET_BYTES = 32
FAMILY_BYTES = 16
FIRST_GENERATION = 1
_FORMAT = re.compile(
    r"^([0-9a-f]{32})~([A-Za-z0-9_-]{16,64})\.([1-9][0-9]{0,9})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$"
)
_NONCE_BYTES = 12


class MalformedRefreshToken(ValueError):
    """Not one of our refresh tokens by its shape.

    Not a :class:`~gatehouse.errors.GatehouseError`: the session use cases turn it into
    ``InvalidGrant``, the same answer as any other refresh token that does not work.
    """


@dataclass(frozen=True)
class RefreshToken:
    account_id: str
    sid: str
    generation: int
    family: str
    value: str

    @property
    def digest(self) -> str:
        return token_digest(self.value)

    @property
    def family_digest(self) -> str:
        return token_digest(self.family)


def token_digest(value: str) -> str:
    # A fast hash is right here: the input has 256 bits of entropy, so there
    # is nothing for a slow hash to protect against.
    return hashlib.sha256(value.encode()).hexdigest()


def new_refresh_token(account_id: str, sid: str) -> RefreshToken:
    """The first token of a new session: generation 1 of a new family."""
    return _token(account_id, sid, FIRST_GENERATION, secrets.token_urlsafe(FAMILY_BYTES))


def next_refresh_token(old: RefreshToken) -> RefreshToken:
    """The token that replaces ``old`` at rotation: the next generation of the same family."""
    return _token(old.account_id, old.sid, old.generation + 1, old.family)


def _token(account_id: str, sid: str, generation: int, family: str) -> RefreshToken:
    value = f"{account_id}~{sid}.{generation}.{family}.{secrets.token_urlsafe(SECRET_BYTES)}"
    return RefreshToken(account_id, sid, generation, family, value)


def parse_refresh_token(value: str) -> RefreshToken:
    match = _FORMAT.fullmatch(value)
    if match is None:
        raise MalformedRefreshToken()
    return RefreshToken(match.group(1), match.group(2), int(match.group(3)), match.group(4), value)


def looks_like_refresh_token(value: str) -> bool:
    return _FORMAT.fullmatch(value) is not None


def _key(old: RefreshToken) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"gatehouse refresh grace").derive(
        old.value.encode()
    )


def seal(old: RefreshToken, grant: dict[str, str | int]) -> str:
    """Encrypt ``grant`` so that only the holder of ``old`` can read it back."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = secrets.token_bytes(_NONCE_BYTES)
    sealed = AESGCM(_key(old)).encrypt(nonce, json.dumps(grant).encode(), old.sid.encode())
    return base64.b64encode(nonce + sealed).decode()


def unseal(old: RefreshToken, box: str) -> dict[str, str | int] | None:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        raw = base64.b64decode(box, validate=True)
        plain = AESGCM(_key(old)).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], old.sid.encode())
        grant = json.loads(plain)
    except (InvalidTag, ValueError):
        return None
    return grant if isinstance(grant, dict) else None
