"""The key set: the private signing keys, and the public keys tokens may be verified with.

Keys travel as JWKs (RFC 7517).  Each key is bound to exactly one algorithm
when it is loaded, and the verifier takes the algorithm from here, never
from a token.  Error messages name the ``kid`` at most: a JWK can hold
private material, so its contents never reach an exception.

Rotation: the private side is a list, newest first (``{"keys": [...]}``; a
single private JWK object is still accepted).  The API handler signs with
the newest key that its own public key set already publishes and whose
``nbf`` has come, so a new key is never used before every verifier knows it
(see :func:`choose_signing_key` and docs/DEPLOY.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from gatehouse.errors import ConfigError
from gatehouse.jose import base64url, signatures
from gatehouse.jose.signatures import (
    SUPPORTED_ALGORITHMS as SUPPORTED_ALGORITHMS,  # alg -> (kty, crv)
)
from gatehouse.jose.signatures import PrivateKeyObject, PublicKeyObject

DEFAULT_ALGORITHM = "EdDSA"
MAX_KID_LENGTH = 128
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "k", "oth"})
_THUMBPRINT_MEMBERS = {"OKP": ("crv", "kty", "x"), "EC": ("crv", "kty", "x", "y")}
# Our own members on a stored private JWK (RFC 7517 section 4 allows extra
# members); never published.  ``iat``: when the key was made; ``nbf``: the
# API handler signs with it only from then on.
CREATED_AT = "iat"
NOT_BEFORE = "nbf"


class KeyLoadError(ConfigError):
    code = "key_error"
    default_message = "A key could not be loaded."


class PublicKey(NamedTuple):
    kid: str
    alg: str
    key: PublicKeyObject  # built once, when the key set is loaded
    jwk: dict[str, str]


class SigningKey(NamedTuple):
    kid: str
    alg: str
    key: PrivateKeyObject
    public: PublicKey
    created_at: int = 0
    not_before: int = 0  # unix seconds; 0: usable at once


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint, used as the default ``kid``."""
    members = _THUMBPRINT_MEMBERS[jwk["kty"]]
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    import hashlib  # only where keys are made or stored: not on the verify path's cold start

    digest = hashlib.sha256(canonical.encode()).digest()
    return base64url.encode(digest)


def _check_common(jwk: object, *, private: bool) -> tuple[str, str]:
    if not isinstance(jwk, dict):
        raise KeyLoadError("A key is not a JSON object.")
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID_LENGTH:
        raise KeyLoadError("Every key needs a kid: a string of 1 to 128 characters.")
    alg = jwk.get("alg")
    if alg not in SUPPORTED_ALGORITHMS:
        raise KeyLoadError(f"Key {kid!r}: alg must be one of {', '.join(SUPPORTED_ALGORITHMS)}.")
    kty, crv = SUPPORTED_ALGORITHMS[alg]
    if jwk.get("kty") != kty or jwk.get("crv") != crv:
        raise KeyLoadError(f"Key {kid!r}: alg {alg} needs kty {kty} and crv {crv}.")
    if jwk.get("use", "sig") != "sig":
        raise KeyLoadError(f"Key {kid!r}: use must be sig.")
    ops = jwk.get("key_ops")
    wanted = "sign" if private else "verify"
    if ops is not None and (not isinstance(ops, list) or wanted not in ops):
        raise KeyLoadError(f"Key {kid!r}: key_ops must allow {wanted}.")
    has_private = bool(_PRIVATE_MEMBERS & set(jwk))
    if has_private != private:
        which = "needs" if private else "must not hold"
        raise KeyLoadError(
            f"Key {kid!r}: a {'signing' if private else 'public'} key {which} private members."
        )
    return kid, alg


def _public_jwk(jwk: dict[str, Any]) -> dict[str, str]:
    members = _THUMBPRINT_MEMBERS[jwk["kty"]]
    public = {m: jwk[m] for m in members}
    public.update(kid=jwk["kid"], alg=jwk["alg"], use="sig")
    return public


def parse_public_jwk(jwk: object) -> PublicKey:
    kid, alg = _check_common(jwk, private=False)
    assert isinstance(jwk, dict)
    try:
        key = signatures.load_public_key(alg, jwk)
    except ValueError:  # its message names the member; the JWK itself never reaches an error
        raise KeyLoadError(f"Key {kid!r} is not a valid {alg} public key.") from None
    return PublicKey(kid=kid, alg=alg, key=key, jwk=_public_jwk(jwk))


def parse_signing_jwk(jwk: object) -> SigningKey:
    kid, alg = _check_common(jwk, private=True)
    assert isinstance(jwk, dict)
    try:
        key = signatures.load_private_key(alg, jwk)
    except ValueError:  # its message names the member; the JWK itself never reaches an error
        raise KeyLoadError(f"Key {kid!r} is not a valid {alg} private key.") from None
    public = PublicKey(kid=kid, alg=alg, key=key.public_key(), jwk=_public_jwk(jwk))
    return SigningKey(
        kid=kid,
        alg=alg,
        key=key,
        public=public,
        created_at=_timestamp(jwk, kid, CREATED_AT),
        not_before=_timestamp(jwk, kid, NOT_BEFORE),
    )


