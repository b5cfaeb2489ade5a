"""``python -m gatehouse.release.rehearsal [BUILD_DIR]``: rehearse the deployment ``make package`` built.

From ``BUILD_DIR/sam.json`` and the zip it names alone (default ``build/``):
a moto server on a free loopback port, the first-deploy steps against it
(:mod:`.stack`), the template resolved for the rehearsal's parameter values
(:mod:`.cfn`), each function from the extracted zip in its own process with
only its role's permissions (:mod:`.functions`, :mod:`.bootstrap`), the API
definition served by a local gateway (:mod:`.gateway`) and the end-to-end
scenario over HTTP (:mod:`.scenario`).  Everything it starts is stopped
before it returns.

Exit status 0: the rehearsal passed.  1: it failed; the lines say which step,
which function, which action or variable.  2: the build or template cannot
be rehearsed (one line says why).
"""

from __future__ import annotations

import argparse
import json
import secrets
import string
import tempfile
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gatehouse.release.rehearsal import policy
from gatehouse.release.rehearsal.cfn import Pseudo, Resolver, TemplateError, resources_of
from gatehouse.release.rehearsal.functions import (
    FunctionFailed,
    FunctionProcess,
    FunctionSpec,
    check_runtime,
    extract,
    function_specs,
    runtime_dir,
    writable,
)
from gatehouse.release.rehearsal.gateway import Api, Gateway
from gatehouse.release.rehearsal.scenario import ORIGIN, Http, Mailbox, Scenario, ScenarioFailed
from gatehouse.release.rehearsal.stack import (
    Aws,
    MotoServer,
    SetupError,
    admin_cli,
    assume_role,
    create_mail_identity,
    create_signing_key,
    create_tables,
)

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
STACK_NAME = "gatehouse-rehearsal"
API_TYPES = ("AWS::Serverless::Api", "AWS::ApiGateway::RestApi")
# Parameter values the rehearsal deploys with, where the template has the parameter:
# CORS on for one origin, mail on through a verified domain.
PARAMETERS = {
    "CorsAllowOrigins": ORIGIN,
    "MailFromAddress": "no-reply@rehearsal.example",
    "MailIdentity": "rehearsal.example",
}
ADMIN = "rehearsal-admin"


class RehearsalFailed(Exception):
    """The rehearsal ran and something did not hold; the lines say what.

    Not a :class:`~gatehouse.errors.GatehouseError`: a build step's refusal, never a request's.
    """

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


@dataclass
class Report:
    steps: int
    requests_probed: list[str]
    authorizer_calls: int
    seconds: float
    functions: dict[str, str] = field(default_factory=dict)


def _log(line: str) -> None:
    print(f"rehearse: {line}", flush=True)


def _api(resolver: Resolver) -> tuple[str, dict[str, Any], str]:
    apis = resources_of(resolver.template, *API_TYPES)
    if len(apis) != 1:
        raise TemplateError(f"the template has {len(apis)} REST APIs; the rehearsal serves exactly one")
    [(logical, resource)] = apis.items()
    properties = resolver.resolve(resource.get("Properties", {}), f"Resources.{logical}.Properties")
    body = properties.get("DefinitionBody") or properties.get("Body")
    if not isinstance(body, dict):
        raise TemplateError(f"{logical}: no inline DefinitionBody (a DefinitionUri is not supported)")
    return logical, body, str(properties.get("StageName", "api"))


