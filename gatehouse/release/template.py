"""The merge template for ``chalice package``, computed from the app's route table.

``make package`` runs ``python -m gatehouse.release.template build/merge.json``
in the project directory and then ``chalice package --merge-template build/merge.json``.
The output is ``resources.json`` next to this module (Gatehouse's tables, roles,
log groups, gateway responses, parameters: everything that depends neither on the
app's routes nor on its tables) plus what a static file cannot know:

* **the app's own tables**, from its ``gate.table(...)`` declarations: each one a
  table with point-in-time recovery that outlives the stack (``DeletionPolicy``
  and ``UpdateReplacePolicy`` ``Retain``), its CloudFormation name given to the
  API handler and the auth function as ``<NAME>_TABLE``, the API handler's role
  granted exactly the declared ``actions`` on it, and the auth function's role
  (the account-deleted hooks run there) exactly its ``account_deleted_actions``.

* **which function serves each route.**  Chalice generates one API handler
  for every route.  Gatehouse's routes (``gatehouse_paths``) are re-pointed at
  the auth function, the only function whose role may read the signing key
  and the identity tables, so the user's own routes run in an API handler
  that can reach neither.  Only routes the app really has get an
  integration: a path that does not exist is not created.
* **the auth function itself**: the same zip, handler and runtime as
  Chalice's API handler, with the variables, memory and timeout that
  ``.chalice/config.json`` gives ``lambda_functions.auth_function`` of the
  stage, and the table names, keys, CORS list and mail settings of the
  template (``resources.json`` wins over ``config.json`` there, as it
  does for Chalice's own functions).
* **the authorizer function's route table**: every route behind Gatehouse's
  authorizer and the role it needs (:func:`protected_routes`), as the
  authorizer function's ``GATEHOUSE_PROTECTED_ROUTES``, and its handler
  pinned to the lean module that reads it, so that function never imports
  the app.
* **a CORS preflight on every path**: a mock ``OPTIONS`` method, answered by
  API Gateway without a Lambda call.  Its response mapping template reflects
  the request's ``Origin`` only when the ``CorsAllowOrigins`` parameter lists
  it, the same parameter the three functions get as
  ``GATEHOUSE_CORS_ORIGINS``, so the gateway and the code cannot disagree.

Errors that stop the build print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalice.app import Chalice, ChaliceUnhandledError
from chalice.config import Config
from chalice.constants import DEFAULT_LAMBDA_MEMORY_SIZE, DEFAULT_LAMBDA_TIMEOUT

from gatehouse.app_tables import AppTable
from gatehouse.authorizer import handler
from gatehouse.authorizer.policy import ROUTES_VARIABLE
from gatehouse.component import declared_tables, protected_routes
from gatehouse.project import ProjectNotFound, find

# Package data: the base is found next to this module, wherever Gatehouse is installed.
BASE_TEMPLATE = Path(__file__).resolve().parent / "resources.json"
API_HANDLER = "APIHandler"
API_HANDLER_ROLE = "ApiHandlerRole"
AUTH_FUNCTION_ROLE = "AuthFunctionRole"

AUTH_FUNCTION = "AuthFunction"
# Chalice's logical id for the function of the authorizer named gatehouse_auth.
AUTHORIZER_FUNCTION = "GatehouseAuth"
# Lambda allows 4 KB of variables per function in all; the key set and the
# table names need their share.
MAX_ROUTE_TABLE_BYTES = 2048
# Its entry under stages.<stage>.lambda_functions in .chalice/config.json.  Chalice
# ignores it (no Chalice function has that name); this module reads it.
AUTH_FUNCTION_CONFIG = "auth_function"
REST_API = "RestAPI"
CORS_PARAMETER = "CorsAllowOrigins"

# Which routes are Gatehouse's: these exact paths, and every path under these
# prefixes, present and future (/auth/email, /auth/password/reset, ...).  The
# one place the split is decided; `gatehouse_paths` is what everything else calls.
GATEHOUSE_EXACT_PATHS = frozenset({"/", "/me", "/.well-known/jwks.json", "/openapi.json", "/admin/users"})
GATEHOUSE_PATH_PREFIXES = ("/auth/", "/admin/users/", "/client/")

# What a browser may send cross-origin, and how long it may cache a preflight
# (Chromium caps it at 2 hours).  Bearer tokens, never cookies: no credentials.
PREFLIGHT_HEADERS = ("Authorization", "Content-Type")
PREFLIGHT_MAX_AGE = 600


class ReleaseError(Exception):
    """The merge template cannot be built; the message says why and what to do.

    Not a :class:`~gatehouse.errors.GatehouseError`: a build step's refusal, never a request's.
    """


def is_gatehouse_path(path: str) -> bool:
    return path in GATEHOUSE_EXACT_PATHS or path.startswith(GATEHOUSE_PATH_PREFIXES)


def gatehouse_paths(app: Chalice) -> frozenset[str]:
    """The route paths of ``app`` that Gatehouse serves (its auth function), as Chalice names them."""
    return frozenset(path for path in app.routes if is_gatehouse_path(path))


def authorizer_properties(app: Chalice) -> dict[str, Any]:
    """The authorizer function's handler and route table, for the merge template."""
    encoded = protected_routes(app).encode()
    if len(encoded.encode()) > MAX_ROUTE_TABLE_BYTES:
        raise ReleaseError(
            f"the protected-route table is {len(encoded.encode())} bytes, more than the "
            f"{MAX_ROUTE_TABLE_BYTES} a Lambda environment variable can spare: protect fewer paths "
            "or put shared segments into path parameters"
        )
    return {"Handler": handler.HANDLER, "Environment": {"Variables": {ROUTES_VARIABLE: encoded}}}


