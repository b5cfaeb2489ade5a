"""Access tokens: pure issue and verify functions.

Nothing here reads a clock, the environment or the network: the time, the
keys and the rules are arguments, so every path is testable with a fixed
``now``.  Verification has two layers, cheapest and strictest first:

* :func:`verify_jws`, the signature layer: any compact JWS (RFC 7515) and a
  key set.

  1. shape: size, exactly three canonical unpadded base64url segments (the
     payload may be empty, as RFC 7515 allows; header and signature not);
  2. header: a strict JSON object, no ``crit`` or ``b64``, an ``alg`` that
     Gatehouse verifies at all, a key found by ``kid`` (``kid`` may be left
     out only when the key set holds exactly one key), and ``alg`` equal to
     the algorithm that key is bound to;
  3. signature: ``cryptography`` directly, for that one algorithm
     (:func:`verify_signature`, :mod:`gatehouse.verify.signatures`).

  It returns the header and the payload *bytes*: a JWS payload is any
  octets, and nothing here knows what an access token is.

* :func:`verify_access_token`, the access-token layer (RFC 9068), built on
  :func:`verify_jws`: a non-empty payload, ``typ`` ``at+jwt`` and a ``kid``
  are required before the signature is checked (its ``precheck``), then the
  payload must be a strict JSON object, and then one small check per claim,
  each raising one specific error.

Every failure is a :class:`TokenError` with a stable ``reason`` for logs;
no other exception escapes either function.

Nothing on the verify path imports PyJWT: its import pulls in
``cryptography.x509`` and a JWKS client, a cost every cold start of the
authorizer would pay for nothing.  Only :func:`issue_access_token` uses it,
imported when a token is first issued.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gatehouse.errors import GatehouseError
from gatehouse.roles import MAX_ROLES, is_valid_role
from gatehouse.strict_json import NotStrictJson, loads_object
from gatehouse.verify import signatures
from gatehouse.verify.keys import SUPPORTED_ALGORITHMS, KeySet, PublicKey, SigningKey

TOKEN_TYPE = "at+jwt"  # noqa: S105 (a media type, not a secret)
# ``sub`` is the account's immutable id; ``username`` its (reusable) name.
REQUIRED_CLAIMS = ("iss", "aud", "sub", "username", "iat", "exp", "jti", "sid", "roles")
# Timestamps beyond this (year ~36812) are nonsense and risk overflow downstream.
MAX_TIMESTAMP = 2**40
MAX_JSON_DEPTH = 4
# No token, refresh token or Authorization header Gatehouse accepts is longer;
# the bound keeps huge inputs away from every parser.
MAX_TOKEN_INPUT = 16 * 1024
# Header members this verifier does not implement and so must not ignore:
# ``crit`` (RFC 7515 section 4.1.11) and the unencoded payload option (RFC 7797).
REFUSED_HEADERS = ("crit", "b64")
_SEGMENTS = re.compile(r"^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)\.([A-Za-z0-9_-]+)$")


class TokenError(GatehouseError):
    """Any reason a token is not accepted; always a 401 ``invalid_token``."""

    code = "invalid_token"
    reason = "invalid"
    default_message = "The access token is not valid."


class MalformedToken(TokenError):
    reason = "malformed"


class TokenTooLarge(TokenError):
    reason = "too_large"


class UnsupportedHeader(TokenError):
    reason = "unsupported_header"


class WrongTokenType(TokenError):
    reason = "wrong_type"


class UnknownKey(TokenError):
    reason = "unknown_key"


class AlgorithmMismatch(TokenError):
    reason = "algorithm_mismatch"


class UnsupportedAlgorithm(AlgorithmMismatch):
    """``alg`` names no algorithm Gatehouse verifies (``none``, ``HS256``, ``RS256``, ...).

    Refused before any key is looked up.  A subclass of
    :class:`AlgorithmMismatch` because such an ``alg`` can never equal the
    algorithm a key is bound to; its own ``reason`` tells the two apart.
    """

    reason = "unsupported_algorithm"


class BadSignature(TokenError):
    reason = "bad_signature"


class InvalidClaim(TokenError):
    reason = "invalid_claim"


class ExpiredToken(TokenError):
    reason = "expired"
    default_message = "The access token has expired."


class TokenNotYetValid(TokenError):
    reason = "not_yet_valid"


class LifetimeTooLong(TokenError):
    reason = "lifetime_too_long"


@dataclass(frozen=True)
class TokenRules:
    issuer: str
    audience: str
    lifetime: int
    leeway: int
    max_bytes: int


@dataclass(frozen=True)
class AccessClaims:
    sub: str  # the account id
    username: str
    sid: str
    jti: str
    roles: tuple[str, ...]
    iat: int
    exp: int


def issue_access_token(
    key: SigningKey,
    rules: TokenRules,
    *,
    subject: str,
    username: str,
    session_id: str,
    roles: Sequence[str],
    now: int,
    jti: str | None = None,
) -> tuple[str, AccessClaims]:
    claims = AccessClaims(
        sub=subject,
        username=username,
        sid=session_id,
        jti=jti or secrets.token_hex(16),  # not uuid: it pulls platform into every cold start
        roles=tuple(roles),
        iat=now,
        exp=now + rules.lifetime,
    )
    payload = {
        "iss": rules.issuer,
        "aud": rules.audience,
        "sub": claims.sub,
        "username": claims.username,
        "iat": claims.iat,
        "exp": claims.exp,
        "jti": claims.jti,
        "sid": claims.sid,
        "roles": list(claims.roles),
    }
    import jwt  # only the token route pays for PyJWT's import, never the verifier

    token = jwt.encode(payload, key.key, algorithm=key.alg, headers={"typ": TOKEN_TYPE, "kid": key.kid})
    if key.alg == "ES256":
        # The verifier accepts only low-S signatures (one token, one spelling);
        # PyJWT's may be either.
        signing_input, _, signature = token.rpartition(".")
        token = f"{signing_input}.{_b64encode(signatures.low_s_signature(_b64decode(signature)))}"
    return token, claims


# -- parsing ------------------------------------------------------------------


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(segment: str) -> bytes:
    """Canonical unpadded base64url only: one token, one spelling."""
    if len(segment) % 4 == 1:
        raise MalformedToken()
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise MalformedToken() from None
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != segment:
        raise MalformedToken()  # non-zero unused bits
    return raw


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        return loads_object(raw, max_depth=MAX_JSON_DEPTH)
    except NotStrictJson:
        raise MalformedToken() from None


@dataclass(frozen=True)
class CompactJws:
    """A compact JWS whose shape and header have been parsed, nothing verified yet."""

    header: dict[str, Any]
    payload: bytes
    signing_input: bytes
    signature: bytes


def parse_compact_jws(token: str, max_bytes: int) -> CompactJws:
    """Shape only: size, three canonical base64url segments, a strict JSON header."""
    if len(token) > max_bytes:
        raise TokenTooLarge()
    match = _SEGMENTS.fullmatch(token)
    if match is None:
        raise MalformedToken()
    header_b64, payload_b64, signature_b64 = match.groups()
    header = _json_object(_b64decode(header_b64))
    return CompactJws(
        header=header,
        payload=_b64decode(payload_b64),
        signing_input=f"{header_b64}.{payload_b64}".encode("ascii"),
        signature=_b64decode(signature_b64),
    )


# -- the signature layer ---------------------------------------------------------


def verify_signature(key: PublicKey, signing_input: bytes, signature: bytes) -> bool:
    """The one signature check, for the key's pinned ``alg``.

    ``ES256`` signatures are raw ``r || s`` (RFC 7518 section 3.4) in low-S
    form; anything else is simply not valid.  The Wycheproof primitive
    suites call this same function.
    """
    return signatures.verify_signature(key.alg, key.key, signing_input, signature)


def _key_for(header: dict[str, Any], keys: KeySet) -> PublicKey:
    """The key named by ``kid``; without a ``kid``, the key set's only key."""
    if "kid" not in header:
        only = list(keys)
        if len(only) != 1:
            raise UnknownKey()
        return only[0]
    kid = header["kid"]
    key = keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise UnknownKey()
    return key


