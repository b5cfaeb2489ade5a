"""The files ``gatehouse init`` generates, as text: pure functions of the app's name and tables.

* ``.chalice/config.json``: a ``dev`` stage with the embedded stack (``chalice local``
  and ``make run`` start moto, the tables, a dev key and seeded users) and a ``prod``
  stage with the three functions' settings (the auth function's under
  ``lambda_functions.auth_function``, which gatehouse.release.template reads).
* ``.chalice/policy-prod-*.json``: the roles ``chalice deploy`` would use (the
  merge template of ``make package`` replaces them with narrower ones).  Its API
  handler serves every route there, so it gets Gatehouse's grants and the app's
  declared tables' together.
* ``gatehouse.mk``: ``make run``, ``make package`` and ``make deploy-check``, for the
  project's Makefile to include (``Makefile`` itself only when the project has none).

The same input always gives the same bytes, which is what ``init --check`` compares.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gatehouse import __version__
from gatehouse.app_tables import AppTable

CONFIG = ".chalice/config.json"
API_HANDLER_POLICY = ".chalice/policy-prod-api-handler.json"
AUTHORIZER_POLICY = ".chalice/policy-prod-authorizer.json"
MAKE_FRAGMENT = "gatehouse.mk"
MAKEFILE = "Makefile"
# What a stage's functions call the signing key and the MFA data key: the admin CLI creates them there.
SIGNING_KEY_PARAM = "/gatehouse/{stage}/signing-key"
MFA_KEY_PARAM = "/gatehouse/{stage}/mfa-key"


def _json(document: Any) -> str:
    return json.dumps(document, indent=2) + "\n"


def config(app_name: str) -> str:
    # Route B's API handler serves Gatehouse's routes too, so it is told both keys' names; in
    # Route A's stack its role may read neither (only the auth function's may).
    keys = {
        "GATEHOUSE_SIGNING_KEY_PARAM": SIGNING_KEY_PARAM.format(stage="prod"),
        "GATEHOUSE_MFA_KEY_PARAM": MFA_KEY_PARAM.format(stage="prod"),
    }
    return _json(
        {
            "version": "2.0",
            "app_name": app_name,
            "environment_variables": {
                "GATEHOUSE_USERS_TABLE": "gatehouse-users",
                "GATEHOUSE_SESSIONS_TABLE": "gatehouse-sessions",
                "GATEHOUSE_ATTEMPTS_TABLE": "gatehouse-attempts",
                "GATEHOUSE_EVENTS_TABLE": "gatehouse-events",
                "GATEHOUSE_AUDIENCE": "gatehouse-api",
            },
            "stages": {
                "dev": {
                    "api_gateway_stage": "api",
                    "environment_variables": {
                        "GATEHOUSE_ISSUER": "gatehouse-dev",
                        "GATEHOUSE_SIGNING_KEY_PARAM": SIGNING_KEY_PARAM.format(stage="dev"),
                        "GATEHOUSE_DEMO_PAGE": "true",
                        "GATEHOUSE_CORS_DEFAULTS": "dev",
                        "GATEHOUSE_EMBEDDED_AWS": "true",
                        "GATEHOUSE_MFA_KEY_PARAM": MFA_KEY_PARAM.format(stage="dev"),
                    },
                },
                "prod": {
                    "api_gateway_stage": "api",
                    "autogen_policy": False,
                    "environment_variables": {
                        "GATEHOUSE_ISSUER": "gatehouse",
                        "GATEHOUSE_ALLOW_SIGNUP": "true",
                    },
                    "lambda_functions": {
                        "api_handler": {
                            "iam_policy_file": API_HANDLER_POLICY.removeprefix(".chalice/"),
                            "lambda_memory_size": 1024,
                            "lambda_timeout": 10,
                            "environment_variables": keys,
                        },
                        "auth_function": {
                            "lambda_memory_size": 1024,
                            "lambda_timeout": 10,
                            "environment_variables": keys,
                        },
                        "gatehouse_auth": {
                            "iam_policy_file": AUTHORIZER_POLICY.removeprefix(".chalice/"),
                            "lambda_memory_size": 256,
                            "lambda_timeout": 5,
                        },
                    },
                },
            },
        }
    )


def _table_arn(name: str) -> str:
    return f"arn:aws:dynamodb:*:*:table/{name}"


def _logs(function: str) -> dict[str, Any]:
    group = f"arn:aws:logs:*:*:log-group:/aws/lambda/{function}"
    return {
        "Sid": "Logs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": [group, f"{group}:*"],
    }


def api_handler_policy(app_name: str, tables: Sequence[AppTable]) -> str:
    """Route B's one API handler: Gatehouse's routes and the app's, so both sets of grants."""
    key = "arn:aws:ssm:*:*:parameter" + SIGNING_KEY_PARAM.format(stage="prod")
    mfa_key = "arn:aws:ssm:*:*:parameter" + MFA_KEY_PARAM.format(stage="prod")
    statements: list[dict[str, Any]] = [
        {
            "Sid": "Users",
            "Effect": "Allow",
            "Action": [
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:Scan",
                "dynamodb:ConditionCheckItem",
            ],
            "Resource": _table_arn("gatehouse-users"),
        },
        {
            "Sid": "Sessions",
            "Effect": "Allow",
            "Action": [
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:Query",
            ],
            "Resource": _table_arn("gatehouse-sessions"),
        },
        {
            "Sid": "LoginAttempts",
            "Effect": "Allow",
            "Action": ["dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"],
            "Resource": _table_arn("gatehouse-attempts"),
        },
        {
            # Security events: written once each, read a page at a time; never changed.
            "Sid": "SecurityEvents",
            "Effect": "Allow",
            "Action": ["dynamodb:PutItem", "dynamodb:Query"],
            "Resource": _table_arn("gatehouse-events"),
        },
    ]
    for table in tables:
        # The views' actions and the account-deleted hooks' (they run in this one function here).
        actions = dict.fromkeys([*table.actions, *table.account_deleted_actions])
        statements.append(
            {
                "Sid": f"App{table.logical_id}",
                "Effect": "Allow",
                "Action": [f"dynamodb:{action}" for action in actions],
                "Resource": _table_arn(table.local_name),
            }
        )
    statements += [
        {
            "Sid": "Mail",
            "Effect": "Allow",
            "Action": ["ses:SendEmail"],
            "Resource": ["arn:aws:ses:*:*:identity/*", "arn:aws:ses:*:*:configuration-set/*"],
        },
        {"Sid": "SigningKey", "Effect": "Allow", "Action": ["ssm:GetParameter"], "Resource": key},
        {
            "Sid": "SigningKeyDecrypt",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": "arn:aws:kms:*:*:key/*",
            "Condition": {
                "StringLike": {
                    "kms:ViaService": "ssm.*.amazonaws.com",
                    "kms:EncryptionContext:PARAMETER_ARN": key,
                }
            },
        },
        # The data key that seals TOTP secrets, held like the signing key.
        {"Sid": "MfaKey", "Effect": "Allow", "Action": ["ssm:GetParameter"], "Resource": mfa_key},
        {
            "Sid": "MfaKeyDecrypt",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": "arn:aws:kms:*:*:key/*",
            "Condition": {
                "StringLike": {
                    "kms:ViaService": "ssm.*.amazonaws.com",
                    "kms:EncryptionContext:PARAMETER_ARN": mfa_key,
                }
            },
        },
        _logs(f"{app_name}-prod"),
    ]
    return _json({"Version": "2012-10-17", "Statement": statements})


def authorizer_policy(app_name: str) -> str:
    return _json(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "SessionLookup",
                    "Effect": "Allow",
                    "Action": ["dynamodb:GetItem"],
                    "Resource": _table_arn("gatehouse-sessions"),
                },
                _logs(f"{app_name}-prod-gatehouse_auth"),
            ],
        }
    )


def _template(name: str) -> str:
    """A template shipped next to this module (package data), with the version filled in."""
    text = (Path(__file__).resolve().parent / name).read_text(encoding="utf-8")
    return text.replace("{version}", __version__)


def make_fragment() -> str:
    return _template("gatehouse.mk")


def makefile() -> str:
    return _template("Makefile.template")


def generated(app_name: str, tables: Sequence[AppTable], *, with_makefile: bool) -> dict[str, str]:
    """Every generated file of the project, by path relative to it."""
    files = {
        CONFIG: config(app_name),
        API_HANDLER_POLICY: api_handler_policy(app_name, tables),
        AUTHORIZER_POLICY: authorizer_policy(app_name),
        MAKE_FRAGMENT: make_fragment(),
    }
    if with_makefile:
        files[MAKEFILE] = makefile()
    return files
