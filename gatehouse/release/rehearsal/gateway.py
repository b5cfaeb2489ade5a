"""A local API Gateway that does what the template's API definition says.

Read from the ``DefinitionBody`` (swagger 2.0 with API Gateway's extensions)
of the template's REST API, after resolution:

* each path and method goes to the integration it names: ``aws_proxy`` to
  the function whose ARN the integration URI holds (REST proxy event, v1),
  ``mock`` to its mapping templates (run by a Velocity engine, airspeed, as
  :func:`mock_response` shows), nothing else;
* a method with ``security`` goes through that TOKEN authorizer first: no
  token (or one the ``identityValidationExpression`` refuses) is
  ``UNAUTHORIZED`` without a call; the authorizer's ``Unauthorized`` is
  ``UNAUTHORIZED``; its policy is evaluated for ``execute-api:Invoke`` on the
  method ARN (``ACCESS_DENIED`` unless allowed) and cached per token for
  ``authorizerResultTtlInSeconds``, the same policy reused on every route as
  API Gateway does;
* what the gateway answers itself comes from
  ``x-amazon-apigateway-gateway-responses`` (status, headers with their
  ``method.request.header.*`` mappings, the body template), falling back to
  ``DEFAULT_4XX``/``DEFAULT_5XX`` and then to API Gateway's own defaults.

Not modelled: request validators, usage plans and throttling, payload
limits, the 29 s integration timeout, any integration type besides the two.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from gatehouse.release.rehearsal import policy
from gatehouse.release.rehearsal.cfn import TemplateError
from gatehouse.release.rehearsal.functions import FunctionFailed, FunctionProcess, Invocation

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
ANY = "x-amazon-apigateway-any-method"
_FUNCTION_IN_URI = re.compile(r":lambda:path/[^/]+/functions/(?P<arn>arn:[^/]+)/invocations$")
_HEADER_PREFIX = "gatewayresponse.header."
# API Gateway's own answers when the definition sets none.
DEFAULT_STATUS = {
    "UNAUTHORIZED": 401,
    "ACCESS_DENIED": 403,
    "MISSING_AUTHENTICATION_TOKEN": 403,
    "AUTHORIZER_FAILURE": 500,
    "AUTHORIZER_CONFIGURATION_ERROR": 500,
    "BAD_GATEWAY": 502,
}
MESSAGES = {
    "UNAUTHORIZED": "Unauthorized",
    "ACCESS_DENIED": "User is not authorized to access this resource",
    "MISSING_AUTHENTICATION_TOKEN": "Missing Authentication Token",
    "AUTHORIZER_FAILURE": None,
    "AUTHORIZER_CONFIGURATION_ERROR": None,
    "BAD_GATEWAY": "Internal server error",
}


class _Input:
    """``$input`` of an API Gateway mapping template: the method request's parameters."""

    def __init__(self, headers: Mapping[str, str], path: Mapping[str, str], query: Mapping[str, str]) -> None:
        self._params = {"path": dict(path), "querystring": dict(query), "header": dict(headers)}

    def params(self) -> dict[str, dict[str, str]]:
        return self._params


def render(template: str, variables: Mapping[str, Any]) -> str:
    """A Velocity mapping template, as API Gateway runs it (airspeed: the engine LocalStack uses)."""
    import airspeed  # type: ignore[import-untyped]

    rendered: str = airspeed.Template(template).merge(dict(variables))
    return rendered


def mock_response(
    operation: Mapping[str, Any],
    headers: Mapping[str, str],
    path: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
) -> tuple[int, dict[str, str], str]:
    """Status, headers and body of a mock integration for these request parameters (default response)."""
    integration = operation["x-amazon-apigateway-integration"]
    response = integration.get("responses", {}).get("default", {})
    answer = {
        name.removeprefix("method.response.header."): str(value).strip("'")
        for name, value in response.get("responseParameters", {}).items()
    }
    vtl = response.get("responseTemplates", {}).get("application/json", "")
    if not isinstance(vtl, str):
        raise TemplateError("a mock integration's mapping template was not resolved")
    context: dict[str, Any] = {"responseOverride": {"header": {}}}
    body = render(vtl, {"input": _Input(headers, path or {}, query or {}), "context": context})
    answer.update({k: str(v) for k, v in context["responseOverride"]["header"].items()})
    return int(response.get("statusCode", 200)), answer, body