def integration_uri(function: str) -> dict[str, str]:
    """The Lambda proxy integration URI of a function of the template, as Chalice writes it."""
    return {
        "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
        "${" + function + ".Arn}/invocations"
    }


def preflight_template(methods: Iterable[str]) -> str:
    """VTL for the mock ``OPTIONS`` integration response of a path with these methods.

    ``${CorsAllowOrigins}`` is filled in by CloudFormation (``Fn::Sub``); its
    pattern admits no quote, ``$`` or ``#``, so a value cannot change the
    template.  API Gateway applies each header override once, at the end, so
    the loop only picks the answer and the overrides come after it.  The header
    map is read under both spellings because HTTP/2 clients send ``origin``.
    """
    allowed_methods = ",".join(sorted({*(m.upper() for m in methods), "OPTIONS"}))
    return "\n".join(
        [
            "## CORS preflight: answered only for an Origin that " + CORS_PARAMETER + " lists.",
            '#set($origins = "${' + CORS_PARAMETER + '}")',
            "#set($origin = \"$!input.params().header.get('Origin')\")",
            '#if($origin == "")#set($origin = "$!input.params().header.get(\'origin\')")#end',
            '#set($allowed = "")',
            '#if($origin != "")',
            '#foreach($listed in $origins.split(","))',
            '#if($listed == "*")#set($allowed = "*")#elseif($listed == $origin)#set($allowed = $origin)#end',
            "#end",
            "#end",
            '#if($allowed != "")',
            "#set($context.responseOverride.header.Access-Control-Allow-Origin = $allowed)",
            f'#set($context.responseOverride.header.Access-Control-Allow-Methods = "{allowed_methods}")',
            "#set($context.responseOverride.header.Access-Control-Allow-Headers = "
            f'"{",".join(PREFLIGHT_HEADERS)}")',
            f'#set($context.responseOverride.header.Access-Control-Max-Age = "{PREFLIGHT_MAX_AGE}")',
            "#end",
        ]
    )


PREFLIGHT_RESPONSE_HEADERS = (
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers",
    "Access-Control-Max-Age",
    "Vary",
)


def preflight_method(methods: Iterable[str]) -> dict[str, Any]:
    """A swagger ``options`` operation: mock integration, no authorizer, headers from the VTL."""
    return {
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "responses": {
            "200": {
                "description": "CORS preflight",
                "headers": {name: {"type": "string"} for name in PREFLIGHT_RESPONSE_HEADERS},
            }
        },
        "x-amazon-apigateway-integration": {
            "type": "mock",
            "passthroughBehavior": "when_no_match",
            "requestTemplates": {"application/json": '{"statusCode": 200}'},
            "responses": {
                "default": {
                    "statusCode": "200",
                    # Whatever the answer, it depends on Origin: caches must key on it.
                    "responseParameters": {"method.response.header.Vary": "'Origin'"},
                    "responseTemplates": {"application/json": {"Fn::Sub": preflight_template(methods)}},
                }
            },
        },
    }