def _timestamp(jwk: dict[str, Any], kid: str, member: str) -> int:
    value = jwk.get(member, 0)
    if type(value) is not int or value < 0:
        raise KeyLoadError(f"Key {kid!r}: {member} must be a whole number of seconds.")
    return value


def _json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise KeyLoadError(f"The {what} is not valid JSON.") from None


class KeySet:
    """Public keys by ``kid``; what the authorizer verifies against."""

    def __init__(self, keys: Iterable[PublicKey]) -> None:
        self._keys: dict[str, PublicKey] = {}
        for key in keys:
            if key.kid in self._keys:
                raise KeyLoadError(f"Key id {key.kid!r} appears twice in the key set.")
            self._keys[key.kid] = key

    def get(self, kid: str) -> PublicKey | None:
        return self._keys.get(kid)

    def __contains__(self, kid: object) -> bool:
        return kid in self._keys

    def __iter__(self) -> Iterator[PublicKey]:
        return iter(self._keys.values())

    def __len__(self) -> int:
        return len(self._keys)

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [dict(k.jwk) for k in self._keys.values()]}


def load_keyset(text: str) -> KeySet:
    """Parse a public JWKS document (``{"keys": [...]}``)."""
    doc = _json(text, "public key set (GATEHOUSE_JWKS)")
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list) or not doc["keys"]:
        raise KeyLoadError('GATEHOUSE_JWKS must be a JWKS document: {"keys": [ ... ]} with at least one key.')
    return KeySet(parse_public_jwk(jwk) for jwk in doc["keys"])


def _stored_entries(text: str) -> list[Any]:
    """The one reader of the stored format: ``{"keys": [newest, ..., oldest]}``, or one
    private JWK (the format before rotation existed)."""
    doc = _json(text, "signing key")
    if isinstance(doc, dict) and "keys" in doc:
        entries = doc["keys"]
        if not isinstance(entries, list) or not entries:
            raise KeyLoadError('The signing keys must be {"keys": [ ... ]} with at least one key.')
        return entries
    return [doc]


def signing_key_entries(text: str) -> list[dict[str, Any]]:
    """The stored private JWKs, newest first, each checked as a signing key (for key rotation)."""
    entries = _stored_entries(text)
    _load_signing_keys(entries)
    return [dict(jwk) for jwk in entries]


def load_signing_keys(text: str) -> tuple[SigningKey, ...]:
    """Parse the stored private keys, newest first."""
    return _load_signing_keys(_stored_entries(text))


def _load_signing_keys(entries: list[Any]) -> tuple[SigningKey, ...]:
    keys = tuple(parse_signing_jwk(jwk) for jwk in entries)
    kids = [k.kid for k in keys]
    for kid in kids:
        if kids.count(kid) > 1:
            raise KeyLoadError(f"Key id {kid!r} appears twice in the signing keys.")
    return keys


def load_signing_key(text: str) -> SigningKey:
    """The newest stored private key (the first of a list)."""
    return load_signing_keys(text)[0]


def choose_signing_key(keys: Iterable[SigningKey], published: KeySet, now: int) -> SigningKey:
    """The newest key that every verifier deployed with ``published`` already knows.

    A key whose kid is not published yet is skipped: functions deployed
    before a rotation keep signing with the old key until they are
    redeployed with the new JWKS.  A key before its ``nbf`` is skipped, so
    a rotation takes effect at a set time rather than mid-deployment.
    """
    kids = []
    for key in keys:
        kids.append(key.kid)
        public = published.get(key.kid)
        if public is None or key.not_before > now:
            continue
        if public.jwk != key.public.jwk:
            raise KeyLoadError(f"Key {key.kid!r} is published in GATEHOUSE_JWKS with other key material.")
        return key
    raise KeyLoadError(
        f"The signing key is not published in GATEHOUSE_JWKS, or not active yet (keys {kids}); "
        "tokens signed with it could not be verified."
    )


def generate_signing_jwk(alg: str = DEFAULT_ALGORITHM) -> dict[str, str]:
    """A fresh private JWK whose ``kid`` is its RFC 7638 thumbprint."""
    if alg not in SUPPORTED_ALGORITHMS:
        raise KeyLoadError(f"alg must be one of {', '.join(SUPPORTED_ALGORITHMS)}.")
    jwk = signatures.private_jwk(signatures.generate_private_key(alg))
    jwk.update(alg=alg, use="sig", kid=thumbprint(jwk))
    return jwk


def public_jwks(signing_jwks: Iterable[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    """The public JWKS for some private JWKs (what GATEHOUSE_JWKS holds)."""
    return {"keys": [parse_signing_jwk(j).public.jwk for j in signing_jwks]}
