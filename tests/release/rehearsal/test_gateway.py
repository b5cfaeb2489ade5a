"""The local gateway: routes to the integration the definition names, the TOKEN authorizer and its
cache, the gateway responses, and mock integrations (functions faked: the end-to-end run is
tests/release/rehearsal/test_run.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from gatehouse.release.rehearsal.cfn import TemplateError
from gatehouse.release.rehearsal.functions import FunctionProcess, Invocation
from gatehouse.release.rehearsal.gateway import Api, Gateway

ACCOUNT = "123456789012"
FN = "arn:aws:lambda:us-east-1:123456789012:function:"


def uri(name: str) -> str:
    return f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FN}{name}/invocations"


def proxy(name: str, secured: bool = False) -> dict[str, Any]:
    operation: dict[str, Any] = {"x-amazon-apigateway-integration": {"type": "aws_proxy", "uri": uri(name)}}
    if secured:
        operation["security"] = [{"token": []}]
    return operation


DEFINITION: dict[str, Any] = {
    "securityDefinitions": {
        "token": {
            "type": "apiKey",
            "name": "Authorization",
            "x-amazon-apigateway-authorizer": {
                "type": "token",
                "authorizerUri": uri("authorizer"),
                "authorizerResultTtlInSeconds": 60,
            },
        }
    },
    "paths": {
        "/items/{id}": {"get": proxy("app", secured=True)},
        "/items/mine": {"get": proxy("app", secured=True)},
        "/admin": {"get": proxy("app", secured=True)},
        "/login": {
            "post": proxy("auth"),
            "options": {
                "x-amazon-apigateway-integration": {
                    "type": "mock",
                    "responses": {
                        "default": {
                            "statusCode": "200",
                            "responseParameters": {"method.response.header.Vary": "'Origin'"},
                            "responseTemplates": {
                                "application/json": "#set($o = \"$!input.params().header.get('Origin')\")"
                                "#if($o == 'https://ok.example')"
                                "#set($context.responseOverride.header.Access-Control-Allow-Origin = $o)#end"
                            },
                        }
                    },
                }
            },
        },
    },
    "x-amazon-apigateway-gateway-responses": {
        "UNAUTHORIZED": {
            "statusCode": 401,
            "responseParameters": {
                "gatewayresponse.header.WWW-Authenticate": "'Bearer error=\"invalid_token\"'",
                "gatewayresponse.header.Access-Control-Allow-Origin": "method.request.header.Origin",
            },
            "responseTemplates": {"application/json": '{"error":"invalid_token"}'},
        },
        "ACCESS_DENIED": {
            "statusCode": 403,
            "responseTemplates": {"application/json": '{"error":"forbidden"}'},
        },
        "MISSING_AUTHENTICATION_TOKEN": {
            "statusCode": 404,
            "responseTemplates": {"application/json": '{"error":"not_found"}'},
        },
        "DEFAULT_5XX": {
            "responseTemplates": {
                "application/json": '{"error":"internal_error","said":$context.error.messageString}'
            }
        },
    },
}


@dataclass
class Spec:
    logical: str

    def label(self) -> str:
        return self.logical


@dataclass
class FakeFunction:
    """Answers like a function would; records the events it got."""

    spec: Spec
    answer: Any
    events: list[dict[str, Any]] = field(default_factory=list)

    def invoke(self, event: dict[str, Any]) -> Invocation:
        self.events.append(event)
        answer: Invocation = self.answer(event) if callable(self.answer) else self.answer
        return answer


def policy(effect: str, resource: str) -> dict[str, Any]:
    statement = {"Effect": effect, "Action": "execute-api:Invoke", "Resource": resource}
    return {"principalId": "u1", "policyDocument": {"Statement": [statement]}, "context": {"sub": "u1"}}


def authorizer_answer(event: dict[str, Any]) -> Invocation:
    token = event["authorizationToken"]
    if token == "Bearer bad":
        return Invocation(error={"errorMessage": "Unauthorized", "errorType": "Exception"})
    # Like Gatehouse: every route but /admin, listed as globs.
    return Invocation(result=policy("Allow", "arn:aws:execute-api:us-east-1:123456789012:api1/api/*/items*"))


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def functions() -> dict[str, FakeFunction]:
    ok = Invocation(result={"statusCode": 200, "headers": {"X-From": "app"}, "body": "hi"})
    return {
        "app": FakeFunction(Spec("App"), ok),
        "auth": FakeFunction(
            Spec("Auth"), Invocation(error={"errorMessage": "boom", "errorType": "KeyError"})
        ),
        "authorizer": FakeFunction(Spec("Authorizer"), authorizer_answer),
    }


@pytest.fixture
def gateway(functions: dict[str, FakeFunction], clock: Clock) -> Gateway:
    api = Api.from_definition(DEFINITION, {FN + name: name for name in functions}, "api")
    return Gateway(
        api, cast(dict[str, FunctionProcess], functions), "api1", "us-east-1", ACCOUNT, clock=clock
    )


def call(gateway: Gateway, method: str, path: str, **headers: str) -> tuple[int, dict[str, str], Any]:
    status, answer, body = gateway.handle(method, path, headers, b"")
    return (
        status,
        answer,
        json.loads(body) if answer.get("Content-Type") == "application/json" else body.decode(),
    )


def test_each_path_goes_to_the_function_its_integration_names_with_a_proxy_event(
    gateway: Gateway, functions: dict[str, FakeFunction]
) -> None:
    status, headers, body = call(gateway, "GET", "/api/items/7?x=1", Authorization="Bearer t")
    assert (status, headers["X-From"], body) == (200, "app", "hi")
    [event] = functions["app"].events
    assert event["resource"] == "/items/{id}"
    assert event["pathParameters"] == {"id": "7"}
    assert event["queryStringParameters"] == {"x": "1"}
    assert event["requestContext"]["authorizer"] == {"sub": "u1", "principalId": "u1"}
    call(gateway, "GET", "/api/items/mine", Authorization="Bearer t")
    assert functions["app"].events[-1]["resource"] == "/items/mine"  # the literal path wins


def test_the_authorizer_is_called_once_per_token_while_its_policy_is_cached(
    gateway: Gateway, functions: dict[str, FakeFunction], clock: Clock
) -> None:
    for path in ("/api/items/1", "/api/items/2", "/api/admin"):
        call(gateway, "GET", path, Authorization="Bearer t")
    assert len(functions["authorizer"].events) == 1
    # The cached policy is evaluated for each route: /admin is not in it.
    assert call(gateway, "GET", "/api/admin", Authorization="Bearer t")[:1] == (403,)
    clock.now += 61
    call(gateway, "GET", "/api/items/1", Authorization="Bearer t")
    assert len(functions["authorizer"].events) == 2
    assert (
        functions["authorizer"].events[0]["methodArn"]
        == "arn:aws:execute-api:us-east-1:123456789012:api1/api/GET/items/1"
    )


def test_gateway_answers_come_from_the_definitions_gateway_responses(
    gateway: Gateway, functions: dict[str, FakeFunction]
) -> None:
    status, headers, body = call(gateway, "GET", "/api/items/1", Origin="https://ok.example")
    assert (status, body) == (401, {"error": "invalid_token"})
    assert headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert headers["Access-Control-Allow-Origin"] == "https://ok.example"
    assert functions["authorizer"].events == []  # no token: no call
    assert call(gateway, "GET", "/api/items/1", Authorization="Bearer bad")[::2] == (
        401,
        {"error": "invalid_token"},
    )
    assert call(gateway, "GET", "/api/admin", Authorization="Bearer t")[::2] == (403, {"error": "forbidden"})
    assert call(gateway, "GET", "/api/nowhere")[::2] == (404, {"error": "not_found"})
    assert call(gateway, "DELETE", "/api/login")[::2] == (404, {"error": "not_found"})
    assert call(gateway, "GET", "/items/1")[0] == 404  # outside the stage
    assert gateway.incidents == []


def test_a_failing_function_is_a_502_and_an_incident_naming_it(gateway: Gateway) -> None:
    status, _, body = call(gateway, "POST", "/api/login")
    assert (status, body) == (502, {"error": "internal_error", "said": "Internal server error"})
    [incident] = gateway.incidents
    assert (incident.function, incident.request) == ("Auth", "POST /login")
    assert "KeyError: boom" in incident.what


def test_mock_integrations_run_their_mapping_template(gateway: Gateway) -> None:
    status, headers, _ = call(gateway, "OPTIONS", "/api/login", Origin="https://ok.example")
    assert (status, headers["Access-Control-Allow-Origin"], headers["Vary"]) == (
        200,
        "https://ok.example",
        "Origin",
    )
    assert (
        "Access-Control-Allow-Origin"
        not in call(gateway, "OPTIONS", "/api/login", Origin="https://evil.example")[1]
    )


def test_an_integration_naming_no_function_of_the_template_is_refused() -> None:
    with pytest.raises(TemplateError, match=r"GET /admin: integration URI names .*function:app"):
        Api.from_definition({"paths": {"/admin": {"get": proxy("app")}}}, {}, "api")
    http = {"x-amazon-apigateway-integration": {"type": "http", "uri": "https://example.com"}}
    with pytest.raises(TemplateError, match="integration type 'http'"):
        Api.from_definition({"paths": {"/x": {"get": http}}}, {}, "api")
