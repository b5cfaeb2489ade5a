"""The one place where errors become HTTP responses.

:data:`STATUS` maps each error class to its HTTP status and its RFC 6749
section 5.2 code (used on the token and revoke endpoints, whose error bodies
OAuth clients parse).  Everything below the web edge raises plain domain
errors; a class that is not in the table is found through its bases, so a
new error needs a row only when it means something new over HTTP.

Chalice produces a few error responses on its own (routing, content type, an
uncaught exception); :func:`rerender_chalice_errors` gives them the same
body shape, so a client only ever parses one.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, ParamSpec

from chalice.app import Request, Response

from gatehouse import errors
from gatehouse.jose.errors import TokenError

JSON = "application/json"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
OAUTH_PATHS = frozenset({"/auth/token", "/auth/revoke"})


@dataclass(frozen=True)
class Rendering:
    status: int
    oauth_code: str


STATUS: dict[type[errors.GatehouseError], Rendering] = {
    errors.GatehouseError: Rendering(500, "server_error"),
    errors.ConfigError: Rendering(500, "server_error"),
    errors.InvalidRequest: Rendering(400, "invalid_request"),
    errors.UnsupportedMediaType: Rendering(415, "invalid_request"),
    errors.PayloadTooLarge: Rendering(413, "invalid_request"),
    errors.NotFound: Rendering(404, "invalid_request"),
    errors.MethodNotAllowed: Rendering(405, "invalid_request"),
    errors.Forbidden: Rendering(403, "invalid_request"),
    errors.Conflict: Rendering(409, "invalid_request"),
    errors.LastAdmin: Rendering(409, "invalid_request"),
    errors.InvalidGrant: Rendering(400, "invalid_grant"),
    errors.AccountGone: Rendering(401, "invalid_request"),  # never on the OAuth endpoints
    errors.UnsupportedGrantType: Rendering(400, "unsupported_grant_type"),
    errors.TooManyAttempts: Rendering(429, "too_many_attempts"),
    errors.InsufficientUserAuthentication: Rendering(401, "invalid_request"),
    errors.StoreError: Rendering(500, "server_error"),
    errors.StoreUnavailable: Rendering(503, "temporarily_unavailable"),
    TokenError: Rendering(401, "invalid_token"),
}

# The error the current request ended with, for the request log (which runs outside).
last_error: ContextVar[errors.GatehouseError | None] = ContextVar("last_error", default=None)


@dataclass(frozen=True)
class AppRendering:
    status: int
    code: str


class AppErrors:
    """One application's own errors (``Gatehouse.map_error``): status and code, the message is str(error).

    Each Gatehouse holds its own table, so mapping an error in one app never
    changes another app's answers in the same process.
    """

    def __init__(self) -> None:
        self._table: dict[type[Exception], AppRendering] = {}

    def add(self, error: type[Exception], status: int, code: str) -> None:
        if not 400 <= status <= 599:
            raise ValueError("an error's status must be 4xx or 5xx")
        self._table[error] = AppRendering(status, code)

    def rendering(self, error: Exception) -> AppRendering | None:
        for cls in type(error).__mro__:
            if cls in self._table:
                return self._table[cls]
        return None


def rendering_of(error: errors.GatehouseError) -> Rendering:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return STATUS[errors.GatehouseError]


def error_response(
    error: errors.GatehouseError, *, oauth: bool = False, headers: dict[str, str] | None = None
) -> Response:
    """The only place an error becomes an HTTP response."""
    last_error.set(error)
    how = rendering_of(error)
    message = error.message if error.public else error.default_message
    if oauth:
        body = {"error": how.oauth_code, "error_description": message}
    else:
        body = {"error": error.code, "message": message}
    out: dict[str, Any] = {"Content-Type": JSON, **NO_STORE, **(headers or {})}
    retry_after = getattr(error, "retry_after", None)
    if isinstance(retry_after, int):
        out["Retry-After"] = str(retry_after)
    challenge = getattr(error, "www_authenticate", None)
    if isinstance(challenge, str):
        out["WWW-Authenticate"] = challenge
    return Response(body=body, status_code=how.status, headers=out)


P = ParamSpec("P")


def answering_errors(
    view: Callable[P, Response], app_errors: AppErrors, *, oauth: bool = False
) -> Callable[P, Response]:
    """Wrap a view so that the errors it raises are rendered here (the app's own by ``app_errors``)."""

    @functools.wraps(view)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> Response:
        try:
            return view(*args, **kwargs)
        except errors.GatehouseError as error:
            return error_response(error, oauth=oauth)
        except Exception as error:
            how = app_errors.rendering(error)
            if how is None:
                raise
            body = {"error": how.code, "message": str(error) or "The request could not be completed."}
            return Response(body=body, status_code=how.status, headers={"Content-Type": JSON, **NO_STORE})

    return guarded


# Chalice's own error bodies are ``{"Code": ..., "Message": ...}``.
_CHALICE_CODES: dict[str, type[errors.GatehouseError]] = {
    "MethodNotAllowedError": errors.MethodNotAllowed,
    "UnsupportedMediaType": errors.UnsupportedMediaType,
    "BadRequest": errors.InvalidRequest,
    "BadRequestError": errors.InvalidRequest,
    "NotFoundError": errors.NotFound,
    "ForbiddenError": errors.Forbidden,
    "ConflictError": errors.Conflict,
}


def from_chalice_body(body: object) -> errors.GatehouseError | None:
    """The Gatehouse error for one of Chalice's own error bodies, else None."""
    if isinstance(body, (str, bytes)):
        try:
            body = json.loads(body)
        except ValueError:
            return None
    if not isinstance(body, dict) or set(body) != {"Code", "Message"}:
        return None
    return _CHALICE_CODES.get(str(body["Code"]), errors.GatehouseError)()


def rerender_chalice_errors(
    routes: Callable[[], dict[str, dict[str, Any]]],
) -> Callable[[Request, Callable[[Request], Response]], Response]:
    """Middleware: Chalice's own error responses, in Gatehouse's body shape."""

    def gatehouse_error_bodies(request: Request, get_response: Callable[[Request], Response]) -> Response:
        response = get_response(request)
        if response.status_code < 400:
            return response
        error = from_chalice_body(response.body)
        if error is None:
            return response
        headers = {}
        if "Allow" in response.headers:
            headers["Allow"] = str(response.headers["Allow"])
        if isinstance(error, errors.UnsupportedMediaType):
            entry = routes().get(request.path, {}).get(request.method)
            if entry is not None:
                error.message = f"Send the body as {' or '.join(entry.content_types)}."
        rendered = error_response(error, oauth=request.path in OAUTH_PATHS, headers=headers)
        # Chalice chose the status (e.g. 405 for a method, 500 for a crash); keep it.
        rendered.status_code = response.status_code
        return rendered

    return gatehouse_error_bodies