def _verify_parsed(jws: CompactJws, keys: KeySet) -> None:
    header = jws.header
    if any(name in header for name in REFUSED_HEADERS):
        raise UnsupportedHeader()
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in SUPPORTED_ALGORITHMS:
        raise UnsupportedAlgorithm()
    key = _key_for(header, keys)
    if alg != key.alg:
        raise AlgorithmMismatch()
    if not verify_signature(key, jws.signing_input, jws.signature):
        raise BadSignature()


def verify_jws(
    token: str,
    keys: KeySet,
    max_bytes: int,
    *,
    precheck: Callable[[CompactJws], None] | None = None,
) -> tuple[dict[str, Any], bytes]:
    """Verify a compact JWS against ``keys``; return its header and payload bytes.

    No ``typ`` check and no payload parsing: those belong to the layer that
    knows what the payload is.  That layer passes its own cheap checks as
    ``precheck``, run on the parsed token before any key is looked up.
    """
    jws = parse_compact_jws(token, max_bytes)
    if precheck is not None:
        precheck(jws)
    _verify_parsed(jws, keys)
    return jws.header, jws.payload


# -- claim checks: one per claim, each with its own error ---------------------


def _check_string(payload: dict[str, Any], name: str, max_length: int = 256) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not 0 < len(value) <= max_length:
        raise InvalidClaim(f"The {name} claim is missing or not valid.")
    return value


