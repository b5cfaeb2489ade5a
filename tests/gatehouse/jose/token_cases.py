"""Shared pieces of the access-token tests: fixed rules and keys, and hand-built tokens.

Tampered tokens are built by hand (base64url + JSON + a real signature over
the tampered bytes), so each test fails for exactly the reason it names and
not because some earlier layer happened to reject the token.
"""

import base64
import json
import string
from typing import Any

from jwt.algorithms import get_default_algorithms

from gatehouse.jose.access_tokens import TOKEN_TYPE, AccessClaims, TokenRules, verify_access_token
from gatehouse.jose.keys import KeySet, SigningKey, generate_signing_jwk, load_signing_key
from gatehouse.jose.signatures import low_s_signature

NOW = 1_800_000_000
LIFETIME = 900
LEEWAY = 30
RULES = TokenRules(
    issuer="https://gatehouse.test",
    audience="gatehouse-api",
    lifetime=LIFETIME,
    leeway=LEEWAY,
    max_bytes=8192,
)
BIG_RULES = RULES._replace(max_bytes=1_000_000)


def _signing_key(alg: str) -> SigningKey:
    return load_signing_key(json.dumps(generate_signing_jwk(alg)))


ED = _signing_key("EdDSA")
ES = _signing_key("ES256")
ED_OTHER = _signing_key("EdDSA")  # not in KEYS
ES_OTHER = _signing_key("ES256")  # not in KEYS
KEYS = KeySet([ED.public, ES.public])


# -- helpers -------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def claims(*, drop: tuple[str, ...] = (), **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "iss": RULES.issuer,
        "aud": RULES.audience,
        "sub": "alice",
        "username": "alice",
        "iat": NOW,
        "exp": NOW + LIFETIME,
        "jti": "0123456789abcdef0123456789abcdef",
        "sid": "session-1",
        "roles": ["user"],
    }
    payload.update(overrides)
    for name in drop:
        del payload[name]
    return payload


def header(key: SigningKey = ED, *, drop: tuple[str, ...] = (), **overrides: Any) -> dict[str, Any]:
    result: dict[str, Any] = {"alg": key.alg, "typ": TOKEN_TYPE, "kid": key.kid}
    result.update(overrides)
    for name in drop:
        del result[name]
    return result


def sign_raw(header_bytes: bytes, payload_bytes: bytes, key: SigningKey = ED, alg: str | None = None) -> str:
    """A compact JWS over exactly these bytes, with a genuine signature."""
    signing_input = f"{b64(header_bytes)}.{b64(payload_bytes)}"
    signature = get_default_algorithms()[alg or key.alg].sign(signing_input.encode(), key.key)
    if (alg or key.alg) == "ES256":
        signature = low_s_signature(signature)  # the one ES256 spelling the verifier accepts
    return f"{signing_input}.{b64(signature)}"


def make(
    payload: dict[str, Any] | None = None, hdr: dict[str, Any] | None = None, key: SigningKey = ED
) -> str:
    return sign_raw(compact(hdr if hdr is not None else header(key)), compact(payload or claims()), key)


def verify(token: str, *, now: int = NOW, rules: TokenRules = RULES, keys: KeySet = KEYS) -> AccessClaims:
    return verify_access_token(token, keys, rules, now=now)


def segments(token: str) -> list[str]:
    parts = token.split(".")
    assert len(parts) == 3
    return parts


def noncanonical(segment: str) -> str:
    """The same bytes spelled differently: non-zero unused trailing bits."""
    assert len(segment) % 4 in (2, 3), "segment has no unused bits"
    decoded = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    for char in string.ascii_letters + string.digits + "-_":
        candidate = segment[:-1] + char
        if (
            candidate != segment
            and base64.urlsafe_b64decode(candidate + "=" * (-len(candidate) % 4)) == decoded
        ):
            return candidate
    raise AssertionError("no alternative spelling found")


def payload_with_unused_bits() -> dict[str, Any]:
    """Claims whose base64url form has unused trailing bits (length % 4 != 0)."""
    for n in range(4):
        payload = claims(sub="alice" + "x" * n)
        if len(b64(compact(payload))) % 4 in (2, 3):
            return payload
    raise AssertionError("unreachable")


def header_with_unused_bits(key: SigningKey = ED) -> dict[str, Any]:
    for n in range(4):
        hdr = header(key, pad="x" * n)
        if len(b64(compact(hdr))) % 4 in (2, 3):
            return hdr
    raise AssertionError("unreachable")
