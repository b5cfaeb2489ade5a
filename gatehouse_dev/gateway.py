"""Make Chalice's local API Gateway answer like the real one for our authorizer.

Real API Gateway, in front of a TOKEN authorizer:

* no ``Authorization`` header: 401, the authorizer is not called;
* the authorizer fails with the message ``Unauthorized``: 401;
* the policy does not cover the route: 403.

``chalice local`` and ``chalice.test.Client`` give 401 for the first, *no
response at all* for the second (the exception escapes), and 403 for the
third.  :func:`install` swaps in an authorizer runner that turns the
second into the same 401, and gives all three the bodies and
``WWW-Authenticate`` headers of the Gatehouse contract (RFC 6750 section 3).
It changes only the local emulation: the deployed code path is untouched.
"""

from __future__ import annotations

import json
from typing import Any

from chalice import local

MISSING_TOKEN = (
    {"WWW-Authenticate": "Bearer"},
    {"error": "missing_token", "message": "This resource needs a bearer token."},
)
INVALID_TOKEN = (
    {"WWW-Authenticate": 'Bearer error="invalid_token"'},
    {"error": "invalid_token", "message": "The access token is missing, malformed, expired or revoked."},
)
INSUFFICIENT_SCOPE = (
    {"WWW-Authenticate": 'Bearer error="insufficient_scope"'},
    {"error": "forbidden", "message": "This token may not use this resource."},
)


def _answer(
    error: type[local.LocalGatewayException],
    original: local.LocalGatewayException | None,
    kind: tuple[dict[str, str], dict[str, str]],
) -> local.LocalGatewayException:
    headers: dict[str, Any] = dict(original.headers) if original is not None else {}
    headers.update(kind[0])
    headers["Content-Type"] = "application/json"
    headers["Cache-Control"] = "no-store"
    return error(headers, json.dumps(kind[1], separators=(",", ":")).encode())


class GatewayLikeAuthorizer(local.LocalGatewayAuthorizer):
    def authorize(self, raw_path: str, lambda_event: Any, lambda_context: Any) -> Any:
        try:
            return super().authorize(raw_path, lambda_event, lambda_context)
        except local.NotAuthorizedError as missing:
            raise _answer(local.NotAuthorizedError, missing, MISSING_TOKEN) from None
        except local.ForbiddenError as denied:
            raise _answer(local.ForbiddenError, denied, INSUFFICIENT_SCOPE) from None
        except Exception as failure:
            if str(failure) != "Unauthorized":
                raise  # API Gateway would answer 500 here too
            raise _answer(local.NotAuthorizedError, None, INVALID_TOKEN) from None


def install() -> None:
    """Idempotent; ``LocalGateway`` looks the class up when it is created."""
    local.LocalGatewayAuthorizer = GatewayLikeAuthorizer  # type: ignore[misc]
    # The local server answers keep-alive clients ~40 ms late per request
    # with Nagle's algorithm on (delayed-ACK interplay).
    local.ChaliceRequestHandler.disable_nagle_algorithm = True
