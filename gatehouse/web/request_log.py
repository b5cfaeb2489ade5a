"""One structured log line per request: method, route, status, user and error code.

Only the fields named here are logged, never a body, a header, a token or a
password (see :mod:`gatehouse.logs`).  The detail of a server-side
error (a misconfigured setting, say) is logged for the operator; clients
only ever see its generic message.
"""

from __future__ import annotations

from collections.abc import Callable

from chalice.app import Request, Response

from gatehouse import logs
from gatehouse.web.responses import last_error


def request_log(request: Request, get_response: Callable[[Request], Response]) -> Response:
    token = last_error.set(None)
    try:
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