@dataclass(frozen=True)
class Authorizer:
    name: str
    function: str
    ttl: int
    header: str
    validation: re.Pattern[str] | None


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    kind: str  # aws_proxy or mock
    function: str | None
    authorizer: Authorizer | None
    definition: Mapping[str, Any]


@dataclass
class Route:
    path: str
    pattern: re.Pattern[str]
    literal_segments: int
    operations: dict[str, Operation] = field(default_factory=dict)


def _route_pattern(path: str) -> re.Pattern[str]:
    parts = []
    for segment in path.strip("/").split("/") if path != "/" else []:
        if segment.startswith("{") and segment.endswith("+}"):
            parts.append(f"(?P<{segment[1:-2]}>.+)")
        elif segment.startswith("{") and segment.endswith("}"):
            parts.append(f"(?P<{segment[1:-1]}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    return re.compile("/" + "/".join(parts))


@dataclass
class Api:
    """The API definition as the gateway serves it."""

    routes: list[Route]
    responses: Mapping[str, Any]
    binary_types: frozenset[str]
    stage: str

    @classmethod
    def from_definition(cls, body: Mapping[str, Any], functions_by_arn: Mapping[str, str], stage: str) -> Api:
        authorizers = {}
        for name, scheme in body.get("securityDefinitions", {}).items():
            spec = scheme.get("x-amazon-apigateway-authorizer")
            if spec is None:
                continue
            if str(spec.get("type", "")).lower() != "token":
                raise TemplateError(
                    f"authorizer {name}: only TOKEN authorizers are supported, not {spec.get('type')}"
                )
            source = spec.get(
                "identitySource", f"method.request.header.{scheme.get('name', 'Authorization')}"
            )
            if not source.startswith("method.request.header."):
                raise TemplateError(f"authorizer {name}: identity source {source} is not supported")
            expression = spec.get("identityValidationExpression")
            authorizers[name] = Authorizer(
                name=name,
                function=cls._function(spec.get("authorizerUri"), functions_by_arn, f"authorizer {name}"),
                ttl=int(spec.get("authorizerResultTtlInSeconds", 300)),
                header=source.removeprefix("method.request.header."),
                validation=re.compile(expression) if expression else None,
            )
        routes = []
        for path, methods in body.get("paths", {}).items():
            route = Route(path, _route_pattern(path), sum(1 for s in path.split("/") if s and "{" not in s))
            for key, definition in methods.items():
                if key not in _METHODS and key != ANY:
                    continue
                method = "ANY" if key == ANY else key.upper()
                where = f"{method} {path}"
                integration = definition.get("x-amazon-apigateway-integration")
                if integration is None:
                    raise TemplateError(f"{where}: no x-amazon-apigateway-integration")
                kind = integration.get("type", "")
                if kind not in ("aws_proxy", "mock"):
                    raise TemplateError(
                        f"{where}: integration type {kind!r} is not supported by the rehearsal"
                    )
                security = [name for entry in definition.get("security", []) for name in entry]
                unknown = [name for name in security if name not in authorizers]
                if unknown:
                    raise TemplateError(f"{where}: security {unknown[0]} is no authorizer of the API")
                route.operations[method] = Operation(
                    method=method,
                    path=path,
                    kind=kind,
                    function=cls._function(integration.get("uri"), functions_by_arn, where)
                    if kind == "aws_proxy"
                    else None,
                    authorizer=authorizers[security[0]] if security else None,
                    definition=definition,
                )
            routes.append(route)
        # API Gateway prefers the most literal match (/notes/mine over /notes/{id}).
        routes.sort(key=lambda r: (-r.literal_segments, "+}" in r.path))
        return cls(
            routes=routes,
            responses=dict(body.get("x-amazon-apigateway-gateway-responses", {})),
            binary_types=frozenset(body.get("x-amazon-apigateway-binary-media-types", [])),
            stage=stage,
        )

    @staticmethod
    def _function(uri: Any, functions_by_arn: Mapping[str, str], where: str) -> str:
        match = _FUNCTION_IN_URI.search(uri) if isinstance(uri, str) else None
        if match is None:
            raise TemplateError(f"{where}: integration URI {uri!r} names no Lambda function")
        arn = match.group("arn")
        if arn not in functions_by_arn:
            raise TemplateError(f"{where}: integration URI names {arn}, no function of the template")
        return functions_by_arn[arn]

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        for route in self.routes:
            found = route.pattern.fullmatch(path)
            if found is None:
                continue
            operation = route.operations.get(method) or route.operations.get("ANY")
            if operation is None:
                return None  # API Gateway answers a known path's missing method like an unknown path
            return operation, {k: unquote(v) for k, v in found.groupdict().items()}
        return None

    def gateway_response(
        self, kind: str, status: int | None, request_headers: Mapping[str, str], message: str | None
    ) -> tuple[int, dict[str, str], bytes]:
        """What API Gateway answers itself for a response type (``DEFAULT_4XX``/``5XX`` as fallback)."""
        code = status or DEFAULT_STATUS.get(kind, 500)
        fallback = "DEFAULT_4XX" if code < 500 else "DEFAULT_5XX"
        spec = self.responses.get(kind) or self.responses.get(fallback) or {}
        code = int(spec.get("statusCode", code))
        lower = {k.lower(): v for k, v in request_headers.items()}
        headers = {"Content-Type": "application/json"}
        for name, value in spec.get("responseParameters", {}).items():
            value = str(value)
            if value.startswith("'") and value.endswith("'"):
                headers[name.removeprefix(_HEADER_PREFIX)] = value[1:-1]
            elif value.startswith("method.request.header."):
                sent = lower.get(value.removeprefix("method.request.header.").lower())
                if sent is not None:
                    headers[name.removeprefix(_HEADER_PREFIX)] = sent
            else:
                raise TemplateError(f"gateway response {kind}: mapping {value} is not supported")
        template = spec.get("responseTemplates", {}).get("application/json")
        if template is None:
            body = json.dumps({"message": message})
        else:
            error = {"message": message, "messageString": json.dumps(message), "responseType": kind}
            body = render(template, {"context": {"error": error}})
        return code, headers, body.encode()


def _log_excerpt(lines: list[str]) -> str:
    """The lines of a function's log that say what went wrong, for a failure's report."""
    errors = [line.strip() for line in lines if "rror" in line or "xception" in line]
    chosen = errors[-2:] or [line.strip() for line in lines if line.strip()][-1:]
    return "; its log says: " + " | ".join(line[:300] for line in chosen) if chosen else ""


@dataclass
class Incident:
    """Something the rehearsal must report: an IAM refusal or a function that failed."""

    function: str
    request: str
    what: str
    refused_on: str | None = None  # the resource ARN, for an IAM refusal


@dataclass
class _Cached:
    policy: Mapping[str, Any]
    principal: str
    context: Mapping[str, Any]
    expires: float


class Gateway:
    """Serves the API over HTTP on a loopback port, at ``/<stage>/...`` like the deployed URL."""

    def __init__(
        self,
        api: Api,
        functions: Mapping[str, FunctionProcess],
        api_id: str,
        region: str,
        account_id: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        self.functions = functions
        self.api_id = api_id
        self.region = region
        self.account_id = account_id
        self.clock = clock
        self.incidents: list[Incident] = []
        self.served: set[tuple[str, str]] = set()  # (method, path template) that reached an integration
        self.authorizer_calls = 0
        self.last_function: str | None = None  # the integration of the latest request
        self.last_log: list[str] = []  # and what it logged serving it
        self._cache: dict[tuple[str, str], _Cached] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- the HTTP side ----------------------------------------------------------------------

    def start(self) -> str:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {name: value for name, value in self.headers.items()}
                status, answer, payload = gateway.handle(self.command, self.path, headers, body)
                self.send_response(status)
                for name, value in answer.items():
                    if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            def do_GET(self) -> None:
                self._any()

            def do_POST(self) -> None:
                self._any()

            def do_PUT(self) -> None:
                self._any()

            def do_DELETE(self) -> None:
                self._any()

            def do_PATCH(self) -> None:
                self._any()

            def do_OPTIONS(self) -> None:
                self._any()

            def do_HEAD(self) -> None:
                self._any()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="rehearsal-gateway", daemon=True
        )
        self._thread.start()
        return f"http://127.0.0.1:{self._server.server_address[1]}/{self.api.stage}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- one request ------------------------------------------------------------------------

    def handle(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        url = urlsplit(target)
        prefix = f"/{self.api.stage}"
        path = url.path[len(prefix) :] if url.path == prefix or url.path.startswith(prefix + "/") else None
        found = self.api.match(method, path or "/") if path is not None else None
        if found is None:
            return self.api.gateway_response(
                "MISSING_AUTHENTICATION_TOKEN", None, headers, MESSAGES["MISSING_AUTHENTICATION_TOKEN"]
            )
        operation, path_parameters = found
        request = f"{method} {path}"
        query = parse_qs(url.query, keep_blank_values=True)
        if operation.kind == "mock":
            with self._lock:
                self.served.add((operation.method, operation.path))
            status, answer, text = mock_response(
                operation.definition, headers, path_parameters, {k: v[-1] for k, v in query.items()}
            )
            return status, answer, text.encode()
        authorizer_context: dict[str, Any] = {}
        if operation.authorizer is not None:
            decided = self._authorize(operation.authorizer, method, path or "/", headers, request)
            if isinstance(decided, tuple):
                return decided
            authorizer_context = decided
        assert operation.function is not None
        event = self._event(
            operation, method, path or "/", path_parameters, query, headers, body, authorizer_context
        )
        invocation = self._invoke(operation.function, event, request)
        self.last_function = operation.function
        self.last_log = invocation.log if invocation is not None else []
        with self._lock:
            self.served.add((operation.method, operation.path))
        return self._proxy_answer(invocation, headers, operation.function, request)

    def _invoke(
        self, function: str, event: Mapping[str, Any], request: str, *, authorizing: bool = False
    ) -> Invocation | None:
        try:
            invocation = self.functions[function].invoke(event)
        except FunctionFailed as failed:
            self._incident(function, request, str(failed))
            return None
        for refusal in invocation.denied:
            self._incident(
                function,
                request,
                f"its role refused {refusal['action']} on {refusal['resource']}",
                refusal["resource"],
            )
        # An authorizer's "Unauthorized" is its normal answer to a bad token, not a failure.
        refused_token = (
            authorizing
            and invocation.error is not None
            and invocation.error.get("errorMessage") == "Unauthorized"
        )
        if invocation.error is not None and not refused_token:
            self._incident(
                function,
                request,
                f"failed: {invocation.error.get('errorType', '')}: {invocation.error.get('errorMessage')}",
            )
        return invocation

    def _incident(self, function: str, request: str, what: str, refused_on: str | None = None) -> None:
        incident = Incident(self.functions[function].spec.label(), request, what, refused_on)
        with self._lock:
            if incident not in self.incidents:  # a call the code retries is one refusal
                self.incidents.append(incident)

    def _authorize(
        self, authorizer: Authorizer, method: str, path: str, headers: Mapping[str, str], request: str
    ) -> dict[str, Any] | tuple[int, dict[str, str], bytes]:
        lower = {k.lower(): v for k, v in headers.items()}
        token = lower.get(authorizer.header.lower(), "")
        unauthorized = self.api.gateway_response("UNAUTHORIZED", None, headers, MESSAGES["UNAUTHORIZED"])
        if not token or (authorizer.validation is not None and not authorizer.validation.fullmatch(token)):
            return unauthorized
        api = f"arn:aws:execute-api:{self.region}:{self.account_id}:{self.api_id}"
        method_arn = f"{api}/{self.api.stage}/{method}/{path.lstrip('/')}"
        key = (authorizer.name, token)
        with self._lock:
            cached = self._cache.get(key)
        if cached is None or cached.expires <= self.clock():
            invocation = self._invoke(
                authorizer.function,
                {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn},
                request,
                authorizing=True,
            )
            with self._lock:
                self.authorizer_calls += 1
            if invocation is None:
                return self.api.gateway_response("AUTHORIZER_FAILURE", 500, headers, None)
            if invocation.error is not None:
                if invocation.error.get("errorMessage") == "Unauthorized":
                    return unauthorized
                return self.api.gateway_response("AUTHORIZER_FAILURE", 500, headers, None)
            result = invocation.result
            if not (isinstance(result, dict) and "principalId" in result and "policyDocument" in result):
                self._incident(
                    authorizer.function,
                    request,
                    f"returned no principalId and policyDocument: {result!r:.200}",
                )
                return self.api.gateway_response("AUTHORIZER_CONFIGURATION_ERROR", 500, headers, None)
            cached = _Cached(
                result["policyDocument"],
                str(result["principalId"]),
                dict(result.get("context") or {}),
                self.clock() + authorizer.ttl,
            )
            if authorizer.ttl > 0:
                with self._lock:
                    self._cache[key] = cached
        statements = policy.statements_of([cached.policy])
        if not policy.evaluate(statements, "execute-api:Invoke", method_arn).allowed:
            return self.api.gateway_response("ACCESS_DENIED", None, headers, MESSAGES["ACCESS_DENIED"])
        return {**cached.context, "principalId": cached.principal}

    def _event(
        self,
        operation: Operation,
        method: str,
        path: str,
        path_parameters: Mapping[str, str],
        query: Mapping[str, list[str]],
        headers: Mapping[str, str],
        body: bytes,
        authorizer: Mapping[str, Any],
    ) -> dict[str, Any]:
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        binary = content_type.split(";")[0].strip() in self.api.binary_types
        text: str | None
        if not body:
            text = None
        elif binary:
            text = base64.b64encode(body).decode()
        else:
            text = body.decode("utf-8", errors="replace")
        return {
            "resource": operation.path,
            "path": path,
            "httpMethod": method,
            "headers": dict(headers),
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
            "multiValueQueryStringParameters": dict(query) or None,
            "pathParameters": dict(path_parameters) or None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": operation.path,
                "httpMethod": method,
                "path": f"/{self.api.stage}{path}",
                "stage": self.api.stage,
                "requestId": str(uuid.uuid4()),
                "accountId": self.account_id,
                "apiId": self.api_id,
                "identity": {"sourceIp": "127.0.0.1", "userAgent": headers.get("User-Agent", "")},
                "authorizer": dict(authorizer) or None,
                "requestTimeEpoch": int(time.time() * 1000),
            },
            "body": text,
            "isBase64Encoded": binary and bool(body),
        }

    def _proxy_answer(
        self, invocation: Invocation | None, headers: Mapping[str, str], function: str, request: str
    ) -> tuple[int, dict[str, str], bytes]:
        if invocation is None or invocation.error is not None:
            return self.api.gateway_response("BAD_GATEWAY", 502, headers, MESSAGES["BAD_GATEWAY"])
        result = invocation.result
        if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
            self._incident(function, request, f"returned no proxy response (statusCode): {result!r:.200}")
            return self.api.gateway_response("BAD_GATEWAY", 502, headers, MESSAGES["BAD_GATEWAY"])
        if result["statusCode"] >= 500:
            self._incident(
                function, request, f"answered {result['statusCode']}{_log_excerpt(invocation.log)}"
            )
        answer = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
        for name, values in (result.get("multiValueHeaders") or {}).items():
            answer[str(name)] = ", ".join(str(v) for v in values)
        body = result.get("body") or ""
        payload = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        return int(result["statusCode"]), answer, payload
