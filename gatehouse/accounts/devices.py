"""Device tokens (OWASP's "device cookies"): devices that logged in before are not locked out by the name.

A successful password grant hands the client a device token bound to the
user.  A later password grant that carries a valid one is counted against
the account's one device budget, shared by every device token of the
account (so collecting tokens multiplies no guesses), and the name's lockout
does not apply to it: an attacker hammering a name (who cannot have a device
token for it) locks the name for new devices, never the owner's own.

The token is ``base64url(id || MAC)``: 128 random bits and a 128-bit
HMAC-SHA-256 tag over the account's id, its credential version and the id,
so a token dies with its account (a new account of the same name has
another id) and with its credentials (a password change or reset, a
disable, "end every session" all bump the version), under a key derived (HKDF)
from the service's private signing key.  Nothing is stored: the server
checks a token by recomputing its tag, with each stored signing key, so a
token outlives a key rotation until the old key is retired; then it is
simply no device token any more (the login still works, counted per name).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from gatehouse.accounts.ports import AccountServices
from gatehouse.jose import base64url
from gatehouse.jose.keys import SigningKey
from gatehouse.storage.users import User

ID_BYTES = 16
TAG_BYTES = 16
MAX_DEVICE_TOKEN_INPUT = 64
_FORMAT = re.compile(r"[A-Za-z0-9_-]{43}")


def _mac_key(signing_key: SigningKey) -> bytes:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    secret = signing_key.key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"gatehouse device token").derive(
        secret
    )


def _tag(key: bytes, user: User, device_id: bytes) -> bytes:
    account = f"{user.account_id}\x00{user.cred_version}".encode()
    message = b"gatehouse-device\x00" + account + b"\x00" + device_id
    return hmac.new(key, message, hashlib.sha256).digest()[:TAG_BYTES]


_b64 = base64url.encode


def issue(rt: AccountServices, user: User) -> str:
    device_id = secrets.token_bytes(ID_BYTES)
    return _b64(device_id + _tag(_mac_key(rt.signing_key), user, device_id))


def device_id(rt: AccountServices, user: User, token: str | None) -> str | None:
    """The id of ``token`` when it is a valid device token of ``user``'s account, else None."""
    if token is None or not _FORMAT.fullmatch(token):
        return None
    try:
        raw = base64url.decode(token)  # canonical spelling only
    except ValueError:
        return None
    if len(raw) != ID_BYTES + TAG_BYTES:
        return None
    ident, tag = raw[:ID_BYTES], raw[ID_BYTES:]
    for key in rt.signing_keys:
        if hmac.compare_digest(tag, _tag(_mac_key(key), user, ident)):
            return _b64(ident)
    return None
