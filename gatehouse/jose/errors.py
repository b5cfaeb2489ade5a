"""Why a token is not accepted: one error per reason, each with a stable ``reason`` for logs.

Every failure of :mod:`gatehouse.jose.jws` and :mod:`gatehouse.jose.access_tokens`
is one of these, and no other exception escapes their verify functions, so
the authorizer can deny on ``TokenError`` alone and log its ``reason``.
"""

from __future__ import annotations

from gatehouse.errors import GatehouseError


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
