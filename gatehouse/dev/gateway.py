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

The 401 and 403 headers and bodies are read from the gateway responses of
the deployment template (gatehouse/release/resources.json), so local runs and the real
API answer alike by construction.  One difference is kept on purpose: real
API Gateway cannot tell a missing token from a bad one (both are its
``UNAUTHORIZED`` response), locally a missing token gets the bare
``Bearer`` challenge RFC 6750 section 3.1 asks for.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from chalice import local
from chalice.app import Chalice

from gatehouse import logs
from gatehouse.component import component_of
from gatehouse.web import cors

LISTEN_BACKLOG = 512
TEMPLATE = Path(__file__).resolve().parents[1] / "release" / "resources.json"
_HEADER = "gatewayresponse.header."

Answer = tuple[dict[str, str], dict[str, str]]


def _is_cors(name: str) -> bool:
    return name.lower().startswith("access-control-") or name.lower() == "vary"


def template_response(response_type: str, template: Path = TEMPLATE) -> Answer:
    """Static headers and JSON body of one gateway response in the deployment template."""
    doc = json.loads(template.read_text())
    body = doc["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    response = body["x-amazon-apigateway-gateway-responses"][response_type]
    headers = {
        name.removeprefix(_HEADER): value[1:-1]
        for name, value in response["responseParameters"].items()
        # Only static values ('...'): values from template parameters exist only
        # once deployed, and request mappings (method.request.header.Origin) only
        # in API Gateway.  The CORS headers are computed by the local gateway
        # from the running app's allowlist, like the deployed ones reflect it.
        if isinstance(value, str)
        and len(value) >= 2
        and value[0] == value[-1] == "'"
        and not _is_cors(name.removeprefix(_HEADER))
    }
    return headers, json.loads(response["responseTemplates"]["application/json"])


MISSING_TOKEN: Answer = (
    {"WWW-Authenticate": "Bearer"},
    {"error": "missing_token", "message": "This resource needs a bearer token."},
)
INVALID_TOKEN = template_response("UNAUTHORIZED")
INSUFFICIENT_SCOPE = template_response("ACCESS_DENIED")


def _answer(
    error: type[local.LocalGatewayException],
    original: local.LocalGatewayException | None,
    kind: Answer,
) -> local.LocalGatewayException:
    headers: dict[str, Any] = dict(original.headers) if original is not None else {}
    headers.update(kind[0])
    headers["Content-Type"] = "application/json"
    headers["Cache-Control"] = "no-store"
    return error(headers, json.dumps(kind[1], separators=(",", ":")).encode())


class GatewayLikeAuthorizer(local.LocalGatewayAuthorizer):
    """Also logs each refusal, with its route: the authorizer's own line may say ``allow``
    (its policy is for the token) for a request the gateway then refuses with 403."""

    def authorize(self, raw_path: str, lambda_event: Any, lambda_context: Any) -> Any:
        try:
            return super().authorize(raw_path, lambda_event, lambda_context)
        except local.NotAuthorizedError as missing:
            raise _refused(lambda_event, local.NotAuthorizedError, missing, MISSING_TOKEN) from None
        except local.ForbiddenError as denied:
            raise _refused(lambda_event, local.ForbiddenError, denied, INSUFFICIENT_SCOPE) from None
        except Exception as failure:
            if str(failure) != "Unauthorized":
                raise  # API Gateway would answer 500 here too
            raise _refused(lambda_event, local.NotAuthorizedError, None, INVALID_TOKEN) from None


def _refused(
    lambda_event: Any,
    error: type[local.LocalGatewayException],
    original: local.LocalGatewayException | None,
    kind: Answer,
) -> local.LocalGatewayException:
    """The gateway's answer, after its log line: status, error code and the route it was for."""
    context = lambda_event.get("requestContext") or {}
    logs.event(
        "gateway",
        outcome="refused",
        status=error.CODE,
        error=str(kind[1].get("error")),
        route=f"{context.get('httpMethod')} {context.get('resourcePath')}",
        path=str(context.get("path"))[:256],
    )
    return _answer(error, original, kind)


class CorsGatewayAuthorizer(GatewayLikeAuthorizer):
    """Also reflects an allowed ``Origin`` on those 401/403 answers.

    Deployed, the gateway responses do the same; without it a page on
    another origin could not even see that its token expired, so it could
    never refresh.
    """

    def authorize(self, raw_path: str, lambda_event: Any, lambda_context: Any) -> Any:
        try:
            return super().authorize(raw_path, lambda_event, lambda_context)
        except local.LocalGatewayException as answer:
            cors.add_headers(answer.headers, cors_headers(lambda_event.get("headers"), self._app_object))
            raise


def cors_headers(request_headers: Any, app: Chalice) -> dict[str, str]:
    """CORS headers for an answer the gateway makes itself, from the running app's allowlist."""
    return cors.response_headers(cors.header(request_headers, "Origin"), allowed_origins(app))


def allowed_origins(app: Chalice) -> tuple[str, ...]:
    """The CORS allowlist of ``app``'s Gatehouse (none for an app without one)."""
    try:
        return component_of(app).allowed_origins()
    except RuntimeError:
        return ()


ROUTE_NOT_FOUND = template_response("MISSING_AUTHENTICATION_TOKEN")


class RouteNotFound(local.LocalGatewayException):
    CODE = 404


class GatewayLikeLocalGateway(local.LocalGateway):
    """Unknown paths and preflights answer like the deployed API.

    Unknown paths: the gateway response, 404 ``not_found``.  Chalice's own
    answer is a 403 whose body echoes the request's ``Authorization`` header
    (a bearer token) and which crashes on a non-ASCII header value.

    ``OPTIONS`` on a route (a CORS preflight): 204 with the route's methods
    for an allowed origin, as the deployment template's mock integrations
    answer.  Chalice would answer from a ``CORSConfig``, which Gatehouse does
    not use (it allows one static origin).  A view the app defines for
    ``OPTIONS`` itself still gets the request.
    """

    def handle_request(self, method: str, path: str, headers: Any, body: bytes | None) -> Any:
        try:
            event = self.event_converter.create_lambda_event(
                method=method, path=path, headers=headers, body=body
            )
        except ValueError:
            answer = _answer(RouteNotFound, None, ROUTE_NOT_FOUND)
            cors.add_headers(answer.headers, cors_headers(headers, self._app_object))
            raise answer from None
        if method.upper() == "OPTIONS":
            route = self._app_object.routes[event["requestContext"]["resourcePath"]]
            if "OPTIONS" not in route:
                return preflight(route, headers, allowed_origins(self._app_object))
        return super().handle_request(method, path, headers, body)


def preflight(methods: Iterable[str], request_headers: Any, allowlist: Sequence[str]) -> dict[str, Any]:
    """The answer to ``OPTIONS`` on a route serving ``methods``."""
    origin = cors.header(request_headers, "Origin")
    answer = cors.preflight_headers(origin, allowlist, methods)
    answer["Allow"] = cors.allow_methods(methods)
    return {"statusCode": 204, "headers": answer, "multiValueHeaders": {}, "body": ""}


def install() -> None:
    """Idempotent; Chalice looks these classes up when it creates a gateway."""
    from chalice import test

    local.LocalGatewayAuthorizer = CorsGatewayAuthorizer  # type: ignore[misc]
    local.LocalGateway = GatewayLikeLocalGateway  # type: ignore[misc]
    test.LocalGateway = GatewayLikeLocalGateway  # type: ignore[attr-defined]
    # The local server answers keep-alive clients ~40 ms late per request
    # with Nagle's algorithm on (delayed-ACK interplay).
    local.ChaliceRequestHandler.disable_nagle_algorithm = True
    # socketserver listens with a backlog of 5: a burst of clients (a page
    # refreshing several tabs, a load test) got connection resets that API
    # Gateway never gives.  Its accept loop is one thread, so the queue matters.
    local.ThreadedHTTPServer.request_queue_size = LISTEN_BACKLOG
    # A 204 has no body, so no Content-Type (RFC 9110 section 15.3.5); chalice
    # local would label its empty body application/json.
    local.ChaliceRequestHandler._send_http_response = _send_without_empty_body  # type: ignore[method-assign]


_chalice_send = local.ChaliceRequestHandler._send_http_response


def _send_without_empty_body(self: Any, code: int, headers: Any, body: Any) -> None:
    if code == 204 or (code == 304 and not body):
        body = None
        for name in [n for n in headers if n.lower() == "content-type"]:
            del headers[name]
    _chalice_send(self, code, headers, body)
