"""openapi.yaml: valid OpenAPI 3.1, exactly the routes of app.py, and what GET /openapi.json serves.

Run ``make openapi`` after editing openapi.yaml; ``make test-api`` checks the
description against the running API with Schemathesis.
"""

from __future__ import annotations

from typing import Any

import pytest
from chalice import Chalice
from chalice.test import Client
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import OpenAPIV31SpecValidator

import app as gatehouse_app
from gatehouse import Gatehouse, Identity
from gatehouse.dev import gateway
from gatehouse.dev import openapi as generator
from gatehouse.errors import GatehouseError, InvalidGrant, UnsupportedGrantType
from gatehouse.jose.errors import TokenError
from gatehouse.web import openapi as served
from gatehouse.web.responses import STATUS
from tests.conftest import ROOT, json_body

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
OAUTH_OPERATIONS = {("POST", "/auth/token"), ("POST", "/auth/revoke")}


@pytest.fixture(scope="module")
def description() -> Any:
    return generator.load()


def _resolve(document: Any, node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _operations(document: Any) -> dict[tuple[str, str], Any]:
    return {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def _routes() -> dict[tuple[str, str], Any]:
    return {
        (method, path): entry
        for path, methods in gatehouse_app.app.routes.items()
        for method, entry in methods.items()
    }


def test_description_is_valid_openapi_3_1(description: Any) -> None:
    assert description["openapi"].startswith("3.1.")
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in OpenAPIV31SpecValidator(description).iter_errors()
    ]
    assert errors == []


def test_every_route_of_the_app_is_described_and_nothing_else(description: Any) -> None:
    routes = set(_routes())
    described = set(_operations(description))
    assert sorted(routes - described) == [], "routes of app.py missing from openapi.yaml"
    assert sorted(described - routes) == [], "operations in openapi.yaml that app.py does not have"


def test_security_follows_the_authorizer_and_roles(description: Any) -> None:
    roles = {(r.path, r.method): r.role for r in gatehouse_app.gate.route_table()}
    for key, entry in _routes().items():
        operation = _operations(description)[key]
        if entry.authorizer is gatehouse_app.gate.authorizer:
            role = roles.get((key[1], key[0]))
            assert operation.get("security") == [{"bearerAuth": [role] if role else []}], key
            assert {"401", "403"} <= set(operation["responses"]), key
        else:
            assert operation.get("security", description["security"]) == [], key


def test_request_bodies_take_the_media_types_the_routes_accept(description: Any) -> None:
    for key, entry in _routes().items():
        body = _operations(description)[key].get("requestBody")
        if body is not None:
            assert sorted(_resolve(description, body)["content"]) == sorted(entry.content_types), key


def test_error_bodies_have_the_shape_of_their_endpoint(description: Any) -> None:
    # RFC 6749 bodies on the token and revoke endpoints, {"error", "message"} everywhere else.
    expected = {True: "#/components/schemas/OAuthError", False: "#/components/schemas/Error"}
    for key, operation in _operations(description).items():
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            schema = _resolve(description, response)["content"]["application/json"]["schema"]
            assert schema == {"$ref": expected[key in OAUTH_OPERATIONS]}, (key, status)


def test_every_operation_documents_what_any_request_can_get(description: Any) -> None:
    for key, operation in _operations(description).items():
        responses = operation["responses"]
        assert "500" in responses, key
        if "requestBody" in operation:
            assert {"400", "413", "415"} <= set(responses), key
        for status in ("429", "503"):
            if status in responses:
                headers = _resolve(description, responses[status])["headers"]
                assert _resolve(description, headers["Retry-After"])["required"] is True, (key, status)


def test_the_served_copy_is_generated_from_the_yaml(description: Any) -> None:
    assert served.PATH.read_text(encoding="utf-8") == generator.render(description), (
        "chalicelib/openapi.json is stale: run `make openapi`"
    )


def test_get_openapi_json_serves_the_yaml_without_a_token(client: Client, description: Any) -> None:
    response = client.http.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert json_body(response) == description


def test_an_app_without_the_example_serves_only_the_routes_it_has(rt: Any, description: Any) -> None:
    app = Chalice(app_name="todos")
    gate = Gatehouse(app, env={})

    @gate.route("/todos", methods=["GET"])
    def todos(identity: Identity) -> list[str]:
        return []

    served_paths = set(json_body(Client(app, project_dir=str(ROOT)).http.get("/openapi.json"))["paths"])
    assert not any(path.startswith("/notes") for path in served_paths)
    assert "/auth/token" in served_paths
    assert served_paths == set(description["paths"]) & set(app.routes)


def _subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def test_every_error_code_the_app_can_render_is_documented(description: Any) -> None:
    schemas = description["components"]["schemas"]
    errors = {cls for cls in _subclasses(GatehouseError) if cls.__module__.startswith("gatehouse.")}
    # Raised by the token endpoint alone, so only ever seen in the RFC 6749 shape.
    token_endpoint_only = {InvalidGrant, UnsupportedGrantType}
    codes = {cls.code for cls in errors - token_endpoint_only}
    assert codes <= set(schemas["Error"]["properties"]["error"]["enum"])
    # An access token is never rejected on the OAuth endpoints (revoke ignores bad tokens, RFC 7009).
    oauth_codes = {r.oauth_code for cls, r in STATUS.items() if not issubclass(cls, TokenError)}
    assert oauth_codes <= set(schemas["OAuthError"]["properties"]["error"]["enum"])


def test_the_local_gateways_401_and_403_answers_are_documented(description: Any) -> None:
    components = description["components"]
    error = OAS31Validator({**components["schemas"]["Error"], "components": components})
    challenges = {
        401: _resolve(description, components["headers"]["WwwAuthenticateUnauthorized"])["schema"]["enum"],
        403: [components["headers"]["WwwAuthenticateForbidden"]["schema"]["const"]],
    }
    for status, (headers, body) in (
        (401, gateway.MISSING_TOKEN),
        (401, gateway.INVALID_TOKEN),
        (403, gateway.INSUFFICIENT_SCOPE),
    ):
        error.validate(body)
        assert headers["WWW-Authenticate"] in challenges[status]
