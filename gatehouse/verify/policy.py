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
        "account_id": claims.sub,
        "username": claims.username,
        "roles": ",".join(claims.roles),
        "sid": claims.sid,
        "jti": claims.jti,
    }
    return AuthResponse(
        routes=list(allowed_routes(claims.roles, table)), principal_id=claims.sub, context=context
    )
