"""The deployable stack as `make package` builds it: tables, functions, variables, gateway responses.

The template is built once per test session (tests/conftest.py, `package`): the merge
template by `python -m gatehouse.release.template`, then the real ``chalice package``
(pip fetches the Lambda wheels), so these tests check what would be deployed, not the
merge template alone.  ``make deploy-check`` runs cfn-lint on the same output.  Roles:
tests/release/test_deploy_roles.py; which function serves which route: tests/release/test_deploy_routing.py;
CORS: tests/release/test_deploy_cors.py.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from dataclasses import fields
from typing import Any

import pytest
from chalice.test import Client

from gatehouse.dev import gateway
from gatehouse.errors import Forbidden, GatehouseError, NotFound
from gatehouse.release.template import AUTH_FUNCTION
from gatehouse.settings import Settings, authorizer_ttl
from gatehouse.storage.tables import create_tables, table_definitions
from tests.conftest import Credentials, Package, bearer, json_body, keys_anywhere
from tests.release.stack import (
    API_HANDLER,
    APP_TABLE_IDS,
    APP_TABLES,
    AUTHORIZER,
    FUNCTIONS,
    NAME_SUFFIX,
    TABLES,
    ref,
)

pytestmark = pytest.mark.deploy

# Variables the template sets that are read outside `Settings`: the CORS list (read when
# app.py is imported, like the authorizer TTL) and the mailer's sender and configuration set.
READ_OUTSIDE_SETTINGS = {
    "GATEHOUSE_CORS_ORIGINS",
    "GATEHOUSE_MAIL_FROM",
    "GATEHOUSE_MAIL_CONFIGURATION_SET",
    "GATEHOUSE_PROTECTED_ROUTES",  # written by the merge template, read by the authorizer's handler
}


# -- tables -------------------------------------------------------------------------------


def _tables_as_created_locally() -> dict[str, dict[str, Any]]:
    """The tables the local stack creates (tests and `make run`), keyed by template logical id."""
    by_name = {d["TableName"]: d for d in _all_local_tables()}
    return {logical: by_name[name] for logical, (_, name) in TABLES.items()}


def _all_local_tables() -> list[dict[str, Any]]:
    """Gatehouse's tables and the app's declared ones, as the local stack creates them."""
    return [*table_definitions(Settings()), *(t.create_table_arguments({}) for t in APP_TABLES)]


def test_template_has_exactly_the_tables_the_local_stack_creates(package: Package) -> None:
    in_template = {k for k, r in package.resources.items() if r["Type"] == "AWS::DynamoDB::Table"}
    assert in_template == set(TABLES)
    assert len(_all_local_tables()) == len(TABLES)


@pytest.mark.parametrize("logical", sorted(TABLES))
def test_table_keys_attributes_and_indexes_match_table_definitions(package: Package, logical: str) -> None:
    local = _tables_as_created_locally()[logical]
    deployed = package.resources[logical]["Properties"]
    assert "TableName" not in deployed  # CloudFormation names it; functions get the name by Ref
    assert deployed["KeySchema"] == local["KeySchema"]
    key = lambda d: d["AttributeName"]  # noqa: E731
    assert sorted(deployed["AttributeDefinitions"], key=key) == sorted(local["AttributeDefinitions"], key=key)
    assert deployed.get("GlobalSecondaryIndexes", []) == local.get("GlobalSecondaryIndexes", [])
    assert deployed["BillingMode"] == local["BillingMode"] == "PAY_PER_REQUEST"


@pytest.mark.parametrize("logical", sorted(TABLES))
def test_every_table_has_point_in_time_recovery(package: Package, logical: str) -> None:
    spec = package.resources[logical]["Properties"]["PointInTimeRecoverySpecification"]
    assert spec == {"PointInTimeRecoveryEnabled": True}


def test_ttl_is_on_exactly_the_tables_and_attribute_the_local_stack_sets(
    package: Package, aws_mock: None
) -> None:
    import boto3

    client = boto3.client("dynamodb", region_name="us-east-1")
    settings = Settings()
    create_tables(client, settings)
    for logical, (_, name) in TABLES.items():
        if logical in APP_TABLE_IDS:
            continue  # the app's own tables: no TTL, not created by Gatehouse
        described = client.describe_time_to_live(TableName=name)
        status = described["TimeToLiveDescription"]
        local = (
            {"AttributeName": status["AttributeName"], "Enabled": True}
            if status["TimeToLiveStatus"] in ("ENABLED", "ENABLING")
            else None
        )
        assert package.resources[logical]["Properties"].get("TimeToLiveSpecification") == local, logical
    sessions_ttl = package.resources["SessionsTable"]["Properties"]["TimeToLiveSpecification"]
    assert sessions_ttl == {"AttributeName": "expires_at", "Enabled": True}


def test_sessions_are_keyed_by_account_so_one_consistent_query_finds_them_all(package: Package) -> None:
    properties = package.resources["SessionsTable"]["Properties"]
    assert properties["KeySchema"] == [
        {"AttributeName": "account_id", "KeyType": "HASH"},
        {"AttributeName": "sid", "KeyType": "RANGE"},
    ]
    assert "GlobalSecondaryIndexes" not in properties  # nothing eventually consistent to rely on


# -- functions and their environment ---------------------------------------------------


def test_every_function_gets_table_names_by_ref_and_the_jwks_from_the_ssm_parameter(package: Package) -> None:
    for function in FUNCTIONS:
        env = package.env_of(function)
        for logical, (variable, _) in TABLES.items():
            if logical in APP_TABLE_IDS:
                continue
            assert ref(env[variable]) == logical, (function, variable)
        assert ref(env["GATEHOUSE_JWKS"]) == "PublicJwks"
    jwks_parameter = package.template["Parameters"]["PublicJwks"]
    assert jwks_parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
    assert jwks_parameter["Default"] == "/gatehouse/prod/jwks"


def test_only_the_auth_function_loads_the_signing_key(package: Package) -> None:
    auth = package.env_of(AUTH_FUNCTION)
    assert ref(auth["GATEHOUSE_SIGNING_KEY_PARAM"]) == "SigningKeyParameterName"
    assert auth["GATEHOUSE_PRELOAD_SIGNING_KEY"] == "true"
    assert "GATEHOUSE_PRELOAD_SIGNING_KEY" not in package.env_of(API_HANDLER)
    authorizer = package.env_of(AUTHORIZER)
    assert "GATEHOUSE_SIGNING_KEY_PARAM" not in authorizer
    assert "GATEHOUSE_PRELOAD_SIGNING_KEY" not in authorizer
    parameter = package.template["Parameters"]["SigningKeyParameterName"]
    assert parameter == {**parameter, "Type": "String", "Default": "/gatehouse/prod/signing-key"}


def test_the_auth_function_is_told_the_mfa_key_parameter_and_the_authorizer_is_not(package: Package) -> None:
    # The API handler is told config.json's name (Route B's API handler serves the auth routes),
    # which its role here may not read (test_auth_function_alone_reads_the_signing_key_and_the_mfa_key).
    assert ref(package.env_of(AUTH_FUNCTION)["GATEHOUSE_MFA_KEY_PARAM"]) == "MfaKeyParameterName"
    assert "GATEHOUSE_MFA_KEY_PARAM" not in package.env_of(AUTHORIZER)
    parameter = package.template["Parameters"]["MfaKeyParameterName"]
    assert parameter == {**parameter, "Type": "String", "Default": "/gatehouse/prod/mfa-key"}


def test_the_auth_function_gets_the_mail_sender_and_configuration_set(package: Package) -> None:
    auth = package.env_of(AUTH_FUNCTION)
    assert ref(auth["GATEHOUSE_MAIL_FROM"]) == "MailFromAddress"
    assert ref(auth["GATEHOUSE_MAIL_CONFIGURATION_SET"]) == "MailConfigurationSet"
    for function in (API_HANDLER, AUTHORIZER):
        assert not {n for n in package.env_of(function) if n.startswith("GATEHOUSE_MAIL_")}, function


def test_every_gatehouse_variable_in_the_template_is_a_known_setting(package: Package) -> None:
    known = {"GATEHOUSE_" + f.name.upper() for f in fields(Settings)} | READ_OUTSIDE_SETTINGS
    for function in FUNCTIONS:
        names = {n for n in package.env_of(function) if n.startswith("GATEHOUSE_")}
        assert names <= known, names - known


def test_the_auth_function_gets_the_settings_config_json_gives_the_stage(package: Package) -> None:
    # The stage's plain settings (issuer, audience, sign-up, ...) reach the function that
    # issues tokens exactly as Chalice gives them to its own functions.
    chalice_given = {
        name: value
        for name, value in package.env_of(API_HANDLER).items()
        if name.startswith("GATEHOUSE_") and isinstance(value, str)
    }
    assert {"GATEHOUSE_ISSUER", "GATEHOUSE_AUDIENCE", "GATEHOUSE_ALLOW_SIGNUP"} <= set(chalice_given)
    auth = package.env_of(AUTH_FUNCTION)
    assert {name: auth.get(name) for name in chalice_given} == chalice_given


def test_the_template_creates_no_ssm_parameter_and_holds_no_key(package: Package) -> None:
    types = {r["Type"] for r in package.resources.values()}
    assert not {t for t in types if t.startswith("AWS::SSM::")}


def test_the_auth_function_is_updated_after_the_authorizer(package: Package) -> None:
    # A rotated key must be known to every verifier before the signer can use it.
    assert AUTHORIZER in package.resources[AUTH_FUNCTION]["DependsOn"]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_has_its_own_log_group_with_retention(package: Package, function: str) -> None:
    name = NAME_SUFFIX[function]
    function_name = package.resources[function]["Properties"]["FunctionName"]
    assert function_name == {"Fn::Sub": "${AWS::StackName}-" + name}
    groups = {
        logical: r["Properties"]
        for logical, r in package.resources.items()
        if r["Type"] == "AWS::Logs::LogGroup"
        and r["Properties"]["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${AWS::StackName}-" + name}
    }
    assert len(groups) == 1
    [(logical, group)] = groups.items()
    assert ref(group["RetentionInDays"]) == "LogRetentionInDays"
    # Created first, so Lambda never makes it itself without the retention.
    assert logical in package.resources[function]["DependsOn"]


# -- API Gateway: authorizer and gateway responses ---------------------------------------


def test_authorizer_ttl_in_the_template_is_the_one_app_py_sets(package: Package) -> None:
    authorizer = package.api_body()["securityDefinitions"]["gatehouse_auth"]["x-amazon-apigateway-authorizer"]
    assert authorizer["authorizerResultTtlInSeconds"] == authorizer_ttl(package.env) == 60
    assert authorizer["type"] == "token"
    assert "${GatehouseAuth.Arn}" in authorizer["authorizerUri"]["Fn::Sub"]


def _gateway_responses(package: Package) -> dict[str, Any]:
    return dict(package.api_body()["x-amazon-apigateway-gateway-responses"])


def _body(response: dict[str, Any]) -> dict[str, Any]:
    # DEFAULT_4XX quotes API Gateway's own message; any string stands in for it here.
    template = response["responseTemplates"]["application/json"]
    body: dict[str, Any] = json.loads(template.replace("$context.error.messageString", '"x"'))
    return body


EXPECTED_RESPONSES = {
    "UNAUTHORIZED": (401, "invalid_token", 'Bearer error="invalid_token"'),
    "ACCESS_DENIED": (403, Forbidden.code, 'Bearer error="insufficient_scope"'),
    "MISSING_AUTHENTICATION_TOKEN": (404, NotFound.code, None),
    "DEFAULT_4XX": (None, "invalid_request", None),
    "DEFAULT_5XX": (None, GatehouseError.code, None),
}


@pytest.mark.parametrize("kind", sorted(EXPECTED_RESPONSES))
def test_gateway_response_has_status_challenge_no_store_and_an_error_body(
    package: Package, kind: str
) -> None:
    status, code, challenge = EXPECTED_RESPONSES[kind]
    response = _gateway_responses(package)[kind]
    assert response.get("statusCode") == status
    headers = response["responseParameters"]
    assert (
        "gatewayresponse.header.Access-Control-Allow-Origin" in headers
    )  # tests/release/test_deploy_cors.py
    assert headers["gatewayresponse.header.Cache-Control"] == "'no-store'"
    if challenge is None:
        assert "gatewayresponse.header.WWW-Authenticate" not in headers
    else:
        assert headers["gatewayresponse.header.WWW-Authenticate"] == f"'{challenge}'"
        assert headers["gatewayresponse.header.Access-Control-Expose-Headers"] == "'WWW-Authenticate'"
    body = _body(response)
    assert set(body) == {"error", "message"}
    assert body["error"] == code


def test_local_emulation_answers_401_and_403_exactly_like_the_gateway_responses(
    package: Package, client: Client, make_user: Callable[..., Credentials], login: Callable[..., str]
) -> None:
    responses = _gateway_responses(package)
    bad = client.http.get("/me", headers=bearer("not.a.token"))
    assert bad.status_code == 401
    assert json_body(bad) == _body(responses["UNAUTHORIZED"])
    assert bad.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    denied = client.http.get("/admin/users", headers=bearer(login(make_user())))
    assert denied.status_code == 403
    assert json_body(denied) == _body(responses["ACCESS_DENIED"])
    assert denied.headers["WWW-Authenticate"] == 'Bearer error="insufficient_scope"'
    assert gateway.INVALID_TOKEN[1] == _body(responses["UNAUTHORIZED"])


# -- no secrets, and nothing but the app in the Lambda zip ----------------------------------


def test_template_holds_no_secret_material(package: Package) -> None:
    assert "PRIVATE KEY" not in package.text
    assert "$argon2" not in package.text
    members = set(keys_anywhere(package.template))
    assert not members & {"d", "p", "q", "dp", "dq", "qi", "k", "kty"}
    assert not [m for m in members if "hash" in m.lower() or "secret" in m.lower()]


def test_lambda_zip_holds_the_app_but_no_cli_dev_tooling_tests_or_keys(package: Package) -> None:
    with zipfile.ZipFile(package.zip_path) as bundle:
        names = bundle.namelist()
    tops = {name.split("/", 1)[0] for name in names}
    assert {"app.py", "chalicelib"} <= tops
    assert not tops & {
        "gatehouse.admin",
        "gatehouse.dev",
        "gatehouse.release",
        "tests",
        "deploy",
        "bench",
        ".chalice",
        "docs",
    }
    assert not [n for n in names if n.endswith((".pem", ".jwk"))]


def test_the_app_tables_names_reach_the_api_handler_and_the_auth_function_not_the_authorizer(
    package: Package,
) -> None:
    # The auth function needs them too: the account-deleted hooks run there.
    if not APP_TABLES:
        pytest.skip("app.py declares no table (tests/adopt/test_without_the_example.py)")
    for table in APP_TABLES:
        assert ref(package.env_of(API_HANDLER)[table.variable]) == table.logical_id
        assert ref(package.env_of(AUTH_FUNCTION)[table.variable]) == table.logical_id
        assert table.variable not in package.env_of(AUTHORIZER)


def test_the_app_tables_outlive_the_stack(package: Package) -> None:
    for table in APP_TABLES:
        resource = package.resources[table.logical_id]
        assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
