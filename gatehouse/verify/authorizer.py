"""The authorizer's decision: a verified token and a live session give an IAM policy.

Fails closed: any failure, expected or not, is the same 401 to the caller
and a reason in the log.  Nothing here imports boto3, argon2 or PyJWT; the
session check reads DynamoDB only when its cache cannot answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from chalice.app import AuthResponse, AuthRoute

from gatehouse import logs
from gatehouse.runtime import Runtime
from gatehouse.verify.bearer import Unauthorized, bearer_token
from gatehouse.verify.policy import ProtectedRoute, auth_response
from gatehouse.verify.tokens import AccessClaims, TokenError, verify_access_token


def route_of(method_arn: str) -> str | None:
    """``GET /notes/abc`` from ``arn:aws:execute-api:region:acct:api/stage/GET/notes/abc``."""
    parts = str(method_arn).split(":", 5)[-1].split("/", 3)
    if len(parts) < 3:
        return None
    return f"{parts[2]} /{parts[3] if len(parts) > 3 else ''}"[:256]


def authorize(
    header: str | None,
    method_arn: str,
    current_runtime: Callable[[], Runtime],
    routes: Callable[[], Iterable[ProtectedRoute]],
) -> AuthResponse:
    where = route_of(method_arn)
    try:
        token = bearer_token(header)
        rt = current_runtime()
        now = rt.now()
        claims = verify_access_token(token, rt.keyset, rt.rules, now=now)
        if rt.settings.check_sessions and not _session_is_live(rt, claims, now):
            raise Unauthorized("session_ended")
    except Unauthorized as denied:
        logs.event("authorizer", outcome="deny", reason=denied.reason, route=where, metrics=DENIED)
        raise
    except TokenError as invalid:
        logs.event("authorizer", outcome="deny", reason=invalid.reason, route=where, metrics=DENIED)
        raise Unauthorized(invalid.reason) from None
    except Exception as failure:  # fail closed, whatever went wrong
        logs.event(
            "authorizer",
            outcome="deny",
            reason="authorizer_error",
            error=type(failure).__name__,
            route=where,
            metrics=FAILED,
        )
        raise Unauthorized("authorizer_error") from None
    answer = auth_response(claims, routes())
    # The policy is cached per token and reused on every route: the line says which routes
    # it opens and whether the one asked for is among them (if not, the gateway answers 403).
    opened = [r for r in answer.routes if isinstance(r, AuthRoute)]
    logs.event(
        "authorizer",
        outcome="allow",
        account=claims.sub,
        user=claims.username,
        route=where,
        route_allowed=int(where is not None and covered(where, opened)),
        policy_covers="; ".join(f"{','.join(r.methods)} {r.path}" for r in opened),
        metrics=ALLOWED,
    )
    return answer


ALLOWED = {logs.AUTHORIZER_ALLOW: 1}
DENIED = {logs.AUTHORIZER_DENY: 1}
FAILED = {logs.AUTHORIZER_DENY: 1, logs.AUTHORIZER_ERRORS: 1}


def covered(where: str, routes: Iterable[AuthRoute]) -> bool:
    """Whether ``GET /notes/abc`` is among the policy's routes (``*`` matches any characters,
    as it does in the policy's resource ARNs)."""
    method, _, path = where.partition(" ")
    for route in routes:
        if method in route.methods or "*" in route.methods:
            pattern = ".*".join(re.escape(part) for part in route.path.split("*"))
            if re.fullmatch(pattern, path):
                return True
    return False


def _session_is_live(rt: Runtime, claims: AccessClaims, now: int) -> bool:
    try:
        return rt.session_check.is_live(claims, now)
    except Exception:
        # Fail closed: if the session store cannot be read, nobody gets in.
        raise Unauthorized("session_check_failed") from None
