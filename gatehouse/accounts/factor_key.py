"""The data key that encrypts TOTP secrets at rest (AES-256-GCM), held like the signing key.

A stolen copy of the users table (a backup, an export, a read-only role)
must not yield anyone's second factor.  So the TOTP secret is stored only
sealed: AES-GCM with a 256-bit data key that lives in a SecureString SSM
parameter (``GATEHOUSE_MFA_KEY_PARAM``) which only the auth function's role
may read, made by the admin CLI (``create-mfa-key``).  The associated data
binds each ciphertext to its account: a sealed secret copied onto another
account's row does not open.

The parameter holds ``{"keys": [{"kid": ..., "k": ...}]}``, newest first: the
newest seals, every listed key opens (``rotate-mfa-key`` adds one in front;
secrets sealed under an older key still open until it is removed).

A sealed value is ``v1.<kid>.<base64url(nonce || ciphertext+tag)>``.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
from dataclasses import dataclass
from typing import Any

from gatehouse.errors import ConfigError, GatehouseError

KEY_BYTES = 32
NONCE_BYTES = 12  # GCM's standard nonce, random per message (far below the 2^32 messages bound)
VERSION = "v1"
_KID = re.compile(r"[A-Za-z0-9_-]{1,32}")


class SealedSecretError(GatehouseError):
    """A stored secret does not open: wrong key, wrong account, or altered (never the client's fault)."""

    code = "server_misconfigured"
    public = False


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_data_key(now: int) -> dict[str, str]:
    """A new key entry for the parameter (the admin CLI stores it)."""
    return {"kid": f"{now:x}-{secrets.token_hex(3)}", "k": _b64(os.urandom(KEY_BYTES))}


def dump_keys(keys: list[dict[str, str]]) -> str:
    return json.dumps({"keys": keys}, separators=(",", ":"))


def entries_of(value: str) -> list[dict[str, str]]:
    """The key entries of a parameter's value, checked (``ConfigError`` naming the setting if not)."""
    try:
        document: Any = json.loads(value)
        entries = document["keys"]
        if not isinstance(entries, list) or not entries:
            raise ValueError
        out = []
        for entry in entries:
            kid, k = entry["kid"], entry["k"]
            if not isinstance(kid, str) or not _KID.fullmatch(kid) or len(_unb64(k)) != KEY_BYTES:
                raise ValueError
            out.append({"kid": kid, "k": k})
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise ConfigError(
            "The MFA data key (GATEHOUSE_MFA_KEY_PARAM) is not a key list made by "
            "`python -m gatehouse.admin create-mfa-key`."
        ) from None
    return out


@dataclass(frozen=True)
class DataKeys:
    """Every stored data key, newest first."""

    keys: tuple[tuple[str, bytes], ...]

    @classmethod
    def parse(cls, value: str) -> DataKeys:
        return cls(tuple((e["kid"], _unb64(e["k"])) for e in entries_of(value)))

    def seal(self, plaintext: str, account: str) -> str:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        kid, key = self.keys[0]
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(key).encrypt(nonce, plaintext.encode("utf-8"), _associated(kid, account))
        return f"{VERSION}.{kid}.{_b64(nonce + sealed)}"

    def open(self, sealed: str, account: str) -> str:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        version, _, rest = sealed.partition(".")
        kid, _, body = rest.partition(".")
        key = dict(self.keys).get(kid)
        if version != VERSION or key is None:
            raise SealedSecretError("A sealed TOTP secret names no stored MFA data key (was it removed?).")
        try:
            raw = _unb64(body)
            plain = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _associated(kid, account))
        except (InvalidTag, ValueError, binascii.Error):
            raise SealedSecretError("A sealed TOTP secret does not open with its key and account.") from None
        return plain.decode("utf-8")


def _associated(kid: str, account: str) -> bytes:
    return f"gatehouse-totp\x00{VERSION}\x00{kid}\x00{account}".encode()
