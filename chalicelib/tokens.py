"""Access tokens: pure issue and verify functions.

Nothing here reads a clock, the environment or the network: the time, the
keys and the rules are arguments, so every path is testable with a fixed
``now``.  Verification is layered, cheapest and strictest first:

1. shape: size, exactly three canonical base64url segments;
2. header: a strict JSON object, ``typ`` ``at+jwt``, a ``kid`` from our own
   key set, ``alg`` equal to the algorithm that key is bound to, no ``crit``;
3. signature: PyJWT with the one algorithm of that key;
4. claims: one small check per claim, each raising one specific error.

Every failure is a :class:`TokenError` with a stable ``reason`` for logs;
no other exception escapes :func:`verify_access_token`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jwt
from jwt.api_jws import PyJWS

from chalicelib.errors import GatehouseError
from chalicelib.keys import KeySet, SigningKey

TOKEN_TYPE = "at+jwt"  # noqa: S105 (a media type, not a secret)
REQUIRED_CLAIMS = ("iss", "aud", "sub", "iat", "exp", "jti", "sid", "roles")
# Timestamps beyond this (year ~36812) are nonsense and risk overflow downstream.
MAX_TIMESTAMP = 2**40
MAX_JSON_DEPTH = 4
MAX_ROLES = 32
_SEGMENTS = re.compile(r"^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$")
_jws = PyJWS()


class TokenError(GatehouseError):
    """Any reason a token is not accepted; always a 401 ``invalid_token``."""

    status = 401
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
    sub: str
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
    session_id: str,
    roles: Sequence[str],
    now: int,
    jti: str | None = None,
) -> tuple[str, AccessClaims]:
    claims = AccessClaims(
        sub=subject,
        sid=session_id,
        jti=jti or uuid.uuid4().hex,
        roles=tuple(roles),
        iat=now,
        exp=now + rules.lifetime,
    )
    payload = {
        "iss": rules.issuer,
        "aud": rules.audience,
        "sub": claims.sub,
        "iat": claims.iat,
        "exp": claims.exp,
        "jti": claims.jti,
        "sid": claims.sid,
        "roles": list(claims.roles),
    }
    token = jwt.encode(payload, key.key, algorithm=key.alg, headers={"typ": TOKEN_TYPE, "kid": key.kid})
    return token, claims


# -- parsing ------------------------------------------------------------------


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


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise MalformedToken()
        result[name] = value
    return result


def _reject_constant(_name: str) -> Any:
    raise MalformedToken()  # NaN, Infinity, -Infinity


def _depth(value: Any, level: int = 1) -> int:
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level)
    return level


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
        # Cheap bound before parsing: a deeply nested document would exhaust
        # the recursion limit inside json itself.
        if text.count("[") + text.count("{") > 64:
            raise MalformedToken()
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise MalformedToken() from None
    if not isinstance(value, dict) or _depth(value) > MAX_JSON_DEPTH:
        raise MalformedToken()
    return value


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
    if (
        not isinstance(roles, list)
        or len(roles) > MAX_ROLES
        or not all(isinstance(r, str) and 0 < len(r) <= 64 and "," not in r for r in roles)
    ):
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
        sid=_check_string(payload, "sid"),
        jti=_check_string(payload, "jti"),
        roles=_check_roles(payload),
        iat=iat,
        exp=exp,
    )


# -- verification ---------------------------------------------------------------


def _check_header(header: dict[str, Any], keys: KeySet) -> None:
    if header.get("typ") != TOKEN_TYPE:
        raise WrongTokenType()
    if "crit" in header or "b64" in header:
        raise UnsupportedHeader()
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise UnknownKey()
    key = keys.get(kid)
    if key is None:
        raise UnknownKey()
    if header.get("alg") != key.alg:
        raise AlgorithmMismatch()


def _verify_signature(token: str, header: dict[str, Any], keys: KeySet) -> None:
    key = keys.get(header["kid"])
    assert key is not None  # _check_header found it
    try:
        _jws.decode_complete(token, key=key.key, algorithms=[key.alg])
    except jwt.InvalidSignatureError:
        raise BadSignature() from None
    except (jwt.PyJWTError, ValueError, TypeError, OverflowError, RecursionError):
        # PyJWT raises more than its own errors on some inputs; any of them
        # is a rejection, never a crash.
        raise MalformedToken() from None


def verify_access_token(token: str, keys: KeySet, rules: TokenRules, *, now: int) -> AccessClaims:
    if len(token) > rules.max_bytes:
        raise TokenTooLarge()
    match = _SEGMENTS.fullmatch(token)
    if match is None:
        raise MalformedToken()
    header_b64, payload_b64, signature_b64 = match.groups()
    header = _json_object(_b64decode(header_b64))
    _b64decode(signature_b64)
    _check_header(header, keys)
    _verify_signature(token, header, keys)
    payload = _json_object(_b64decode(payload_b64))
    return _check_claims(payload, now, rules)
