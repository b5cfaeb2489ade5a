"""The rehearsal's IAM evaluator: action and resource ARN against a role's statements."""

from __future__ import annotations

from typing import Any

import pytest

from gatehouse.release.rehearsal.policy import PolicyError, evaluate, matches, statements_of

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/"


def allow(action: Any, resource: Any, **more: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **more}


def test_an_allow_on_one_tables_arn_allows_that_table_only() -> None:
    statements = [allow("dynamodb:GetItem", TABLE + "users")]
    assert evaluate(statements, "dynamodb:GetItem", TABLE + "users").allowed
    assert not evaluate(statements, "dynamodb:GetItem", TABLE + "notes").allowed
    assert not evaluate(statements, "dynamodb:PutItem", TABLE + "users").allowed


def test_nothing_allowed_is_an_implicit_deny_naming_no_statement() -> None:
    decision = evaluate([], "ssm:GetParameter", "*")
    assert not decision.allowed
    assert decision.statement is None
    assert not decision.explicit_deny


def test_an_explicit_deny_wins_over_any_allow() -> None:
    statements = [
        allow("dynamodb:*", "*", Sid="Everything"),
        {"Sid": "NoDeletes", "Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": TABLE + "*"},
    ]
    assert evaluate(statements, "dynamodb:PutItem", TABLE + "users").statement == "Everything"
    decision = evaluate(statements, "dynamodb:DeleteItem", TABLE + "users")
    assert (decision.allowed, decision.statement, decision.explicit_deny) == (False, "NoDeletes", True)


def test_wildcards_star_and_question_mark_as_iam_reads_them() -> None:
    assert matches(
        "arn:aws:logs:*:*:log-group:/aws/lambda/app-auth:*",
        "arn:aws:logs:r:1:log-group:/aws/lambda/app-auth:log-stream:x",
    )
    assert not matches(
        "arn:aws:logs:*:*:log-group:/aws/lambda/app-auth:*",
        "arn:aws:logs:r:1:log-group:/aws/lambda/app-auth2",
    )
    assert matches("table/user?", "table/users")
    assert not matches("table/user?", "table/user")
    assert matches("table/a.b", "table/a.b")
    assert not matches("table/a.b", "table/aXb")  # no regular expressions


def test_actions_compare_case_insensitively_resources_case_sensitively() -> None:
    statements = [allow("DynamoDB:getitem", TABLE + "Users")]
    assert evaluate(statements, "dynamodb:GetItem", TABLE + "Users").allowed
    assert not evaluate(statements, "dynamodb:GetItem", TABLE + "users").allowed


def test_an_index_needs_its_own_grant() -> None:
    statements = [allow("dynamodb:Query", TABLE + "sessions")]
    assert not evaluate(statements, "dynamodb:Query", TABLE + "sessions/index/by-user").allowed
    statements.append(allow("dynamodb:Query", TABLE + "sessions/index/*"))
    assert evaluate(statements, "dynamodb:Query", TABLE + "sessions/index/by-user").allowed


def test_not_action_and_not_resource_match_everything_else() -> None:
    statements = [{"Effect": "Allow", "NotAction": ["iam:*", "kms:*"], "NotResource": TABLE + "secret"}]
    assert evaluate(statements, "dynamodb:GetItem", TABLE + "users").allowed
    assert not evaluate(statements, "iam:CreateRole", "*").allowed
    assert not evaluate(statements, "dynamodb:GetItem", TABLE + "secret").allowed


def test_a_statement_with_conditions_counts_as_if_they_held() -> None:
    statements = [allow("ses:SendEmail", "*", Condition={"StringEquals": {"ses:FromAddress": "a@b.c"}})]
    assert evaluate(statements, "ses:SendEmail", "arn:aws:ses:r:1:identity/b.c").allowed


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Allow", "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:*", "NotAction": "s3:Get*", "Resource": "*"},
        {"Effect": "Maybe", "Action": "s3:*", "Resource": "*"},
        {"Effect": "Allow", "Action": [1], "Resource": "*"},
    ],
    ids=["no-action", "action-and-not-action", "bad-effect", "not-strings"],
)
def test_a_statement_it_cannot_read_is_an_error_not_a_decision(statement: dict[str, Any]) -> None:
    with pytest.raises(PolicyError):
        evaluate([statement], "s3:GetObject", "*")


def test_statements_of_takes_one_statement_or_a_list() -> None:
    one = allow("s3:GetObject", "*")
    assert statements_of([{"Statement": one}, {"Statement": [one, one]}]) == [one, one, one]