@dataclass(frozen=True)
class FunctionSettings:
    """What Chalice would give a function of this stage: runtime, size and variables."""

    runtime: str
    architecture: str
    memory_size: int
    timeout: int
    environment: Mapping[str, str]
    tags: Mapping[str, str]

    @classmethod
    def from_config(cls, config: Config) -> FunctionSettings:
        return cls(
            runtime=config.lambda_python_version,
            architecture=config.lambda_architecture,
            memory_size=config.lambda_memory_size or DEFAULT_LAMBDA_MEMORY_SIZE,
            timeout=config.lambda_timeout or DEFAULT_LAMBDA_TIMEOUT,
            environment=dict(config.environment_variables),
            tags=dict(config.tags),
        )


def _no_chalice_cors(app: Chalice) -> None:
    # Chalice's CORSConfig makes it generate a static-origin OPTIONS method; a
    # merge can only add keys to it, so its one origin would survive the list.
    for path, methods in app.routes.items():
        for method, entry in methods.items():
            if entry.cors:
                raise ReleaseError(
                    f"{method} {path} uses Chalice's CORSConfig (is GATEHOUSE_CORS_ORIGIN set?): "
                    f"the template answers preflights from its {CORS_PARAMETER} parameter; turn it off"
                )


def deep_merge(base: Any, overrides: Any) -> Any:
    """``overrides`` on top of ``base``: dicts merge key by key, anything else is replaced."""
    if isinstance(base, dict) and isinstance(overrides, dict):
        merged = dict(base)
        for key, value in overrides.items():
            merged[key] = deep_merge(base.get(key), value)
        return merged
    return copy.deepcopy(overrides)


def _statements(base: Mapping[str, Any], role: str) -> list[Any]:
    try:
        statements: list[Any] = base["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"][
            "Statement"
        ]
    except (KeyError, IndexError, TypeError):
        raise ReleaseError(f"the base template has no policy on {role} to grant the app's tables") from None
    return statements


def with_app_tables(base: Mapping[str, Any], tables: Sequence[AppTable]) -> dict[str, Any]:
    """``base`` plus each declared table, its name for the two functions, and exactly its grants."""
    document: dict[str, Any] = copy.deepcopy(dict(base))
    resources = document.setdefault("Resources", {})
    outputs = document.setdefault("Outputs", {})
    api_statements = _statements(document, API_HANDLER_ROLE)
    auth_statements = _statements(document, AUTH_FUNCTION_ROLE)
    for table in tables:
        logical = table.logical_id
        if logical in resources:
            raise ReleaseError(f"table {table.name!r}: the template already has a resource {logical}")
        arguments = table.create_table_arguments({})
        resources[logical] = {
            "Type": "AWS::DynamoDB::Table",
            # The app's data outlives the stack: deleting or replacing the stack keeps it.
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "BillingMode": arguments["BillingMode"],
                "KeySchema": arguments["KeySchema"],
                "AttributeDefinitions": arguments["AttributeDefinitions"],
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                "SSESpecification": {"SSEEnabled": True},
            },
        }
        outputs[f"{logical}Name"] = {"Value": {"Ref": logical}}
        arn = {"Fn::GetAtt": [logical, "Arn"]}
        # Before the log statements, which every role ends with.
        api_statements.insert(
            len(api_statements) - 1,
            {"Sid": f"App{logical}", "Effect": "Allow", "Action": table.iam_actions(), "Resource": [arn]},
        )
        if table.account_deleted_actions:
            actions = [f"dynamodb:{action}" for action in table.account_deleted_actions]
            auth_statements.insert(
                len(auth_statements) - 1,
                {
                    "Sid": f"AccountDeletedHook{logical}",
                    "Effect": "Allow",
                    "Action": actions,
                    "Resource": [arn],
                },
            )
        # The API handler's views and the auth function's account-deleted hooks look it up by name.
        for function in (API_HANDLER, AUTH_FUNCTION):
            variables = (
                resources.setdefault(function, {})
                .setdefault("Properties", {})
                .setdefault("Environment", {})
                .setdefault("Variables", {})
            )
            variables[table.variable] = {"Ref": logical}
    return document