def _check_timestamp(payload: dict[str, Any], name: str) -> int:
    value = payload.get(name)
    # bool is an int subclass; floats like 1e23 would give many spellings.
    if type(value) is not int or not 0 <= value < MAX_TIMESTAMP:
        raise InvalidClaim(f"The {name} claim is missing or not valid.")
    return value


def _check_issuer(payload: dict[str, Any], rules: TokenRules) -> None:
    if payload.get("iss") != rules.issuer:
        raise InvalidClaim("The token was not issued here.")


def _check_audience(payload: dict[str, Any], rules: TokenRules) -> None:
    if payload.get("aud") != rules.audience:
        raise InvalidClaim("The token is not meant for this API.")


def _check_roles(payload: dict[str, Any]) -> tuple[str, ...]:
    roles = payload.get("roles")
    if not isinstance(roles, list) or len(roles) > MAX_ROLES or not all(is_valid_role(r) for r in roles):
        raise InvalidClaim("The roles claim is missing or not valid.")
    return tuple(roles)


def _check_expiry(exp: int, now: int, rules: TokenRules) -> None:
    if now >= exp + rules.leeway:
        raise ExpiredToken()


def _check_issued_at(iat: int, now: int, rules: TokenRules) -> None:
    if iat > now + rules.leeway:
        raise TokenNotYetValid()


def _check_not_before(payload: dict[str, Any], now: int, rules: TokenRules) -> None:
    if "nbf" in payload and _check_timestamp(payload, "nbf") > now + rules.leeway:
        raise TokenNotYetValid()


def _check_lifetime(iat: int, exp: int, rules: TokenRules) -> None:
    if exp - iat > rules.lifetime + rules.leeway or exp <= iat:
        raise LifetimeTooLong()


def _check_claims(payload: dict[str, Any], now: int, rules: TokenRules) -> AccessClaims:
    for name in REQUIRED_CLAIMS:
        if name not in payload:
            raise InvalidClaim(f"The {name} claim is missing.")
    _check_issuer(payload, rules)
    _check_audience(payload, rules)
    iat = _check_timestamp(payload, "iat")
    exp = _check_timestamp(payload, "exp")
    _check_issued_at(iat, now, rules)
    _check_not_before(payload, now, rules)
    _check_lifetime(iat, exp, rules)
    _check_expiry(exp, now, rules)
    return AccessClaims(
        sub=_check_string(payload, "sub", 64),
        username=_check_string(payload, "username", 64),
        sid=_check_string(payload, "sid"),
        jti=_check_string(payload, "jti"),
        roles=_check_roles(payload),
        iat=iat,
        exp=exp,
    )


# -- the access-token layer -------------------------------------------------------


def _check_access_token_shape(jws: CompactJws) -> None:
    """RFC 9068 and RFC 8725 section 3.11: explicit typing, always a ``kid``, a payload."""
    if not jws.payload:
        raise MalformedToken()  # an access token's payload is a JSON object, never empty
    if jws.header.get("typ") != TOKEN_TYPE:
        raise WrongTokenType()
    # The signature layer would pick the only key of a one-key set; an access
    # token must name its key, so rotation never depends on the set's size.
    if not isinstance(jws.header.get("kid"), str):
        raise UnknownKey()


def verify_access_token(token: str, keys: KeySet, rules: TokenRules, *, now: int) -> AccessClaims:
    _, payload = verify_jws(token, keys, rules.max_bytes, precheck=_check_access_token_shape)
    return _check_claims(_json_object(payload), now, rules)
