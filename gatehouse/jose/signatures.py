"""Signature primitives: JWK members to ``cryptography`` keys, and the package's one signature check.

This is all the verifier needs from cryptography, and all it imports: the
standard library and the ``cryptography.hazmat`` modules for Ed25519, P-256
ECDSA and SHA-256.  No PyJWT and no ``cryptography.x509`` (which PyJWT's
import pulls in along with its JWKS client): every cold start of the
authorizer would pay for them and use neither.

Two algorithms, each bound to one key type (RFC 7518, RFC 8037):

* ``EdDSA``: an OKP JWK on ``Ed25519``; ``x`` (and ``d``) exactly 32 bytes.
* ``ES256``: an EC JWK on ``P-256``; ``x``, ``y`` (and ``d``) exactly 32
  bytes each (RFC 7518 section 6.2.1.2: the full coordinate length), the
  point on the curve.  Signatures are raw ``r || s`` of exactly 64 bytes
  with ``1 <= r < n`` and ``1 <= s <= n/2``: of the two valid signatures
  ``(r, s)`` and ``(r, n - s)`` only the low-S one is accepted, so one
  token has one spelling (ECDSA malleability).  The issuer normalises its
  own signatures with :func:`low_s_signature`.

Key members are canonical unpadded base64url only.  A refused key raises
``ValueError`` naming the member, never its value: ``d`` is private.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from gatehouse.jose import base64url

# alg -> (kty, crv).  HS256 is deliberately absent: a shared secret cannot be
# published in a JWKS, and the authorizer must never hold signing material.
SUPPORTED_ALGORITHMS: dict[str, tuple[str, str]] = {
    "EdDSA": ("OKP", "Ed25519"),
    "ES256": ("EC", "P-256"),
}

PublicKeyObject = Ed25519PublicKey | ec.EllipticCurvePublicKey
PrivateKeyObject = Ed25519PrivateKey | ec.EllipticCurvePrivateKey

# P-256 (SEC 2 section 2.4.2 / FIPS 186-4 D.1.2.3): field prime and group order.
P256_PRIME = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
P256_HALF_ORDER = P256_ORDER // 2  # the largest low-S value
COORDINATE_BYTES = 32
SIGNATURE_BYTES = 64  # Ed25519 signatures and ES256 r || s alike
_P256 = ec.SECP256R1()
_b64url = base64url.encode


def _member(jwk: Mapping[str, object], name: str) -> bytes:
    """Exactly 32 bytes from the canonical unpadded base64url member ``name``."""
    value = jwk.get(name)
    if not isinstance(value, str) or len(value) != 43:  # 32 bytes, unpadded
        raise ValueError(f"{name} must be 32 bytes in unpadded base64url.")
    try:
        return base64url.decode(value)
    except ValueError:  # another alphabet, or non-zero unused bits: a second spelling
        raise ValueError(f"{name} is not canonical unpadded base64url.") from None


def _check_type(alg: str, jwk: Mapping[str, object]) -> None:
    if alg not in SUPPORTED_ALGORITHMS:
        raise ValueError(f"alg must be one of {', '.join(SUPPORTED_ALGORITHMS)}.")
    kty, crv = SUPPORTED_ALGORITHMS[alg]
    if jwk.get("kty") != kty or jwk.get("crv") != crv:
        raise ValueError(f"alg {alg} needs kty {kty} and crv {crv}.")


def _p256_point(jwk: Mapping[str, object]) -> tuple[int, int]:
    x, y = (int.from_bytes(_member(jwk, name), "big") for name in ("x", "y"))
    if x >= P256_PRIME or y >= P256_PRIME:
        raise ValueError("x and y must be coordinates below the P-256 field prime.")
    return x, y


def load_public_key(alg: str, jwk: Mapping[str, object]) -> PublicKeyObject:
    """The public key of a JWK's members for ``alg``; ValueError if they are not exactly one."""
    _check_type(alg, jwk)
    if alg == "EdDSA":
        return Ed25519PublicKey.from_public_bytes(_member(jwk, "x"))
    x, y = _p256_point(jwk)
    try:
        return ec.EllipticCurvePublicNumbers(x, y, _P256).public_key()
    except ValueError:
        raise ValueError("x and y are not a point on P-256.") from None