def merge_document(app: Chalice, base: Mapping[str, Any], auth: FunctionSettings) -> dict[str, Any]:
    """``base`` (resources.json) plus the app's tables, the auth function's settings and every
    path's integrations."""
    _no_chalice_cors(app)
    base = with_app_tables(base, declared_tables(app))
    resources = base.get("Resources", {})
    if AUTH_FUNCTION not in resources or REST_API not in resources or AUTHORIZER_FUNCTION not in resources:
        raise ReleaseError(
            f"the base template has no {AUTH_FUNCTION}, {AUTHORIZER_FUNCTION} or {REST_API} resource"
        )
    gatehouse = gatehouse_paths(app)
    paths: dict[str, dict[str, Any]] = {}
    for path, methods in sorted(app.routes.items()):
        operations: dict[str, Any] = {}
        if path in gatehouse:
            for method in methods:
                operations[method.lower()] = {
                    "x-amazon-apigateway-integration": {"uri": integration_uri(AUTH_FUNCTION)}
                }
        # A path whose app answers OPTIONS itself keeps that route, like any other method.
        if "OPTIONS" not in methods:
            operations["options"] = preflight_method(methods)
        paths[path] = operations
    template_env = resources[AUTH_FUNCTION].get("Properties", {}).get("Environment", {}).get("Variables", {})
    generated = {
        "Resources": {
            AUTH_FUNCTION: {
                "Properties": {
                    "Runtime": auth.runtime,
                    "Architectures": [auth.architecture],
                    "MemorySize": auth.memory_size,
                    "Timeout": auth.timeout,
                    "Tags": dict(auth.tags),
                    # The template's values (table names by Ref, ...) win over config.json's.
                    "Environment": {"Variables": {**auth.environment, **template_env}},
                }
            },
            AUTHORIZER_FUNCTION: {"Properties": authorizer_properties(app)},
            REST_API: {"Properties": {"DefinitionBody": {"paths": paths}}},
        }
    }
    merged: dict[str, Any] = deep_merge(base, generated)
    return merged


def load(stage: str, project_dir: Path | None = None) -> tuple[Chalice, FunctionSettings]:
    """The app and the auth function's settings, loaded as ``chalice package --stage STAGE`` loads them.

    Chalice imports ``app.py`` with the stage's variables in the environment,
    so routes that depend on a setting come out as they will be deployed.
    """
    from chalice.cli.factory import CLIFactory  # the CLI's imports, only when packaging

    factory = CLIFactory(str(project_dir or find()), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=stage)
    if stage not in config.config_from_disk.get("stages", {}):
        raise ReleaseError(f"no stage {stage!r} in .chalice/config.json")
    return config.chalice_app, FunctionSettings.from_config(config.scope(stage, AUTH_FUNCTION_CONFIG))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gatehouse.release.template",
        description="Write the merge template for `chalice package --merge-template`.",
    )
    parser.add_argument("output", type=Path, help="where to write it, e.g. build/merge.json")
    parser.add_argument("--stage", default="prod", help="the Chalice stage to package (default: prod)")
    parser.add_argument(
        "--base",
        type=Path,
        default=BASE_TEMPLATE,
        help="default: Gatehouse's own (gatehouse/release/resources.json)",
    )
    parser.add_argument("--project-dir", type=Path, help="the Chalice project (default: found from here)")
    args = parser.parse_args(argv)
    try:
        base = json.loads(args.base.read_text())
        app, auth = load(args.stage, find(args.project_dir))
        document = merge_document(app, base, auth)
    # Chalice reports a bad config.json as RuntimeError; Gatehouse's settings errors raised
    # while importing app.py are ChaliceUnhandledError.
    except (OSError, ValueError, RuntimeError, ChaliceUnhandledError, ReleaseError, ProjectNotFound) as error:
        print(f"gatehouse.release.template: cannot build the merge template: {error}", file=sys.stderr)
        return 2
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    routed = len(gatehouse_paths(app))
    print(
        f"{args.output}: {routed} Gatehouse paths to {AUTH_FUNCTION}, preflights on {len(app.routes)} paths"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
