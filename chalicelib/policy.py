"""From verified claims to the authorizer's answer (an IAM policy plus context).

API Gateway caches one policy per token and reuses it on every route, so the
policy lists every route that token may call, not just the one requested.
Route strings are globs: ``/notes/{id}`` would never match, ``/notes/*`` does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from chalice.app import AuthResponse, AuthRoute

from chalicelib.tokens import AccessClaims

MAX_AUTHORIZATION_HEADER = 16 * 1024


class Unauthorized(Exception):
    """Deny with 401.

    API Gateway answers 401 (not 500) only when a TOKEN authorizer fails with
    exactly the message ``Unauthorized``; ``reason`` is for our logs only.
    """

    def __init__(self, reason: str) -> None:
        super().__init__("Unauthorized")
        self.reason = reason


@dataclass(frozen=True)
class ProtectedRoute:
    path: str
    methods: tuple[str, ...]
    role: str | None = None  # None: any signed-in user


def route_glob(path: str) -> str:
    return re.sub(r"\{[^/}]+\}", "*", path)


def allowed_routes(roles: Iterable[str], table: Iterable[ProtectedRoute]) -> list[AuthRoute]:
    granted = set(roles)
    methods_by_glob: dict[str, set[str]] = {}
    for route in table:
        if route.role is None or route.role in granted:
            methods_by_glob.setdefault(route_glob(route.path), set()).update(route.methods)
    return [AuthRoute(path, sorted(methods)) for path, methods in sorted(methods_by_glob.items())]


def auth_response(claims: AccessClaims, table: Iterable[ProtectedRoute]) -> AuthResponse:
    # Context values must be strings, numbers or booleans behind real API Gateway.
    context = {
        "username": claims.sub,
        "roles": ",".join(claims.roles),
        "sid": claims.sid,
        "jti": claims.jti,
    }
    return AuthResponse(
        routes=list(allowed_routes(claims.roles, table)), principal_id=claims.sub, context=context
    )


def bearer_token(header: str | None) -> str:
    """The token in an ``Authorization: Bearer <token>`` value (RFC 6750 section 2.1)."""
    if not header:
        raise Unauthorized("missing_token")
    if len(header) > MAX_AUTHORIZATION_HEADER:
        raise Unauthorized("too_large")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token or " " in token.strip(" "):
        raise Unauthorized("malformed_header")
    return token.strip(" ")


@dataclass(frozen=True)
class Identity:
    """Who is calling, as the authorizer vouched for it."""

    username: str
    roles: tuple[str, ...]
    sid: str
    jti: str

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> Identity:
        roles = str(context.get("roles", ""))
        return cls(
            username=str(context["username"]),
            roles=tuple(r for r in roles.split(",") if r),
            sid=str(context["sid"]),
            jti=str(context["jti"]),
        )
