"""The deployable stack: ``chalice package --merge-template deploy/resources.json``, read as JSON.

The template is built once per test session by the real ``chalice package``
(about 3 s; pip fetches the Lambda wheels), so these tests check what would
be deployed, not the merge template alone.  ``make deploy-check`` runs
cfn-lint on the same output.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.gatehouse.errors import Forbidden, GatehouseError, NotFound
from chalicelib.gatehouse.runtime import Runtime
from chalicelib.gatehouse.settings import Settings, authorizer_ttl
from chalicelib.gatehouse.storage import aws
from chalicelib.gatehouse.storage.tables import create_tables, table_definitions
from chalicelib.notes.repository import table_definition as notes_table
from gatehouse_dev import gateway
from tests.conftest import (
    MAIL_FROM,
    ROOT,
    Credentials,
    Mailbox,
    Package,
    bearer,
    json_body,
    keys_anywhere,
    post_json,
)

pytestmark = pytest.mark.deploy

STAGE = "prod"
# Logical id in the template -> the Settings field naming that table.
TABLES = {
    "UsersTable": "gatehouse-users",
    "SessionsTable": "gatehouse-sessions",
    "NotesTable": "gatehouse-notes",
    "AttemptsTable": "gatehouse-attempts",
}
API_HANDLER, AUTHORIZER = "APIHandler", "GatehouseAuth"
ROLES = {API_HANDLER: "ApiHandlerRole", AUTHORIZER: "GatehouseAuthRole"}
LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}
WRITE_ACTIONS = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}


# `Package` and the session-scoped `package` fixture are in tests/conftest.py: shared with
# tests/test_bytecode.py, so the stack is packaged once per session.


def _ref(value: Any) -> str | None:
    return value.get("Ref") if isinstance(value, dict) else None


def _arn_of(value: Any) -> str | None:
    """The logical id a resource ARN names: {"Fn::GetAtt": [X, "Arn"]} or "${X.Arn}/index/..."."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        logical, attribute = value["Fn::GetAtt"]
        return f"{logical}" if attribute == "Arn" else None
    if isinstance(value, dict) and "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
        match = re.fullmatch(r"\$\{(\w+)\.Arn\}(/index/[\w.-]+)", value["Fn::Sub"])
        return match.group(1) + match.group(2) if match else None
    return None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _dynamodb_grants(package: Package, function: str) -> set[tuple[str, str]]:
    """(action, table or table/index/name) pairs a function's role allows."""
    grants = set()
    for statement in package.statements(function):
        actions = [a for a in _list(statement["Action"]) if a.startswith("dynamodb:")]
        for resource in _list(statement["Resource"]):
            for action in actions:
                target = _arn_of(resource)
                assert target is not None, f"{function}: {action} on an unexpected resource {resource}"
                grants.add((action, target))
    return grants


# -- tables -------------------------------------------------------------------------------


def _tables_as_created_locally() -> dict[str, dict[str, Any]]:
    """The tables the local stack creates (tests and `make run`), keyed by template logical id."""
    by_name = {d["TableName"]: d for d in _all_local_tables()}
    return {logical: by_name[name] for logical, name in TABLES.items()}


def _all_local_tables() -> list[dict[str, Any]]:
    """Gatehouse's tables and the notes example's, as the local stack creates them."""
    return [*table_definitions(Settings()), notes_table("gatehouse-notes")]


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
    for logical, field in TABLES.items():
        described = client.describe_time_to_live(TableName=field)
        status = described["TimeToLiveDescription"]
        local = (
            {"AttributeName": status["AttributeName"], "Enabled": True}
            if status["TimeToLiveStatus"] in ("ENABLED", "ENABLING")
            else None
        )
        assert package.resources[logical]["Properties"].get("TimeToLiveSpecification") == local, logical
    sessions_ttl = package.resources["SessionsTable"]["Properties"]["TimeToLiveSpecification"]
    assert sessions_ttl == {"AttributeName": "expires_at", "Enabled": True}


