"""Least privilege per function in the deployable stack (`make package`), and what the code really calls.

Three roles: the API handler (the app's own routes) reaches the notes table and
its logs; the authorizer reads sessions; the auth function (Gatehouse's routes)
alone reads the signing key, the identity tables and may send mail, as the one
configured sender.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from chalice.app import Chalice
from chalice.test import Client

import app as gatehouse_app
from gatehouse.dev import gateway
from gatehouse.release.template import AUTH_FUNCTION, is_gatehouse_path
from gatehouse.services import Services
from gatehouse.storage import aws
from tests.conftest import MAIL_FROM, ROOT, Credentials, Mailbox, Package, bearer, json_body, post_json
from tests.release.cfn import rules_hold
from tests.release.stack import (
    API_HANDLER,
    AUTHORIZER,
    FUNCTIONS,
    IDENTITY_TABLES,
    LOG_ACTIONS,
    MAIL,
    NAME_SUFFIX,
    STAGE,
    TABLES,
    actions_of,
    as_list,
    dynamodb_grants,
)

pytestmark = pytest.mark.deploy

ROLES = {API_HANDLER: "ApiHandlerRole", AUTHORIZER: "GatehouseAuthRole", AUTH_FUNCTION: "AuthFunctionRole"}


def test_each_function_has_its_own_role_with_one_explicit_policy(package: Package) -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    assert config["stages"][STAGE]["autogen_policy"] is False  # Chalice's policy generator is off
    for function, role in ROLES.items():
        assert package.resources[function]["Properties"]["Role"] == {"Fn::GetAtt": [role, "Arn"]}
        assert len(package.resources[role]["Properties"]["Policies"]) == 1
    assert len(set(ROLES.values())) == len(ROLES)


@pytest.mark.parametrize("parameters", [{}, MAIL], ids=["defaults", "mail-on"])
@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_statement_allows_any_action_or_any_resource(
    package: Package, function: str, parameters: dict[str, str]
) -> None:
    for statement in package.statements(function, **parameters):
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            assert "*" not in action, statement
        for resource in as_list(statement["Resource"]):
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
                assert set(as_list(statement["Action"])) <= LOG_ACTIONS, statement
                assert text.endswith(':*"}'), statement


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_may_write_only_its_own_log_group(package: Package, function: str) -> None:
    own = {
        "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/"
        "${AWS::StackName}-" + NAME_SUFFIX[function] + ":*"
    }
    logs = [
        s for s in package.statements(function) if any(a.startswith("logs:") for a in as_list(s["Action"]))
    ]
    assert len(logs) == 1
    assert set(as_list(logs[0]["Action"])) == LOG_ACTIONS
    assert as_list(logs[0]["Resource"]) == [own]


@pytest.mark.parametrize("parameters", [{}, MAIL], ids=["defaults", "mail-on"])
def test_api_handler_reaches_only_the_notes_table_and_its_logs(
    package: Package, parameters: dict[str, str]
) -> None:
    grants = dynamodb_grants(package, API_HANDLER, **parameters)
    assert {target for _, target in grants} == {"NotesTable"}
    services = {a.split(":")[0] for a in actions_of(package, API_HANDLER, **parameters)}
    assert services == {"dynamodb", "logs"}  # no ssm, no kms, no ses


@pytest.mark.parametrize("parameters", [{}, MAIL], ids=["defaults", "mail-on"])
def test_authorizer_may_only_read_sessions_and_write_logs(
    package: Package, parameters: dict[str, str]
) -> None:
    assert dynamodb_grants(package, AUTHORIZER, **parameters) == {("dynamodb:GetItem", "SessionsTable")}
    for statement in package.statements(AUTHORIZER, **parameters):
        actions = set(as_list(statement["Action"]))
        assert actions == {"dynamodb:GetItem"} or actions <= LOG_ACTIONS, statement


def test_only_the_auth_function_reaches_the_identity_tables(package: Package) -> None:
    def tables(function: str) -> set[str]:
        return {target.split("/")[0] for _, target in dynamodb_grants(package, function)}

    # The notes table only for the example's account-deleted hook, which runs where the
    # deletion does (Query and BatchWriteItem, to remove the deleted user's notes).
    assert tables(AUTH_FUNCTION) == {*IDENTITY_TABLES, "NotesTable"}
    notes = {a for a, t in dynamodb_grants(package, AUTH_FUNCTION) if t.startswith("NotesTable")}
    assert notes == {"dynamodb:Query", "dynamodb:BatchWriteItem"}
    assert tables(API_HANDLER) & set(IDENTITY_TABLES) == set()
    assert tables(AUTHORIZER) == {"SessionsTable"}  # GetItem only, above
    auth_sessions = {a for a, t in dynamodb_grants(package, AUTH_FUNCTION) if t.startswith("SessionsTable")}
    assert {"dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query"} <= auth_sessions


@pytest.mark.parametrize(
    "parameter", ["SigningKeyParameterName", "MfaKeyParameterName"], ids=["signing-key", "mfa-key"]
)
def test_auth_function_alone_reads_the_signing_key_and_the_mfa_key(package: Package, parameter: str) -> None:
    statements = package.statements(AUTH_FUNCTION)
    ssm = [s for s in statements if any(a.startswith("ssm:") for a in as_list(s["Action"]))]
    assert len(ssm) == 2  # exactly these two parameters
    arns = [arn for s in ssm for arn in as_list(s["Resource"])]
    assert all(as_list(s["Action"]) == ["ssm:GetParameter"] for s in ssm)
    [parameter_arn] = [a for a in arns if a["Fn::Sub"].endswith(f":parameter${{{parameter}}}")]
    kms = [s for s in statements if any(a.startswith("kms:") for a in as_list(s["Action"]))]
    [decrypt] = [
        s
        for s in kms
        if s["Condition"]["StringEquals"]["kms:EncryptionContext:PARAMETER_ARN"] == parameter_arn
    ]
    assert as_list(decrypt["Action"]) == ["kms:Decrypt"]
    assert decrypt["Condition"]["StringEquals"]["kms:ViaService"] == {
        "Fn::Sub": "ssm.${AWS::Region}.amazonaws.com"
    }
    for function in (API_HANDLER, AUTHORIZER):
        assert not {a for a in actions_of(package, function) if a.startswith(("ssm:", "kms:"))}, function


# -- mail: the auth function may send, through one identity, as one sender -----------------


def _mail_statements(package: Package, function: str, **parameters: str) -> list[dict[str, Any]]:
    return [
        s
        for s in package.statements(function, **parameters)
        if any(a.startswith("ses:") for a in as_list(s["Action"]))
    ]


def test_without_a_mail_identity_no_function_may_send_mail(package: Package) -> None:
    for function in FUNCTIONS:
        assert _mail_statements(package, function) == [], function
    sender_only = {"MailFromAddress": MAIL["MailFromAddress"]}
    assert _mail_statements(package, AUTH_FUNCTION, **sender_only) == []


def test_auth_function_may_send_only_through_the_identity_and_as_the_sender(package: Package) -> None:
    [statement] = _mail_statements(package, AUTH_FUNCTION, **MAIL)
    assert as_list(statement["Action"]) == ["ses:SendEmail"]
    arn = "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:"
    assert as_list(statement["Resource"]) == [
        {"Fn::Sub": arn + "identity/${MailIdentity}"},
        {"Fn::Sub": arn + "configuration-set/${MailConfigurationSet}"},
    ]
    assert statement["Condition"] == {"StringEquals": {"ses:FromAddress": {"Ref": "MailFromAddress"}}}
    no_set = {**MAIL, "MailConfigurationSet": ""}
    [statement] = _mail_statements(package, AUTH_FUNCTION, **no_set)
    assert as_list(statement["Resource"]) == [{"Fn::Sub": arn + "identity/${MailIdentity}"}]
    for function in (API_HANDLER, AUTHORIZER):
        assert _mail_statements(package, function, **MAIL) == [], function


def test_a_mail_identity_without_a_sender_is_refused_before_deploying(package: Package) -> None:
    template = package.template
    assert all(rules_hold(template).values())
    assert all(rules_hold(template, MAIL).values())
    assert not all(rules_hold(template, {"MailIdentity": "mail.example.com"}).values())


# -- `chalice deploy` (Route B): one API handler serves every route ---------------------------


def test_chalice_deploy_policy_files_grant_what_the_template_grants(package: Package) -> None:
    """.chalice/policy-*.json: its API handler does what the API handler and the auth function do here."""
    names = {logical: name for logical, (_, name) in TABLES.items()}
    files = {
        "policy-prod-api-handler.json": (API_HANDLER, AUTH_FUNCTION),
        "policy-prod-authorizer.json": (AUTHORIZER,),
    }
    for filename, functions in files.items():
        document = json.loads((ROOT / ".chalice" / filename).read_text())
        granted = set()
        for statement in document["Statement"]:
            for action in as_list(statement["Action"]):
                for resource in as_list(statement["Resource"]):
                    if action.startswith("dynamodb:"):
                        granted.add((action, resource.split(":table/", 1)[1]))
        expected = set()
        for function in functions:
            for action, target in dynamodb_grants(package, function):
                logical, _, index = target.partition("/")
                expected.add((action, names[logical] + ("/" + index if index else "")))
        assert granted == expected, filename


# -- what the code really calls, per function ------------------------------------------------


@dataclass
class CallLog:
    """DynamoDB operations per deployed function, as (action, logical table or table/index/name)."""

    names: dict[str, str]
    calls: dict[str, set[tuple[str, str]]] = field(default_factory=lambda: {f: set() for f in FUNCTIONS})
    route: str | None = None  # the route being served, as Chalice names it
    in_authorizer: bool = False

    def function(self) -> str | None:
        if self.in_authorizer:
            return AUTHORIZER
        if self.route is None:
            return None  # test set-up (make_user), outside any request
        return AUTH_FUNCTION if is_gatehouse_path(self.route) else API_HANDLER

    def record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        function = self.function()
        if function is None:
            return
        calls = self.calls[function]
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
def calls(rt: Services, monkeypatch: pytest.MonkeyPatch) -> Iterator[CallLog]:
    names = {name: logical for logical, (_, name) in TABLES.items()}
    log = CallLog(names)
    authorize = gateway.GatewayLikeAuthorizer.authorize
    serve = Chalice.__call__

    def authorizing(self: Any, *args: Any, **kwargs: Any) -> Any:
        log.in_authorizer = True
        try:
            return authorize(self, *args, **kwargs)
        finally:
            log.in_authorizer = False

    def serving(self: Chalice, event: Any, context: Any) -> Any:
        assert self is gatehouse_app.app
        log.route = event["requestContext"]["resourcePath"]
        try:
            return serve(self, event, context)
        finally:
            log.route = None

    monkeypatch.setattr(gateway.GatewayLikeAuthorizer, "authorize", authorizing)
    monkeypatch.setattr(Chalice, "__call__", serving)
    # The resource's client and the session check's own low-level client.
    emitters = [rt._dynamodb.meta.client.meta.events, rt.session_client.meta.events]
    for events in emitters:
        events.register("before-parameter-build.dynamodb", log.record)
    yield log
    for events in emitters:
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
    assert client.http.post("/admin/users/walker/unlock", headers=admin).status_code == 204
    assert client.http.get("/admin/users/walker/events", headers=admin).status_code == 200
    assert client.http.get("/auth/events", headers=admin).status_code == 200
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


def test_each_function_is_granted_exactly_the_dynamodb_calls_it_makes(
    package: Package,
    client: Client,
    make_user: Callable[..., Credentials],
    login: Callable[..., str],
    calls: CallLog,
) -> None:
    # Each request is charged to the function the template routes it to.
    _every_feature(client, make_user, login)
    for function in FUNCTIONS:
        assert calls.calls[function] == dynamodb_grants(package, function), function
    assert calls.calls[AUTHORIZER] == {("dynamodb:GetItem", "SessionsTable")}
    assert {target for _, target in calls.calls[API_HANDLER]} == {"NotesTable"}
