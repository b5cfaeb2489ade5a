"""Names and readers shared by the tests of the deployable stack (tests/release/test_deploy_*.py)."""

from __future__ import annotations

import re
from typing import Any

import app as gatehouse_app
from gatehouse.component import declared_tables
from gatehouse.release.template import AUTH_FUNCTION
from tests.conftest import Package

STAGE = "prod"
API_HANDLER, AUTHORIZER = "APIHandler", "GatehouseAuth"
FUNCTIONS = (API_HANDLER, AUTHORIZER, AUTH_FUNCTION)
# Logical id -> the suffix of its Lambda (and log group) name after the stack name.
NAME_SUFFIX = {API_HANDLER: "api-handler", AUTHORIZER: "authorizer", AUTH_FUNCTION: "auth"}
# The app's own tables, as app.py declares them (gate.table(...)).
APP_TABLES = declared_tables(gatehouse_app.app)
APP_TABLE_IDS = frozenset(t.logical_id for t in APP_TABLES)
# Logical id in the template -> (the variable naming that table, its name in the local stack).
TABLES = {
    "UsersTable": ("GATEHOUSE_USERS_TABLE", "gatehouse-users"),
    "SessionsTable": ("GATEHOUSE_SESSIONS_TABLE", "gatehouse-sessions"),
    "AttemptsTable": ("GATEHOUSE_ATTEMPTS_TABLE", "gatehouse-attempts"),
    **{t.logical_id: (t.variable, t.local_name) for t in APP_TABLES},
    "EventsTable": ("GATEHOUSE_EVENTS_TABLE", "gatehouse-events"),
}
IDENTITY_TABLES = ("UsersTable", "SessionsTable", "AttemptsTable", "EventsTable")
LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}
# Everything the mail settings can be, so the statement they add is in view.
MAIL = {
    "MailFromAddress": "no-reply@mail.example.com",
    "MailIdentity": "mail.example.com",
    "MailConfigurationSet": "gatehouse-mail",
}


def ref(value: Any) -> str | None:
    return value.get("Ref") if isinstance(value, dict) else None


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def arn_of(value: Any) -> str | None:
    """The logical id a resource ARN names: {"Fn::GetAtt": [X, "Arn"]} or "${X.Arn}/index/..."."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        logical, attribute = value["Fn::GetAtt"]
        return f"{logical}" if attribute == "Arn" else None
    if isinstance(value, dict) and "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
        match = re.fullmatch(r"\$\{(\w+)\.Arn\}(/index/[\w.-]+)", value["Fn::Sub"])
        return match.group(1) + match.group(2) if match else None
    return None


def dynamodb_grants(package: Package, function: str, **parameters: str) -> set[tuple[str, str]]:
    """(action, table or table/index/name) pairs a function's role allows."""
    grants = set()
    for statement in package.statements(function, **parameters):
        actions = [a for a in as_list(statement["Action"]) if a.startswith("dynamodb:")]
        for resource in as_list(statement["Resource"]):
            for action in actions:
                target = arn_of(resource)
                assert target is not None, f"{function}: {action} on an unexpected resource {resource}"
                grants.add((action, target))
    return grants


def actions_of(package: Package, function: str, **parameters: str) -> set[str]:
    return {a for s in package.statements(function, **parameters) for a in as_list(s["Action"])}


def integration_target(operation: dict[str, Any]) -> str | None:
    """The function a swagger operation's Lambda proxy integration invokes, or None (mock)."""
    integration = operation["x-amazon-apigateway-integration"]
    if integration["type"] != "aws_proxy":
        return None
    match = re.search(r"/functions/\$\{(\w+)\.Arn\}/invocations$", integration["uri"]["Fn::Sub"])
    assert match, integration
    return match.group(1)