def test_sessions_index_by_user_is_in_the_template(package: Package) -> None:
    [index] = package.resources["SessionsTable"]["Properties"]["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "by-user"


# -- functions and their environment ---------------------------------------------------


def test_both_functions_get_table_names_by_ref_and_the_jwks_from_the_ssm_parameter(package: Package) -> None:
    for function in (API_HANDLER, AUTHORIZER):
        env = package.env_of(function)
        for logical, field in TABLES.items():
            assert _ref(env["GATEHOUSE_" + field.upper()]) == logical, (function, field)
        assert _ref(env["GATEHOUSE_JWKS"]) == "PublicJwks"
    jwks_parameter = package.template["Parameters"]["PublicJwks"]
    assert jwks_parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
    assert jwks_parameter["Default"] == "/gatehouse/prod/jwks"


def test_only_the_api_handler_knows_the_signing_key_parameter(package: Package) -> None:
    api = package.env_of(API_HANDLER)
    assert _ref(api["GATEHOUSE_SIGNING_KEY_PARAM"]) == "SigningKeyParameterName"
    assert api["GATEHOUSE_PRELOAD_SIGNING_KEY"] == "true"
    authorizer = package.env_of(AUTHORIZER)
    assert "GATEHOUSE_SIGNING_KEY_PARAM" not in authorizer
    assert "GATEHOUSE_PRELOAD_SIGNING_KEY" not in authorizer
    parameter = package.template["Parameters"]["SigningKeyParameterName"]
    assert parameter == {**parameter, "Type": "String", "Default": "/gatehouse/prod/signing-key"}


def test_every_gatehouse_variable_in_the_template_is_a_known_setting(package: Package) -> None:
    known = {"GATEHOUSE_" + f.name.upper() for f in fields(Settings)}
    for function in (API_HANDLER, AUTHORIZER):
        names = {n for n in package.env_of(function) if n.startswith("GATEHOUSE_")}
        assert names <= known, names - known


def test_the_template_creates_no_ssm_parameter_and_holds_no_key(package: Package) -> None:
    types = {r["Type"] for r in package.resources.values()}
    assert not {t for t in types if t.startswith("AWS::SSM::")}


def test_the_api_handler_is_updated_after_the_authorizer(package: Package) -> None:
    # A rotated key must be known to every verifier before the signer can use it.
    assert AUTHORIZER in package.resources[API_HANDLER]["DependsOn"]


@pytest.mark.parametrize(("function", "name"), [(API_HANDLER, "api-handler"), (AUTHORIZER, "authorizer")])
def test_each_function_has_its_own_log_group_with_retention(
    package: Package, function: str, name: str
) -> None:
    function_name = package.resources[function]["Properties"]["FunctionName"]
    assert function_name == {"Fn::Sub": "${AWS::StackName}-" + name}
    groups = [
        r["Properties"]
        for r in package.resources.values()
        if r["Type"] == "AWS::Logs::LogGroup"
        and r["Properties"]["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${AWS::StackName}-" + name}
    ]
    assert len(groups) == 1
    assert _ref(groups[0]["RetentionInDays"]) == "LogRetentionInDays"


# -- IAM: least privilege per function ----------------------------------------------------


def test_chalice_does_not_generate_the_policy(package: Package) -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    assert config["stages"][STAGE]["autogen_policy"] is False
    for role in ROLES.values():
        assert len(package.resources[role]["Properties"]["Policies"]) == 1


@pytest.mark.parametrize("function", [API_HANDLER, AUTHORIZER])
def test_no_statement_allows_any_action_or_any_resource(package: Package, function: str) -> None:
    for statement in package.statements(function):
        assert statement["Effect"] == "Allow"
        for action in _list(statement["Action"]):
            assert "*" not in action, statement
        for resource in _list(statement["Resource"]):
            text = json.dumps(resource)
            if "*" not in text:
                continue
            if text.endswith(':key/*"}'):
                # A KMS key id cannot be known in advance (the AWS managed key for
                # SSM); the conditions pin it to SSM and to the one parameter.
                assert set(statement["Condition"]["StringEquals"]) == {
                    "kms:ViaService",
                    "kms:EncryptionContext:PARAMETER_ARN",
                }
            else:
                # Log streams of the function's own log group.
                assert set(_list(statement["Action"])) <= LOG_ACTIONS, statement
                assert text.endswith(':*"}'), statement


def test_authorizer_may_only_read_sessions_and_write_logs(package: Package) -> None:
    assert _dynamodb_grants(package, AUTHORIZER) == {("dynamodb:GetItem", "SessionsTable")}
    for statement in package.statements(AUTHORIZER):
        actions = set(_list(statement["Action"]))
        assert actions == {"dynamodb:GetItem"} or actions <= LOG_ACTIONS, statement


@pytest.mark.parametrize(("function", "name"), [(API_HANDLER, "api-handler"), (AUTHORIZER, "authorizer")])
def test_each_function_may_write_only_its_own_log_group(package: Package, function: str, name: str) -> None:
    own = {
        "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/"
        "${AWS::StackName}-" + name + ":*"
    }
    logs = [s for s in package.statements(function) if any(a.startswith("logs:") for a in _list(s["Action"]))]
    assert len(logs) == 1
    assert set(_list(logs[0]["Action"])) == LOG_ACTIONS
    assert _list(logs[0]["Resource"]) == [own]


def test_api_handler_reads_exactly_the_one_signing_key_parameter(package: Package) -> None:
    statements = package.statements(API_HANDLER)
    ssm = [s for s in statements if any(a.startswith("ssm:") for a in _list(s["Action"]))]
    assert len(ssm) == 1
    assert _list(ssm[0]["Action"]) == ["ssm:GetParameter"]
    [parameter_arn] = _list(ssm[0]["Resource"])
    assert parameter_arn["Fn::Sub"].endswith(":parameter${SigningKeyParameterName}")
    [kms] = [s for s in statements if any(a.startswith("kms:") for a in _list(s["Action"]))]
    assert _list(kms["Action"]) == ["kms:Decrypt"]
    condition = kms["Condition"]["StringEquals"]
    assert condition["kms:ViaService"] == {"Fn::Sub": "ssm.${AWS::Region}.amazonaws.com"}
    assert condition["kms:EncryptionContext:PARAMETER_ARN"] == parameter_arn


def test_chalice_deploy_policy_files_grant_what_the_template_grants(package: Package) -> None:
    """The `chalice deploy` route uses .chalice/policy-*.json: same actions on the same tables."""
    names = {logical: field for logical, field in TABLES.items()}
    files = {API_HANDLER: "policy-prod-api-handler.json", AUTHORIZER: "policy-prod-authorizer.json"}
    for function, filename in files.items():
        document = json.loads((ROOT / ".chalice" / filename).read_text())
        granted = set()
        for statement in document["Statement"]:
            for action in _list(statement["Action"]):
                for resource in _list(statement["Resource"]):
                    if action.startswith("dynamodb:"):
                        granted.add((action, resource.split(":table/", 1)[1]))
        expected = set()
        for action, target in _dynamodb_grants(package, function):
            logical, _, index = target.partition("/")
            expected.add((action, names[logical] + ("/" + index if index else "")))
        assert granted == expected, function


# -- IAM: what the code really calls ----------------------------------------------------


@dataclass
class CallLog:
    """DynamoDB operations per function, as (action, logical table or table/index/name)."""

    names: dict[str, str]
    api: set[tuple[str, str]]
    authorizer: set[tuple[str, str]]
    in_authorizer: bool = False

    def record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        calls = self.authorizer if self.in_authorizer else self.api
        operation = model.name
        if operation == "TransactWriteItems":
            # IAM checks each item against its own action (Put -> PutItem ...).
            for item in params["TransactItems"]:
                [(kind, body)] = item.items()
                action = "ConditionCheckItem" if kind == "ConditionCheck" else kind + "Item"
                calls.add(("dynamodb:" + action, self.names[body["TableName"]]))
            return
        if operation == "BatchWriteItem":
            for table in params["RequestItems"]:
                calls.add(("dynamodb:BatchWriteItem", self.names[table]))
            return
        target = self.names[params["TableName"]]
        if "IndexName" in params:
            target += "/index/" + params["IndexName"]
        calls.add(("dynamodb:" + operation, target))


@pytest.fixture
def calls(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[CallLog]:
    names = {field: logical for logical, field in TABLES.items()}
    log = CallLog(names, set(), set())
    original = gateway.GatewayLikeAuthorizer.authorize

    def authorize(self: Any, *args: Any, **kwargs: Any) -> Any:
        log.in_authorizer = True
        try:
            return original(self, *args, **kwargs)
        finally:
            log.in_authorizer = False

    monkeypatch.setattr(gateway.GatewayLikeAuthorizer, "authorize", authorize)
    events = rt._dynamodb.meta.client.meta.events
    events.register("before-parameter-build.dynamodb", log.record)
    yield log
    events.unregister("before-parameter-build.dynamodb", log.record)


def _every_feature(client: Client, make_user: Callable[..., Credentials], login: Callable[..., str]) -> None:
    """Each route and each login path once, so every DynamoDB call the code makes is seen."""
    password = "Quiet-Harbor-31-lantern"
    assert (
        post_json(client, "/auth/register", {"username": "walker", "password": password}).status_code == 201
    )
    walker = Credentials("walker", password)
    grant = {"grant_type": "password", "username": "walker", "password": password}
    tokens = json_body(post_json(client, "/auth/token", grant))
    wrong = {**grant, "password": "Not-the-password-1"}
    assert post_json(client, "/auth/token", wrong).status_code == 400
    assert post_json(client, "/auth/token", {**wrong, "username": "nobody-here"}).status_code == 400
    refreshed = post_json(
        client, "/auth/token", {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200
    token = login(walker)
    auth = {**bearer(token), "Content-Type": "application/json"}
    assert client.http.get("/me", headers=auth).status_code == 200
    note = json_body(client.http.post("/notes", headers=auth, body=json.dumps({"text": "a"})))
    assert client.http.get("/notes", headers=auth).status_code == 200
    assert client.http.get(f"/notes/{note['id']}", headers=auth).status_code == 200
    assert (
        client.http.put(f"/notes/{note['id']}", headers=auth, body=json.dumps({"text": "b"})).status_code
        == 200
    )
    assert client.http.delete(f"/notes/{note['id']}", headers=auth).status_code == 204
    sessions = json_body(client.http.get("/auth/sessions", headers=auth))
    other = next(s["id"] for s in sessions if not s["current"])
    assert client.http.delete(f"/auth/sessions/{other}", headers=auth).status_code == 204
    change = {"current_password": password, "new_password": "Brisk-Meadow-77-copper"}
    assert client.http.post("/auth/password", headers=auth, body=json.dumps(change)).status_code == 204
    assert post_json(client, "/auth/revoke", {"token": token}).status_code == 200
    admin_token = login(make_user(roles=("admin", "user")))
    admin = bearer(admin_token)
    assert client.http.get("/admin/users", headers=admin).status_code == 200
    assert client.http.post("/admin/users/walker/disable", headers=admin).status_code == 204
    assert client.http.post("/admin/users/walker/enable", headers=admin).status_code == 204
    assert client.http.delete("/auth/sessions", headers=admin).status_code == 204
    _every_recovery_feature(client)


def _every_recovery_feature(client: Client) -> None:
    """Email, verification, reset and deletion, each path once (the mail sender verified in SES)."""
    aws.session().client("sesv2").create_email_identity(EmailIdentity=MAIL_FROM)
    mailbox = Mailbox()
    password = "Quiet-Harbor-31-lantern"
    body = {"username": "mailer", "password": password, "email": "mailer@example.com"}
    assert post_json(client, "/auth/register", body).status_code == 201
    verify = {"username": "mailer", "code": mailbox.last_code("mailer@example.com")}
    assert post_json(client, "/auth/email/verify", verify).status_code == 204
    grant = {"grant_type": "password", "username": "mailer", "password": password}
    auth = bearer(json_body(post_json(client, "/auth/token", grant))["access_token"])
    change = {"current_password": password, "email": "moved@example.com"}
    assert post_json(client, "/auth/email", change, auth).status_code == 204
    verify = {"username": "mailer", "code": mailbox.last_code("moved@example.com")}
    assert post_json(client, "/auth/email/verify", verify).status_code == 204
    for who in ({"username": "mailer"}, {"email": "nobody@example.com"}):
        assert post_json(client, "/auth/password/forgot", who).status_code == 202
    new_password = "Orchid-Canyon-31-harbor"
    reset = {
        "username": "mailer",
        "code": mailbox.last_code("moved@example.com"),
        "new_password": new_password,
    }
    assert post_json(client, "/auth/password/reset", reset).status_code == 204
    auth = bearer(
        json_body(post_json(client, "/auth/token", {**grant, "password": new_password}))["access_token"]
    )
    assert post_json(client, "/notes", {"text": "goes with the account"}, auth).status_code == 201
    assert (
        post_json(client, "/auth/account/delete", {"current_password": new_password}, auth).status_code == 204
    )


def test_api_handler_is_granted_exactly_the_dynamodb_calls_it_makes(
    package: Package,
    client: Client,
    make_user: Callable[..., Credentials],
    login: Callable[..., str],
    calls: CallLog,
) -> None:
    _every_feature(client, make_user, login)
    assert calls.api == _dynamodb_grants(package, API_HANDLER)


def test_authorizer_makes_only_the_call_it_is_granted(
    package: Package,
    client: Client,
    make_user: Callable[..., Credentials],
    login: Callable[..., str],
    calls: CallLog,
) -> None:
    _every_feature(client, make_user, login)
    assert (
        calls.authorizer == _dynamodb_grants(package, AUTHORIZER) == {("dynamodb:GetItem", "SessionsTable")}
    )


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
def test_gateway_response_has_status_cors_challenge_and_an_error_body(package: Package, kind: str) -> None:
    status, code, challenge = EXPECTED_RESPONSES[kind]
    response = _gateway_responses(package)[kind]
    assert response.get("statusCode") == status
    headers = response["responseParameters"]
    cors = headers["gatewayresponse.header.Access-Control-Allow-Origin"]
    assert cors == {"Fn::Sub": "'${CorsAllowOrigin}'"}
    assert headers["gatewayresponse.header.Cache-Control"] == "'no-store'"
    if challenge is None:
        assert "gatewayresponse.header.WWW-Authenticate" not in headers
    else:
        assert headers["gatewayresponse.header.WWW-Authenticate"] == f"'{challenge}'"
        assert headers["gatewayresponse.header.Access-Control-Expose-Headers"] == "'WWW-Authenticate'"
    body = _body(response)
    assert set(body) == {"error", "message"}
    assert body["error"] == code


def test_cors_origin_is_a_parameter_that_defaults_to_any(package: Package) -> None:
    parameter = package.template["Parameters"]["CorsAllowOrigin"]
    assert parameter["Default"] == "*"
    assert re.fullmatch(parameter["AllowedPattern"], "https://app.example.com")
    assert not re.fullmatch(parameter["AllowedPattern"], "https://x.example.com'")


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
    assert not tops & {"gatehouse", "gatehouse_dev", "tests", "deploy", "bench", ".chalice", "docs"}
    assert not [n for n in names if n.endswith((".pem", ".jwk"))]


def test_the_api_handler_may_send_mail_only_from_the_configured_identity(package: Package) -> None:
    [mail] = [s for s in package.statements(API_HANDLER) if "ses:SendEmail" in _list(s["Action"])]
    assert _list(mail["Action"]) == ["ses:SendEmail"]
    resources = [r["Fn::Sub"] for r in _list(mail["Resource"])]
    assert resources == [
        "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${MailIdentity}",
        "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/${MailConfigurationSet}",
    ]
    assert not [
        s for s in package.statements(AUTHORIZER) if any(a.startswith("ses:") for a in _list(s["Action"]))
    ]
    env = package.env_of(API_HANDLER)
    assert env["GATEHOUSE_MAIL_FROM"] == {"Ref": "MailFromAddress"}
    assert env["GATEHOUSE_MAIL_CONFIGURATION_SET"] == {"Ref": "MailConfigurationSet"}
