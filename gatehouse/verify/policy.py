"""From verified claims to the authorizer's answer: an IAM policy plus context.

API Gateway caches one policy per token and reuses it on every route, so the
policy lists every route that token may call, not just the one requested.
Route strings are globs: ``/notes/{id}`` would never match, ``/notes/*`` does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from chalice.app import AuthResponse, AuthRoute

from gatehouse.verify.tokens import AccessClaims


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
        # The view wrapper of an mfa=True route answers a token without aal 2 (RFC 9470):
        # a Deny here could only ever become the gateway's plain 403.
        "aal": str(claims.aal),
        "amr": ",".join(claims.amr),
    }
    return AuthResponse(
        routes=list(allowed_routes(claims.roles, table)), principal_id=claims.sub, context=context
    )