def load_private_key(alg: str, jwk: Mapping[str, object]) -> PrivateKeyObject:
    """The private key of a JWK's ``d``, whose public members must be its own public key."""
    _check_type(alg, jwk)
    secret = _member(jwk, "d")
    if alg == "EdDSA":
        private: PrivateKeyObject = Ed25519PrivateKey.from_private_bytes(secret)
    else:
        value = int.from_bytes(secret, "big")
        if not 0 < value < P256_ORDER:
            raise ValueError("d must be between 1 and the P-256 group order.")
        private = ec.derive_private_key(value, _P256)
    if public_jwk(private.public_key()) != public_jwk(load_public_key(alg, jwk)):
        raise ValueError("The public members do not belong to d.")
    return private


def public_jwk(key: PublicKeyObject) -> dict[str, str]:
    """``kty``, ``crv`` and the coordinates of a public key (what a thumbprint covers)."""
    if isinstance(key, Ed25519PublicKey):
        return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(key.public_bytes_raw())}
    if not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("Only P-256 EC keys are supported.")
    numbers = key.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": _b64url(numbers.x.to_bytes(COORDINATE_BYTES, "big")),
        "y": _b64url(numbers.y.to_bytes(COORDINATE_BYTES, "big")),
    }


def private_jwk(key: PrivateKeyObject) -> dict[str, str]:
    """The public members of ``key`` plus its ``d``: a private JWK without ``alg`` or ``kid``."""
    if isinstance(key, Ed25519PrivateKey):
        secret = key.private_bytes_raw()
    else:
        secret = key.private_numbers().private_value.to_bytes(COORDINATE_BYTES, "big")
    return {**public_jwk(key.public_key()), "d": _b64url(secret)}


def generate_private_key(alg: str) -> PrivateKeyObject:
    if alg == "EdDSA":
        return Ed25519PrivateKey.generate()
    if alg == "ES256":
        return ec.generate_private_key(_P256)
    raise ValueError(f"alg must be one of {', '.join(SUPPORTED_ALGORITHMS)}.")


@cache
def _ecdsa_sha256() -> ec.ECDSA:
    # Built on first use: constructing it imports cryptography's OpenSSL backend
    # module (milliseconds of cold start), which an EdDSA-only verifier never needs.
    return ec.ECDSA(hashes.SHA256())


def _r_s(signature: bytes) -> tuple[int, int]:
    return int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")


def low_s_signature(signature: bytes) -> bytes:
    """The low-S form of a valid raw ES256 signature: ``r || min(s, n - s)``."""
    r, s = _r_s(signature)
    if len(signature) != SIGNATURE_BYTES or not (0 < r < P256_ORDER and 0 < s < P256_ORDER):
        raise ValueError("Not a raw ES256 signature.")
    if s <= P256_HALF_ORDER:
        return signature
    return signature[:32] + (P256_ORDER - s).to_bytes(32, "big")


def verify_signature(alg: str, public_key: object, signing_input: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is ``alg``'s signature of ``signing_input`` by ``public_key``.

    False for anything else, never an exception: a key of another type, a
    signature of the wrong length, an ES256 ``r`` or ``s`` out of range or a
    high ``s``.
    """
    if len(signature) != SIGNATURE_BYTES:
        return False
    try:
        if alg == "EdDSA" and isinstance(public_key, Ed25519PublicKey):
            public_key.verify(signature, signing_input)
            return True
        if (
            alg == "ES256"
            and isinstance(public_key, ec.EllipticCurvePublicKey)
            and isinstance(public_key.curve, ec.SECP256R1)
        ):
            r, s = _r_s(signature)
            if not (0 < r < P256_ORDER and 0 < s <= P256_HALF_ORDER):
                return False
            public_key.verify(encode_dss_signature(r, s), signing_input, _ecdsa_sha256())
            return True
    except InvalidSignature:
        return False
    return False
