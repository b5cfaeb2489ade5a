"""Shared pieces of the key tests: generated keys, and JWKs with members changed."""

from __future__ import annotations

import traceback
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gatehouse.jose.keys import (
    PublicKey,
    SigningKey,
    generate_signing_jwk,
    parse_public_jwk,
    parse_signing_jwk,
)

ALGS = ["EdDSA", "ES256"]
PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "k", "oth"]

# RFC 8037 appendix A.1-A.3: an Ed25519 key and its RFC 7638 thumbprint.
RFC8037_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"

# Generated once: key generation is cheap, but the tests mutate copies only.
PRIVATE = {alg: generate_signing_jwk(alg) for alg in ALGS}


def _apply(jwk: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    for name, value in changes.items():
        if value is DROP:
            jwk.pop(name, None)
        else:
            jwk[name] = value
    return jwk


def private_jwk(base: str = "EdDSA", /, **changes: Any) -> dict[str, Any]:
    """A copy of the generated private JWK for ``base``, with members changed or DROPped."""
    return _apply(dict(PRIVATE[base]), changes)


def public_jwk(base: str = "EdDSA", /, **changes: Any) -> dict[str, Any]:
    """Its public half (no ``d``), with members changed or DROPped."""
    return _apply({k: v for k, v in PRIVATE[base].items() if k != "d"}, changes)


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


DROP: Any = _Drop()


def parse(private: bool, base: str = "EdDSA", /, **changes: Any) -> PublicKey | SigningKey:
    """Parse a changed copy of the test key, as a signing key or as its public half."""
    if private:
        return parse_signing_jwk(private_jwk(base, **changes))
    return parse_public_jwk(public_jwk(base, **changes))


def raw_public(key: Any) -> bytes:
    if isinstance(key, Ed25519PublicKey):
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return bytes(key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))


def assert_no_secret(exc: BaseException, secret: str) -> None:
    """The private value must not reach the message, the repr or a printed traceback."""
    assert secret not in str(exc)
    assert secret not in repr(exc)
    assert secret not in "".join(traceback.format_exception(exc))
    assert exc.__cause__ is None
    # A chained library error could quote the JWK: it must not be printed either.
    assert exc.__context__ is None or exc.__suppress_context__
