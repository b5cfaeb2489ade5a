"""Access tokens (RFC 9068): pure issue and verify functions.

Nothing here reads a clock, the environment or the network: the time, the
keys and the rules are arguments, so every path is testable with a fixed
``now``.  :func:`verify_access_token` is built on the signature layer,
:func:`gatehouse.jose.jws.verify_jws`: a non-empty payload, ``typ``
``at+jwt`` and a ``kid`` are required before the signature is checked (its
``precheck``), then the payload must be a strict JSON object, and then one
small check per claim, each raising one specific error.  A new claim is one
more ``_check_*`` function and one more line in :func:`_check_claims`.

Every failure is a :class:`~gatehouse.jose.errors.TokenError` with a stable
``reason`` for logs; no other exception escapes.

Nothing on the verify path imports PyJWT: its import pulls in
``cryptography.x509`` and a JWKS client, a cost every cold start of the
authorizer would pay for nothing.  Only :func:`issue_access_token` uses it,
imported when a token is first issued.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from gatehouse.jose import base64url, signatures
from gatehouse.jose.errors import (
    ExpiredToken,
    InvalidClaim,
    LifetimeTooLong,
    MalformedToken,
    TokenNotYetValid,
    UnknownKey,
    WrongTokenType,
)
from gatehouse.jose.jws import CompactJws, json_object, verify_jws
from gatehouse.jose.keys import KeySet, SigningKey
from gatehouse.roles import MAX_ROLES, is_valid_role

TOKEN_TYPE = "at+jwt"  # noqa: S105 (a media type, not a secret)
# ``sub`` is the account's immutable id; ``username`` its (reusable) name.
REQUIRED_CLAIMS = ("iss", "aud", "sub", "username", "iat", "exp", "jti", "sid", "roles")
# Timestamps beyond this (year ~36812) are nonsense and risk overflow downstream.
MAX_TIMESTAMP = 2**40


class TokenRules(NamedTuple):
    issuer: str
    audience: str
    lifetime: int
    leeway: int
    max_bytes: int


class AccessClaims(NamedTuple):
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
    import secrets  # the issuer's: with random and hashlib, milliseconds of a verifier's cold start

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
        token = f"{signing_input}.{base64url.encode(signatures.low_s_signature(base64url.decode(signature)))}"
    return token, claims


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
    return _check_claims(json_object(payload), now, rules)
