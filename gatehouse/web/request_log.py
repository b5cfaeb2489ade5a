"""One structured log line per request: method, route, status, user and error code.

It also tells the security events (:mod:`gatehouse.accounts.activity`)
where the request came from: the user agent and the source address.

Only the fields named here are logged, never a body, a header, a token or a
password (see :mod:`gatehouse.logs`).  The detail of a server-side
error (a misconfigured setting, say) is logged for the operator; clients
only ever see its generic message.
"""

from __future__ import annotations

from collections.abc import Callable

from chalice.app import Request, Response

from gatehouse import logs
from gatehouse.accounts import activity
from gatehouse.web.responses import last_error


def request_log(request: Request, get_response: Callable[[Request], Response]) -> Response:
    token = last_error.set(None)
    try:
        # Where the request came from, for the security events its use case records.
        with activity.from_client(client_of(request)):
            response = get_response(request)
        error = last_error.get()
    finally:
        last_error.reset(token)
    authorizer = request.context.get("authorizer") or {}
    logs.event(
        "request",
        method=request.method,
        route=request.path,
        status=response.status_code,
        user=authorizer.get("username"),
        error=error.code if error else None,
        detail=error.message if error and response.status_code >= 500 else None,
        request_id=request.context.get("requestId"),
    )
    return response


def client_of(request: Request) -> activity.Client:
    """The user agent and the source address API Gateway saw (chalice local gives 127.0.0.1)."""
    agent = request.headers.get("user-agent") or ""
    identity = request.context.get("identity") or {}
    return activity.Client(user_agent=agent, source_ip=str(identity.get("sourceIp") or ""))
