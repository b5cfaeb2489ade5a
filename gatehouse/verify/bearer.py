"""Reading the bearer token out of an ``Authorization`` header (RFC 6750 section 2.1)."""

from __future__ import annotations

from gatehouse.verify.tokens import MAX_TOKEN_INPUT


class Unauthorized(Exception):
    """Deny with 401.

    API Gateway answers 401 (not 500) only when a TOKEN authorizer fails with
    exactly the message ``Unauthorized``; ``reason`` is for our logs only.  Not a
    :class:`~gatehouse.errors.GatehouseError`: the gateway, not the error table of
    the web edge, turns it into the answer.
    """

    def __init__(self, reason: str) -> None:
        super().__init__("Unauthorized")
        self.reason = reason


def bearer_token(header: str | None) -> str:
    """The token in an ``Authorization: Bearer <token>`` value."""
    if not header:
        raise Unauthorized("missing_token")
    if len(header) > MAX_TOKEN_INPUT:
        raise Unauthorized("too_large")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token or " " in token.strip(" "):
        raise Unauthorized("malformed_header")
    return token.strip(" ")
