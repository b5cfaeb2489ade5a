"""The protected-route table, and from verified claims to the authorizer's answer.

API Gateway caches one policy per token and reuses it on every route, so the
policy lists every route that token may call, not just the one requested.
Route strings are globs: ``/notes/{id}`` would never match, ``/notes/*`` does.

The table is computed from the app's routes when the stack is packaged
(:func:`gatehouse.component.protected_routes`, called by the release tooling) and reaches the
authorizer function as :data:`ROUTES_VARIABLE`, so the function never imports
the app; ``chalice local`` decodes the same encoding from the same function.
Its encoding is one JSON object, path -> method -> requirements; a new
per-route requirement is one more member of :class:`ProtectedRoute` and one
more key in ``_requirements``/``from_requirements``.

A policy document depends only on the token's roles and the API and stage of
the request, so one is built per such pair and container and reused: the
answer of a warm call is a small dict around a shared document, which must
therefore never be changed by a caller.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from gatehouse.jose.access_tokens import AccessClaims

ROUTES_VARIABLE = "GATEHOUSE_PROTECTED_ROUTES"
# The attribute a Gatehouse component sets on its Chalice app, so that code that must not
# import the component (the authorizer's fallback) can still find it.
COMPONENT_ATTRIBUTE = "_gatehouse_component"
HTTP_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"})
# Role sets and API/stage pairs a container sees are few (roles come from
# signed tokens); the bound only keeps a misbehaving issuer from growing it.
MAX_CACHED_POLICIES = 256


class ProtectedRoute(NamedTuple):
    """One method of one path behind the authorizer, and what a token needs for it."""

    path: str
    method: str
    role: str | None = None  # None: any signed-in user

    def _requirements(self) -> dict[str, Any]:
        return {} if self.role is None else {"role": self.role}

    @classmethod
    def from_requirements(cls, path: str, method: str, needs: object) -> ProtectedRoute:
        if not isinstance(needs, dict) or set(needs) - {"role"}:
            raise ValueError(f"{method} {path}: requirements must be an object with at most a role")
        role = needs.get("role")
        if role is not None and not (isinstance(role, str) and role):
            raise ValueError(f"{method} {path}: role must be a non-empty string")
        return cls(path, method, role)


def route_glob(path: str) -> str:
    return re.sub(r"\{[^/}]+\}", "*", path)


def opened_pattern(opened: Iterable[tuple[str, list[str]]]) -> re.Pattern[str]:
    """One pattern whose ``fullmatch`` says whether ``GET /notes/abc`` is among ``(glob, methods)``
    pairs (a glob's ``*`` matches any characters, as it does in the policy's resource ARNs;
    a method ``*``, any method)."""
    alternatives = []
    for glob, methods in opened:
        method = "[^ ]*" if "*" in methods else "|".join(re.escape(m) for m in methods)
        path = ".*".join(re.escape(part) for part in glob.split("*"))
        alternatives.append(f"(?:{method}) {path}")
    return re.compile("|".join(f"(?:{a})" for a in alternatives) or "(?!)")


class Opened(NamedTuple):
    """What a role set may call, for the authorizer's log line: in words, and as one pattern."""

    covers: str  # "GET,HEAD /me; GET /notes/*"
    pattern: re.Pattern[str]  # see opened_pattern


