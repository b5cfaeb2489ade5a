"""The authorizer's decision: a verified token and a live session give an IAM policy.

Fails closed: any failure, expected or not, is the same 401 to the caller
and a reason in the log.  Nothing here imports boto3, argon2 or PyJWT; the
session check reads DynamoDB only when its cache cannot answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from chalice.app import AuthResponse

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
        logs.event("authorizer", outcome="deny", reason=denied.reason, route=where)
        raise
    except TokenError as invalid:
        logs.event("authorizer", outcome="deny", reason=invalid.reason, route=where)
        raise Unauthorized(invalid.reason) from None
    except Exception as failure:  # fail closed, whatever went wrong
        logs.event(
            "authorizer", outcome="deny", reason="authorizer_error", error=type(failure).__name__, route=where
        )
        raise Unauthorized("authorizer_error") from None
    logs.event("authorizer", outcome="allow", account=claims.sub, user=claims.username, route=where)
    return auth_response(claims, routes())


def _session_is_live(rt: Runtime, claims: AccessClaims, now: int) -> bool:
    try:
        return rt.session_check.is_live(claims, now)
    except Exception:
        # Fail closed: if the session store cannot be read, nobody gets in.
        raise Unauthorized("session_check_failed") from None
