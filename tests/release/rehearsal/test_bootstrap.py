"""The runtime shim: which action and ARN each AWS call is checked for, and Lambda's handler errors."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gatehouse.release.rehearsal.bootstrap import Role, load_handler

ARN = "arn:aws:{}:us-east-1:123456789012:"
TABLE = ARN.format("dynamodb") + "table/"


def role(*statements: dict[str, Any], identities: tuple[str, ...] = ()) -> Role:
    return Role(
        {
            "statements": list(statements),
            "role_name": "stack-AuthRole-X",
            "function_name": "stack-auth",
            "region": "us-east-1",
            "account_id": "123456789012",
            "ses_identities": list(identities),
        }
    )


def test_a_transaction_is_checked_item_by_item_with_each_items_action() -> None:
    params = {
        "TransactItems": [
            {"Put": {"TableName": "sessions", "Item": {}}},
            {"ConditionCheck": {"TableName": "users", "Key": {}}},
            {"Update": {"TableName": "users", "Key": {}}},
            {"Delete": {"TableName": "attempts", "Key": {}}},
        ]
    }
    assert list(role().requests("dynamodb", "TransactWriteItems", params)) == [
        ("dynamodb:PutItem", TABLE + "sessions"),
        ("dynamodb:ConditionCheckItem", TABLE + "users"),
        ("dynamodb:UpdateItem", TABLE + "users"),
        ("dynamodb:DeleteItem", TABLE + "attempts"),
    ]


def test_batches_indexes_and_plain_calls_name_their_tables() -> None:
    r = role()
    batch: dict[str, Any] = {"RequestItems": {"notes": [], "other": []}}
    assert list(r.requests("dynamodb", "BatchWriteItem", batch)) == [
        ("dynamodb:BatchWriteItem", TABLE + "notes"),
        ("dynamodb:BatchWriteItem", TABLE + "other"),
    ]
    query = {"TableName": "sessions", "IndexName": "by-user"}
    assert list(r.requests("dynamodb", "Query", query)) == [
        ("dynamodb:Query", TABLE + "sessions/index/by-user")
    ]
    assert list(r.requests("dynamodb", "ListTables", {})) == [("dynamodb:ListTables", "*")]


def test_ssm_parameters_and_ses_identities_and_configuration_sets() -> None:
    r = role(identities=("only@mail.example",))
    assert list(r.requests("ssm", "GetParameter", {"Name": "/app/key"})) == [
        ("ssm:GetParameter", ARN.format("ssm") + "parameter/app/key")
    ]
    sent = {"FromEmailAddress": "Gatehouse <no-reply@mail.example>", "ConfigurationSetName": "tracked"}
    assert list(r.requests("ses", "SendEmail", sent)) == [
        ("ses:SendEmail", ARN.format("ses") + "identity/mail.example"),
        ("ses:SendEmail", ARN.format("ses") + "configuration-set/tracked"),
    ]
    assert list(r.requests("ses", "SendEmail", {"FromEmailAddress": "only@mail.example"})) == [
        ("ses:SendEmail", ARN.format("ses") + "identity/only@mail.example")
    ]
    assert list(r.requests("sts", "GetCallerIdentity", {})) == [("sts:GetCallerIdentity", "*")]


def test_a_refusal_is_recorded_and_worded_as_aws_words_it() -> None:
    r = role({"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE + "users"})
    assert r.refusal("dynamodb:GetItem", TABLE + "users") is None
    message = r.refusal("dynamodb:PutItem", TABLE + "users")
    assert message is not None
    assert (
        "assumed-role/stack-AuthRole-X/stack-auth is not authorized to perform: dynamodb:PutItem" in message
    )
    assert r.denied == [{"action": "dynamodb:PutItem", "resource": TABLE + "users"}]


@pytest.fixture
def module_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "rehearsed_app.py").write_text("def handler(event, context):\n    return event\n")
    (tmp_path / "rehearsed_broken.py").write_text("import no_such_module_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in ("rehearsed_app", "rehearsed_broken"):
        sys.modules.pop(name, None)


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ("handler", "Runtime.MalformedHandlerName: Bad handler 'handler'"),
        (
            "rehearsed_app.missing",
            "Runtime.HandlerNotFound: Handler 'missing' missing on module 'rehearsed_app'",
        ),
        (
            "rehearsed_nowhere.handler",
            "Runtime.ImportModuleError: Unable to import module 'rehearsed_nowhere'",
        ),
        ("rehearsed_broken.handler", "No module named 'no_such_module_anywhere'"),
    ],
)
def test_a_handler_lambda_cannot_load_fails_with_lambdas_words(
    module_dir: Path, spec: str, error: str
) -> None:
    with pytest.raises(LookupError, match=error.replace("(", r"\(")):
        load_handler(spec)


def test_a_handler_string_names_a_module_and_a_function(module_dir: Path) -> None:
    assert load_handler("rehearsed_app.handler")({"a": 1}, None) == {"a": 1}