class RouteTable:
    """Every protected route, and the policy documents made from them (built once each)."""

    def __init__(self, routes: Iterable[ProtectedRoute]) -> None:
        self.routes: tuple[ProtectedRoute, ...] = tuple(sorted(set(routes)))
        self._documents: dict[tuple[str, tuple[str, ...]], dict[str, Any]] = {}
        self._opened: dict[tuple[str, ...], Opened] = {}

    def __iter__(self) -> Iterator[ProtectedRoute]:
        return iter(self.routes)

    def __len__(self) -> int:
        return len(self.routes)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RouteTable) and self.routes == other.routes

    def __hash__(self) -> int:
        return hash(self.routes)

    def __repr__(self) -> str:
        return f"RouteTable({list(self.routes)!r})"

    def encode(self) -> str:
        """Compact JSON: ``{"/notes/{id}": {"GET": {}}, "/admin/users": {"GET": {"role": "admin"}}}``."""
        doc: dict[str, dict[str, Any]] = {}
        for route in self.routes:
            doc.setdefault(route.path, {})[route.method] = route._requirements()
        return json.dumps(doc, separators=(",", ":"), sort_keys=True)

    @classmethod
    def decode(cls, text: str) -> RouteTable:
        """The table :meth:`encode` wrote; ValueError saying what is wrong with anything else."""
        try:
            doc = json.loads(text)
        except ValueError:
            raise ValueError(f"{ROUTES_VARIABLE} is not JSON") from None
        if not isinstance(doc, dict):
            raise ValueError(f"{ROUTES_VARIABLE} must be a JSON object of paths")
        routes = []
        for path, methods in doc.items():
            if not path.startswith("/") or not isinstance(methods, dict) or not methods:
                raise ValueError(f"{ROUTES_VARIABLE}: {path!r} must be a path with an object of methods")
            for method, needs in methods.items():
                if method not in HTTP_METHODS:
                    raise ValueError(f"{ROUTES_VARIABLE}: {method!r} on {path} is not an HTTP method")
                routes.append(ProtectedRoute.from_requirements(path, method, needs))
        return cls(routes)

    def allowed(self, roles: Iterable[str]) -> list[tuple[str, list[str]]]:
        """``(glob, methods)`` pairs a token with ``roles`` may call, sorted."""
        granted = set(roles)
        methods_by_glob: dict[str, set[str]] = {}
        for route in self.routes:
            if route.role is None or route.role in granted:
                methods_by_glob.setdefault(route_glob(route.path), set()).add(route.method)
        return [(glob, sorted(methods)) for glob, methods in sorted(methods_by_glob.items())]

    def opened(self, roles: tuple[str, ...]) -> Opened:
        """:meth:`allowed` for the log line, made once per role set and container."""
        found = self._opened.get(roles)
        if found is None:
            pairs = self.allowed(roles)
            covers = "; ".join(f"{','.join(methods)} {glob}" for glob, methods in pairs)
            found = Opened(covers, opened_pattern(pairs))
            if len(self._opened) >= MAX_CACHED_POLICIES:
                self._opened.clear()
            self._opened[roles] = found
        return found

    def policy_document(self, roles: tuple[str, ...], method_arn: str) -> dict[str, Any]:
        """The IAM policy allowing what ``roles`` may call on the API and stage of ``method_arn``.

        Resource ARNs are spelt as Chalice's ``AuthResponse`` spells them, so
        ``chalice local`` matches them exactly as before.
        """
        # arn:aws:execute-api:region:account:api-id/stage/METHOD/path -> everything up to its stage.
        parts = method_arn.split(":", 5)
        base = ":".join([*parts[:-1], "/".join(parts[-1].split("/")[:2])])
        key = (base, roles)
        document = self._documents.get(key)
        if document is None:
            resources = [
                f"{base}/{method}/{glob[1:]}" for glob, methods in self.allowed(roles) for method in methods
            ]
            document = {
                "Version": "2012-10-17",
                "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": resources}],
            }
            if len(self._documents) >= MAX_CACHED_POLICIES:
                self._documents.clear()
            self._documents[key] = document
        return document


def context_of(claims: AccessClaims) -> dict[str, str]:
    """What a view learns about its caller (:class:`~gatehouse.authorizer.identity.Identity`).

    Context values must be strings, numbers or booleans behind real API Gateway.
    """
    return {
        "account_id": claims.sub,
        "username": claims.username,
        "roles": ",".join(claims.roles),
        "sid": claims.sid,
        "jti": claims.jti,
    }


def answer(claims: AccessClaims, table: RouteTable, method_arn: str) -> dict[str, Any]:
    """The TOKEN authorizer's output for a verified token: principal, policy and context."""
    return {
        "context": context_of(claims),
        "principalId": claims.sub,
        "policyDocument": table.policy_document(claims.roles, method_arn),
    }
