"""CORS in the deployable stack: one parameter, the functions' list and API Gateway's preflights.

``CorsAllowOrigins`` reaches the three functions as ``GATEHOUSE_CORS_ORIGINS``
and, through ``Fn::Sub``, the mapping template of every path's mock
``OPTIONS`` method.  The template is resolved as CloudFormation would for a
given list (tests/cfn.py), and the resulting mapping template is run as the
rehearsal's gateway runs it (``gatehouse.release.rehearsal.gateway.mock_response``:
airspeed, the Velocity engine LocalStack's API Gateway uses) with the request's
headers, so the tests see which headers API Gateway would send.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest

import app as gatehouse_app
from gatehouse.release.rehearsal.gateway import mock_response
from gatehouse.release.template import CORS_PARAMETER, PREFLIGHT_MAX_AGE
from tests.conftest import Package
from tests.release.cfn import deployed
from tests.release.stack import FUNCTIONS

pytestmark = pytest.mark.deploy

TWO = ("https://app.example.com", "capacitor://localhost")
THREE = ("https://app.example.com", "capacitor://localhost", "http://localhost:8100")
# Near misses of the listed origins, and origins nobody listed.
UNLISTED = (
    "https://evil.example",
    "https://app.example.com.evil.example",
    "https://evil.example/https://app.example.com",
    "https://app.example.co",
    "http://app.example.com",
    "https://app.example.com:443",
    "capacitor://localhost.evil.example",
    "ionic://localhost",
    "null",
)
CORS_HEADERS = {
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers",
    "Access-Control-Max-Age",
}


def _parameter(package: Package) -> dict[str, Any]:
    return dict(package.template["Parameters"][CORS_PARAMETER])


def _paths(resolved: Mapping[str, Any]) -> dict[str, Any]:
    return dict(resolved["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"])


def _preflight(operation: Mapping[str, Any], headers: Mapping[str, str]) -> dict[str, str]:
    """The headers API Gateway sends for this mock OPTIONS operation and these request headers."""
    _, answer, _ = mock_response(operation, headers)
    return answer


def _allowed_methods(path: str) -> str:
    return ",".join(sorted({*gatehouse_app.app.routes[path], "OPTIONS"}))


# -- the parameter ------------------------------------------------------------------------------


def test_one_list_parameter_replaces_the_single_origin_and_defaults_to_no_cors(package: Package) -> None:
    parameters = package.template["Parameters"]
    assert "CorsAllowOrigin" not in parameters
    assert _parameter(package)["Default"] == ""
    assert _parameter(package)["Type"] == "String"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "*",
        ",".join(TWO),
        ",".join(THREE),
        "ionic://localhost,app://localhost,https://localhost,http://127.0.0.1:3000",
    ],
)
def test_the_parameter_accepts_empty_any_or_a_list_of_exact_origins(package: Package, value: str) -> None:
    assert re.fullmatch(_parameter(package)["AllowedPattern"], value)


@pytest.mark.parametrize(
    "value",
    [
        "https://app.example.com/",
        "https://app.example.com/path",
        "https://app.example.com, capacitor://localhost",
        "https://app.example.com,",
        ",https://app.example.com",
        "*,https://app.example.com",
        "ftp://files.example.com",
        "app.example.com",
        'https://a.example"',
        "https://a.example'",
        "https://a.example$x",
        "https://a.example#set",
        "https://a.example}",
    ],
)
def test_the_parameter_refuses_anything_but_exact_origins(package: Package, value: str) -> None:
    # Nothing that could end the VTL string it is substituted into, or add to it.
    assert not re.fullmatch(_parameter(package)["AllowedPattern"], value)


@pytest.mark.parametrize("origins", [TWO, THREE], ids=["two", "three"])
def test_the_three_functions_and_every_preflight_get_the_same_list(
    package: Package, origins: tuple[str, ...]
) -> None:
    value = ",".join(origins)
    resolved = deployed(package.template, {CORS_PARAMETER: value})
    for function in FUNCTIONS:
        env = resolved["Resources"][function]["Properties"]["Environment"]["Variables"]
        assert env["GATEHOUSE_CORS_ORIGINS"] == value, function
    for path, operations in _paths(resolved).items():
        vtl = operations["options"]["x-amazon-apigateway-integration"]["responses"]["default"]
        assert f'#set($origins = "{value}")' in vtl["responseTemplates"]["application/json"], path


# -- preflights: a mock OPTIONS on every path -----------------------------------------------------


def test_every_path_has_a_mock_preflight_without_the_authorizer(package: Package) -> None:
    paths = package.api_body()["paths"]
    assert set(paths) == set(gatehouse_app.app.routes)
    for path, operations in paths.items():
        options = operations["options"]
        assert "security" not in options, path  # a preflight carries no token
        integration = options["x-amazon-apigateway-integration"]
        assert integration["type"] == "mock"
        assert integration["requestTemplates"] == {"application/json": '{"statusCode": 200}'}
        declared = set(options["responses"]["200"]["headers"])
        assert declared == CORS_HEADERS | {"Vary"}, path


@pytest.mark.parametrize("origins", [TWO, THREE], ids=["two", "three"])
def test_a_listed_origin_is_reflected_with_the_paths_methods_on_every_path(
    package: Package, origins: tuple[str, ...]
) -> None:
    paths = _paths(deployed(package.template, {CORS_PARAMETER: ",".join(origins)}))
    for path, operations in paths.items():
        for origin in origins:
            # HTTP/1.1 clients send "Origin", HTTP/2 ones "origin".
            for header in ("Origin", "origin"):
                answer = _preflight(operations["options"], {header: origin})
                assert answer == {
                    "Access-Control-Allow-Origin": origin,
                    "Access-Control-Allow-Methods": _allowed_methods(path),
                    "Access-Control-Allow-Headers": "Authorization,Content-Type",
                    "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE),
                    "Vary": "Origin",
                }, (path, origin)


@pytest.mark.parametrize("origins", [TWO, THREE], ids=["two", "three"])
def test_an_unlisted_origin_gets_no_cors_headers_only_vary(
    package: Package, origins: tuple[str, ...]
) -> None:
    paths = _paths(deployed(package.template, {CORS_PARAMETER: ",".join(origins)}))
    for path, operations in paths.items():
        for origin in UNLISTED:
            assert _preflight(operations["options"], {"Origin": origin}) == {"Vary": "Origin"}, (path, origin)
        assert _preflight(operations["options"], {}) == {"Vary": "Origin"}, path


def test_the_default_empty_list_allows_no_origin(package: Package) -> None:
    paths = _paths(deployed(package.template))
    for operations in paths.values():
        for origin in (*THREE, *UNLISTED):
            assert _preflight(operations["options"], {"Origin": origin}) == {"Vary": "Origin"}


def test_any_origin_is_answered_with_a_star(package: Package) -> None:
    paths = _paths(deployed(package.template, {CORS_PARAMETER: "*"}))
    answer = _preflight(paths["/notes"]["options"], {"Origin": "https://anyone.example"})
    assert answer["Access-Control-Allow-Origin"] == "*"
    assert answer["Access-Control-Allow-Methods"] == "GET,OPTIONS,POST"
    assert _preflight(paths["/notes"]["options"], {}) == {"Vary": "Origin"}


def test_preflights_allow_no_credentials(package: Package) -> None:
    paths = _paths(deployed(package.template, {CORS_PARAMETER: ",".join(THREE)}))
    for operations in paths.values():
        answer = _preflight(operations["options"], {"Origin": THREE[0]})
        assert "Access-Control-Allow-Credentials" not in answer


# -- API Gateway's own answers (401, 403, 404, 4XX, 5XX) -----------------------------------------

ORIGIN_HEADER = "gatewayresponse.header.Access-Control-Allow-Origin"
VARY_HEADER = "gatewayresponse.header.Vary"


def _gateway_responses(package: Package, value: str) -> dict[str, Any]:
    resolved = deployed(package.template, {CORS_PARAMETER: value})
    body = resolved["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    responses: dict[str, Any] = body["x-amazon-apigateway-gateway-responses"]
    assert len(responses) == 5
    return responses


def test_gateway_responses_carry_no_cors_headers_when_cors_is_off(package: Package) -> None:
    for kind, response in _gateway_responses(package, "").items():
        assert ORIGIN_HEADER not in response["responseParameters"], kind
        assert VARY_HEADER not in response["responseParameters"], kind


@pytest.mark.parametrize("origins", [TWO, THREE], ids=["two", "three"])
def test_gateway_responses_reflect_the_request_origin_when_cors_is_on(
    package: Package, origins: tuple[str, ...]
) -> None:
    # A gateway response can only map static values or request parameters: it cannot
    # check the list (docs/SECURITY.md says why reflecting is safe there).
    for kind, response in _gateway_responses(package, ",".join(origins)).items():
        headers = response["responseParameters"]
        assert headers[ORIGIN_HEADER] == "method.request.header.Origin", kind
        assert headers[VARY_HEADER] == "'Origin'", kind
        assert "gatewayresponse.header.Access-Control-Allow-Credentials" not in headers


def test_gateway_responses_answer_any_origin_with_a_star(package: Package) -> None:
    for kind, response in _gateway_responses(package, "*").items():
        assert response["responseParameters"][ORIGIN_HEADER] == "'*'", kind
