"""Error types and the one place where they become HTTP responses.

Every error Gatehouse raises on purpose derives from :class:`GatehouseError`,
which carries its HTTP status, a stable machine-readable ``code`` and a human
message that never contains a password, hash, key or token.  The concern
roots below it (:class:`ApiError`, :class:`StoreError`, :class:`ConfigError`,
and ``tokens.TokenError``) let callers catch one concern at a time.

It subclasses Chalice's ``ChaliceUnhandledError`` for one reason: Chalice
turns any other exception raised in a view into its own 500 body before
middleware sees it, and this base class is how an error reaches the single
middleware in ``app.py`` that renders it with :func:`render`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from chalice.app import ChaliceUnhandledError, Response

JSON_HEADERS = {"Content-Type": "application/json"}


class GatehouseError(ChaliceUnhandledError):
    status = 500
    code = "internal_error"
    # RFC 6749 section 5.2 has a closed list of codes; this is the one used
    # when the error surfaces on the token or revoke endpoint.
    oauth_code = "server_error"
    default_message = "The server could not complete the request."
    # Whether ``message`` may be shown to the client (else ``default_message``).
    public = True

    def __init__(self, message: str | None = None, *, headers: Mapping[str, str] | None = None) -> None:
        self.message = message or self.default_message
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(self.message)


class ConfigError(GatehouseError):
    code = "server_misconfigured"
    default_message = "Gatehouse is misconfigured; the server log says how."
    # The detail names settings and values: for the operator's log, not for clients.
    public = False


class ApiError(GatehouseError):
    """A request the client can fix (4xx)."""

    status = 400
    code = "invalid_request"
    oauth_code = "invalid_request"
    default_message = "The request is not valid."


class InvalidRequest(ApiError):
    pass


class UnsupportedMediaType(ApiError):
    status = 415
    code = "unsupported_media_type"
    default_message = "Send the body as application/json."


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"
    default_message = "The request body is too large."


class NotFound(ApiError):
    status = 404
    code = "not_found"
    default_message = "Not found."


class MethodNotAllowed(ApiError):
    status = 405
    code = "method_not_allowed"
    default_message = "That method is not allowed on this resource."


class Forbidden(ApiError):
    status = 403
    code = "forbidden"
    default_message = "You may not do this."


class SignupDisabled(Forbidden):
    code = "signup_disabled"
    default_message = "Sign-up is disabled on this server."


class UsernameTaken(ApiError):
    status = 409
    code = "username_taken"
    default_message = "That username is taken."


class InvalidGrant(ApiError):
    code = oauth_code = "invalid_grant"
    default_message = "The username or password is wrong."


class UnsupportedGrantType(ApiError):
    code = oauth_code = "unsupported_grant_type"
    default_message = "grant_type must be password or refresh_token."


class TooManyAttempts(ApiError):
    status = 429
    code = oauth_code = "too_many_attempts"
    default_message = "Too many failed attempts for this account. Try again later."

    def __init__(self, retry_after: int) -> None:
        super().__init__(headers={"Retry-After": str(retry_after)})


class StoreError(GatehouseError):
    """The data store failed in a way the client cannot fix."""

    code = "storage_error"
    default_message = "The data store failed."


class StoreUnavailable(StoreError):
    """Throttled or unreachable: worth retrying shortly."""

    status = 503
    code = "service_unavailable"
    oauth_code = "temporarily_unavailable"
    default_message = "The service is busy. Try again shortly."
    retry_after = 1

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, headers={"Retry-After": str(self.retry_after)})


# Chalice produces a few error responses on its own (routing, content type,
# uncaught exceptions); they are re-rendered so every body has one shape.
_CHALICE_CODES: dict[str, type[GatehouseError]] = {
    "MethodNotAllowedError": MethodNotAllowed,
    "UnsupportedMediaType": UnsupportedMediaType,
    "BadRequest": InvalidRequest,
    "BadRequestError": InvalidRequest,
    "NotFoundError": NotFound,
}


def from_chalice_body(body: object) -> GatehouseError | None:
    """The Gatehouse error for one of Chalice's own ``{"Code", "Message"}`` bodies."""
    if isinstance(body, (str, bytes)):
        try:
            body = json.loads(body)
        except ValueError:
            return None
    if not isinstance(body, dict) or set(body) != {"Code", "Message"}:
        return None
    cls = _CHALICE_CODES.get(str(body["Code"]), GatehouseError)
    return cls()


def render(error: GatehouseError, *, oauth: bool = False) -> Response:
    """The only place an error becomes an HTTP response."""
    message = error.message if error.public else error.default_message
    if oauth:
        body = {"error": error.oauth_code, "error_description": message}
    else:
        body = {"error": error.code, "message": message}
    headers: dict[str, Any] = {**JSON_HEADERS, "Cache-Control": "no-store", **error.headers}
    return Response(body=body, status_code=error.status, headers=headers)