def _function_environment(
    spec: FunctionSpec, task: Path, runtime: Path, endpoint: str, credentials: Mapping[str, str]
) -> dict[str, str]:
    """What a Lambda execution environment of ``spec`` has, plus the endpoint of moto."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": str(task),
        "LAMBDA_RUNTIME_DIR": str(runtime),
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        # The one variable Lambda would not set: every AWS call goes to moto.
        "AWS_ENDPOINT_URL": endpoint,
        **credentials,
        **spec.environment,
    }


def _runtime_config(spec: FunctionSpec, task: Path, identities: list[str]) -> dict[str, Any]:
    return {
        "task_root": str(task),
        "handler": spec.handler,
        "function_name": spec.name,
        "function_arn": spec.arn,
        "memory_size": spec.memory_size,
        "timeout": spec.timeout,
        "log_group": f"/aws/lambda/{spec.name}",
        "role_name": spec.role_name,
        "statements": spec.statements,
        "region": REGION,
        "account_id": ACCOUNT_ID,
        "ses_identities": identities,
    }


# Parts of a variable's name that say nothing about which resource it names.
_GENERIC_PARTS = frozenset(
    {"gatehouse", "table", "tables", "name", "param", "parameter", "arn", "aws", "key"}
)


def _names_part_of(variable: str, refused: str) -> bool:
    """Whether a distinctive part of ``variable`` (EVENTS in GATEHOUSE_EVENTS_TABLE) is in ``refused``."""
    parts = [p for p in variable.lower().split("_") if len(p) > 2 and p not in _GENERIC_PARTS]
    return any(part in refused for part in parts)


class Rehearsal:
    def __init__(self, build: Path, values: Mapping[str, str], work: Path) -> None:
        self.build = build
        self.template: dict[str, Any] = json.loads((build / "sam.json").read_text())
        declared = self.template.get("Parameters", {})
        self.values = {k: v for k, v in PARAMETERS.items() if k in declared} | dict(values)
        self.work = work
        self.processes: dict[str, FunctionProcess] = {}
        self.gateway: Gateway | None = None

    def run(self, stack: ExitStack) -> Report:
        started = time.monotonic()
        moto = MotoServer()
        moto.start()
        stack.callback(moto.stop)
        aws = Aws(moto.endpoint, REGION)
        _log(f"moto on {moto.endpoint}")
        create_signing_key(aws, self.template, self.values)
        api_id = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(10))
        pseudo = Pseudo(REGION, ACCOUNT_ID, STACK_NAME)
        resolver = Resolver.for_template(self.template, pseudo, self.values, aws.ssm_value)
        broken = resolver.rules_broken()
        if broken:
            raise TemplateError("a template rule refuses the parameters: " + "; ".join(broken))
        api_logical, definition, stage = _api(resolver)
        resolver.ids[api_logical] = api_id
        tables = create_tables(aws, resolver)
        identity = resolver.parameters.get("MailIdentity", "")
        create_mail_identity(aws, identity)
        _log(f"signing key, {len(tables)} tables" + (f", SES identity {identity}" if identity else ""))
        specs = function_specs(resolver)
        for spec in specs.values():
            check_runtime(spec)
        self._start_functions(stack, aws, specs, resolver, [identity] if identity else [])
        api = Api.from_definition(definition, {s.arn: s.logical for s in specs.values()}, stage)
        # The first admin, as docs/DEPLOY.md has one made, while the functions start.
        token_function = self._function_of(api, "POST", "/auth/token")
        admin_password = "Rehearsal-" + secrets.token_urlsafe(12)
        identity_env = {
            k: v for k, v in specs[token_function].environment.items() if k.startswith("GATEHOUSE_")
        }
        admin_cli(
            aws,
            ["create-user", ADMIN, "--role", "admin", "--role", "user"],
            {**identity_env, "GATEHOUSE_NEW_PASSWORD": admin_password},
        )
        self._wait_for_functions()
        gateway = Gateway(api, self.processes, api_id, REGION, ACCOUNT_ID)
        self.gateway = gateway
        base = gateway.start()
        stack.callback(gateway.stop)
        methods = sum(len(r.operations) for r in api.routes)
        _log(f"gateway on {base}/ ({methods} methods on {len(api.routes)} paths)")
        identity_tables = {v for k, v in identity_env.items() if k.endswith("_TABLE")}
        app_tables = [name for name in tables.values() if name not in identity_tables]
        scenario = Scenario(
            http=Http(base),
            mailbox=Mailbox(ACCOUNT_ID, REGION),
            admin=(ADMIN, admin_password),
            app_items=lambda: self._items(aws, app_tables),
            after_step=self._after_step,
            cors_on=bool(resolver.parameters.get("CorsAllowOrigins")),
            notes_app=api.match("POST", "/notes") is not None,
        )
        try:
            scenario.run()
            probed = self._probe(scenario, api, admin_password)
        except ScenarioFailed as failed:
            raise RehearsalFailed(
                [f"rehearsal failed: {failed}", *self._incident_lines(), *self._unset_lines()]
            ) from None
        self._after_step("the end")
        return Report(
            scenario.steps,
            probed,
            gateway.authorizer_calls,
            time.monotonic() - started,
            {s.logical: s.handler for s in specs.values()},
        )

    def _function_of(self, api: Api, method: str, path: str) -> str:
        found = api.match(method, path)
        if found is None or found[0].function is None:
            raise TemplateError(f"the API has no Lambda integration for {method} {path}")
        return found[0].function

    def _start_functions(
        self,
        stack: ExitStack,
        aws: Aws,
        specs: Mapping[str, FunctionSpec],
        resolver: Resolver,
        identities: list[str],
    ) -> None:
        runtime = runtime_dir(self.work / "runtime")
        tasks: dict[str, Path] = {}
        for spec in specs.values():
            if spec.code_uri not in tasks:
                zip_path = (self.build / spec.code_uri).resolve()
                if not zip_path.is_file():
                    raise TemplateError(f"{spec.logical}: CodeUri {spec.code_uri} is no file in {self.build}")
                task = self.work / f"task{len(tasks)}"
                stack.callback(writable, task)
                tasks[spec.code_uri] = extract(zip_path, task)
        for spec in specs.values():
            role = self.template["Resources"][spec.role]
            properties = resolver.resolve(role.get("Properties", {}), spec.role)
            credentials = assume_role(
                aws,
                spec.role_name,
                properties.get("AssumeRolePolicyDocument", {}),
                properties.get("Policies", []),
                spec.name,
            )
            task = tasks[spec.code_uri]
            process = FunctionProcess(
                spec,
                task,
                runtime,
                _function_environment(spec, task, runtime, aws.endpoint, credentials),
                self.work / f"{spec.logical}.log",
            )
            self.processes[spec.logical] = process
            stack.callback(process.stop)
            process.start(_runtime_config(spec, task, identities))

    def _wait_for_functions(self) -> None:
        failures: list[str] = []
        for process in self.processes.values():
            try:
                process.wait_ready()
            except FunctionFailed as failed:
                failures.append(str(failed))
        if failures:
            raise RehearsalFailed([f"rehearsal failed: {line}" for line in sorted(failures)])
        denied = [
            f"rehearsal failed: {p.spec.label()}: its role refused {d['action']} on {d['resource']}"
            " (the Lambda service writes the function's logs with it)"
            for p in self.processes.values()
            for d in p.init_denied
        ]
        if denied:
            raise RehearsalFailed(denied)
        _log(
            "functions ready: "
            + ", ".join(f"{p.spec.logical} ({p.spec.handler})" for p in self.processes.values())
        )

    def _after_step(self, step: str) -> None:
        if self.gateway is not None and self.gateway.incidents:
            raise RehearsalFailed([f"rehearsal failed at step '{step}':", *self._incident_lines()])

    def _incident_lines(self) -> list[str]:
        if self.gateway is None:
            return []
        lines = []
        given = {
            name: {s.spec.logical for s in self.processes.values() if name in s.spec.environment}
            for s in self.processes.values()
            for name in s.spec.environment
        }
        for incident in self.gateway.incidents:
            lines.append(f"  {incident.function}, serving {incident.request}: {incident.what}")
        for process in self.processes.values():
            incidents = [i for i in self.gateway.incidents if i.function == process.spec.label()]
            if not incidents:
                continue
            refused = " ".join(i.refused_on or "" for i in incidents).lower()
            for name in process.unset:
                if given.get(name):
                    where = f"it does on {', '.join(sorted(given[name]))}"
                elif _names_part_of(name, refused):
                    where = "and a resource its name suggests was refused"
                else:
                    continue
                lines.append(
                    f"  {process.spec.logical} read {name}, which the template does not set on it ({where})"
                )
        return lines

    def _unset_lines(self) -> list[str]:
        """What the function of the failed step read and did not find (their defaults applied)."""
        if self.gateway is None or self.gateway.last_function is None:
            return []
        process = self.processes[self.gateway.last_function]
        lines = [
            f"  {process.spec.logical} logged: {line.strip()[:300]}" for line in self.gateway.last_log[-3:]
        ]
        # Only the template's own kinds of variable (GATEHOUSE_..., NOTES_...), not botocore's.
        prefixes = tuple(
            {name.split("_")[0] + "_" for p in self.processes.values() for name in p.spec.environment}
        )
        unset = [name for name in process.unset if name.startswith(prefixes)]
        if unset:
            lines.append(
                f"  {process.spec.logical} read these variables the template does not set on it "
                f"(their defaults applied): {', '.join(unset)}"
            )
        return lines

    def _probe(self, scenario: Scenario, api: Api, admin_password: str) -> list[str]:
        assert self.gateway is not None
        lambda_routes = [
            (op.method, op.path) for r in api.routes for op in r.operations.values() if op.kind == "aws_proxy"
        ]
        missing = sorted(set(lambda_routes) - self.gateway.served)
        protected = {
            (op.method, op.path) for r in api.routes for op in r.operations.values() if op.authorizer
        }
        token: list[str] = []

        def admin_token() -> str:
            if not token:
                token.append(scenario.login(ADMIN, admin_password)["access_token"])
            return token[0]

        return scenario.probe(missing, admin_token, protected)

    @staticmethod
    def _items(aws: Aws, tables: list[str]) -> list[Mapping[str, Any]]:
        client = aws.client("dynamodb")
        items: list[Mapping[str, Any]] = []
        for name in tables:
            for page in client.get_paginator("scan").paginate(TableName=name):
                items.extend({k: next(iter(v.values())) for k, v in item.items()} for item in page["Items"])
        return items


def rehearse(build: Path, values: Mapping[str, str] | None = None) -> Report:
    """Run the whole rehearsal; raises RehearsalFailed, or TemplateError/SetupError for what cannot run."""
    if not (build / "sam.json").is_file():
        raise SetupError(f"no {build / 'sam.json'}: run `make package` first")
    with tempfile.TemporaryDirectory(prefix="gatehouse-rehearsal-") as work, ExitStack() as stack:
        rehearsal = Rehearsal(build, values or {}, Path(work))
        try:
            return rehearsal.run(stack)
        except policy.PolicyError as error:
            raise TemplateError(f"a role's policy cannot be read: {error}") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gatehouse.release.rehearsal",
        description="Rehearse the packaged deployment locally: its zip, template, roles and API.",
    )
    parser.add_argument(
        "build",
        nargs="?",
        type=Path,
        default=Path("build"),
        help="what `make package` wrote (default: build)",
    )
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a template parameter value (repeatable)",
    )
    args = parser.parse_args(argv)
    values = dict(item.split("=", 1) for item in args.parameter if "=" in item)
    try:
        report = rehearse(args.build, values)
    except RehearsalFailed as failed:
        print("\n".join(failed.lines), flush=True)
        return 1
    except (TemplateError, SetupError, FunctionFailed, OSError, ValueError) as error:
        print(f"rehearsal cannot run: {error}", flush=True)
        return 2
    _log(f"{report.steps} scenario steps passed; {len(report.requests_probed)} more routes probed")
    for line in report.requests_probed:
        _log(f"  probed {line}")
    print(
        f"rehearsal passed in {report.seconds:.0f} s: "
        f"{', '.join(f'{k} ({v})' for k, v in report.functions.items())}, "
        f"each with only its role; {report.authorizer_calls} authorizer calls",
        flush=True,
    )
    return 0
