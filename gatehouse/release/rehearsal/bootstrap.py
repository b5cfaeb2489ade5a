"""The rehearsal's Lambda runtime: one function, in its own process.

The rehearsal copies this module and ``policy.py`` into a runtime directory
and starts ``python -I -S`` on it, so the process can import only the
standard library, the extracted ``deployment.zip`` (first on ``sys.path``, as
``/var/task`` is on Lambda) and boto3/botocore with their dependencies (what
the Lambda Python runtime provides).  Nothing of the developer's virtualenv
is reachable: a module the zip lacks fails to import here as it would on
Lambda.

It then does what the Lambda runtime does with the template's ``Handler``:
imports the module, finds the function (``Runtime.ImportModuleError``,
``Runtime.HandlerNotFound`` and ``Runtime.MalformedHandlerName`` are reported
with Lambda's own wording) and serves invocations: one JSON line per event on
stdin, one JSON line per answer on the protocol pipe (the process's original
stdout; what the function prints goes to stderr, its log).

Every AWS call the function makes is checked first against its role's
statements (``policy.evaluate``) with the action IAM would check and the
resource ARN the call names; a refused call raises the ``AccessDenied`` error
AWS would send and is reported with the answer, so the rehearsal can name the
function and the action.  The Lambda service's own log writes
(``logs:CreateLogStream``, ``logs:PutLogEvents`` on the function's log group)
are checked the same way at start.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TextIO

from .policy import evaluate

_TRANSACT_ACTIONS = {
    "ConditionCheck": "ConditionCheckItem",
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "Get": "GetItem",
}


class Role:
    """The function's role: its statements and where the function runs."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.statements: Sequence[Mapping[str, Any]] = config["statements"]
        self.name: str = config["role_name"]
        self.function_name: str = config["function_name"]
        self.region: str = config["region"]
        self.account: str = config["account_id"]
        self.partition: str = config.get("partition", "aws")
        self.ses_identities: Sequence[str] = config.get("ses_identities", ())
        self.denied: list[dict[str, str]] = []

    def arn(self, service: str, rest: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account}:{rest}"

    def requests(self, service: str, operation: str, params: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
        """(action, resource ARN) pairs IAM checks for this call."""
        if service == "dynamodb":
            yield from self._dynamodb(operation, params)
        elif service == "ssm" and ("Name" in params or "Names" in params):
            names = [params["Name"]] if "Name" in params else params["Names"]
            for name in names:
                yield (
                    "ssm:" + operation,
                    self.arn("ssm", "parameter" + ("" if name.startswith("/") else "/") + name),
                )
        elif service == "ses" and operation in ("SendEmail", "SendRawEmail"):
            sender = str(params.get("FromEmailAddress") or params.get("Source") or "")
            address = sender.rsplit("<", 1)[-1].rstrip(">").strip()
            domain = address.rsplit("@", 1)[-1]
            identity = address if address in self.ses_identities else domain
            yield "ses:" + operation, self.arn("ses", "identity/" + identity)
            if params.get("ConfigurationSetName"):
                yield (
                    "ses:" + operation,
                    self.arn("ses", "configuration-set/" + params["ConfigurationSetName"]),
                )
        else:
            # No resource-level mapping known here: IAM's "*" (an ARN-scoped grant will not match it).
            yield f"{service}:{operation}", "*"

    def _dynamodb(self, operation: str, params: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
        def table(name: str, index: str | None = None) -> str:
            return self.arn("dynamodb", "table/" + name + (f"/index/{index}" if index else ""))

        if operation in ("TransactWriteItems", "TransactGetItems"):
            # IAM checks each item of a transaction against its own action.
            for item in params.get("TransactItems", ()):
                [(kind, body)] = item.items()
                yield "dynamodb:" + _TRANSACT_ACTIONS[kind], table(body["TableName"])
        elif operation in ("BatchWriteItem", "BatchGetItem"):
            for name in params.get("RequestItems", {}):
                yield "dynamodb:" + operation, table(name)
        elif "TableName" in params:
            yield "dynamodb:" + operation, table(params["TableName"], params.get("IndexName"))
        else:
            yield "dynamodb:" + operation, "*"

    def refusal(self, action: str, resource: str) -> str | None:
        """None if the role may; else AWS's AccessDenied message (and the refusal is recorded)."""
        if evaluate(self.statements, action, resource).allowed:
            return None
        self.denied.append({"action": action, "resource": resource})
        return (
            f"User: arn:{self.partition}:sts::{self.account}:assumed-role/{self.name}/{self.function_name} "
            f"is not authorized to perform: {action} on resource: {resource}"
        )


def install_iam_check(role: Role) -> None:
    """Every botocore API call of this process is checked against ``role`` before it is sent."""
    from botocore.client import BaseClient
    from botocore.exceptions import ClientError

    send = getattr(BaseClient, "_make_api_call")  # noqa: B009 (private in botocore's stubs)

    def checked(client: Any, operation_name: str, api_params: Any) -> Any:
        service = client.meta.service_model.signing_name
        for action, resource in role.requests(service, operation_name, api_params):
            message = role.refusal(action, resource)
            if message is not None:
                code = "AccessDeniedException" if service in ("dynamodb", "ssm", "kms") else "AccessDenied"
                error = {
                    "Error": {"Code": code, "Message": message},
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                }
                raise ClientError(error, operation_name)  # type: ignore[arg-type]
        return send(client, operation_name, api_params)

    setattr(BaseClient, "_make_api_call", checked)  # noqa: B010 (private in botocore's stubs)


class Context:
    """The parts of Lambda's context object functions use."""

    def __init__(self, config: Mapping[str, Any], request_id: str, deadline: float) -> None:
        self.function_name = config["function_name"]
        self.function_version = "$LATEST"
        self.invoked_function_arn = config["function_arn"]
        self.memory_limit_in_mb = str(config["memory_size"])
        self.aws_request_id = request_id
        self.log_group_name = config["log_group"]
        self.log_stream_name = config["log_stream"]
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class UnsetReads:
    """The environment variables the function looked up that are not set (reported with a failure).

    A setting with a default never fails when its variable is missing: the
    function just uses another table or parameter.  Knowing which variables it
    read and did not find lets the rehearsal name the one the template forgot.
    """

    def __init__(self) -> None:
        self.names: set[str] = set()
        watcher = self
        environ_class = type(os.environ)

        class Watched(environ_class):  # type: ignore[valid-type, misc]
            def __getitem__(self, key: str) -> str:
                try:
                    value: str = super().__getitem__(key)
                except KeyError:
                    watcher.names.add(key)
                    raise
                return value

        os.environ.__class__ = Watched


def load_handler(spec: str) -> Any:
    """The handler named by ``module.function`` as Lambda finds it; ``LookupError`` with Lambda's words."""
    module_name, _, attribute = spec.rpartition(".")
    if not module_name or not attribute:
        raise LookupError(f"Runtime.MalformedHandlerName: Bad handler '{spec}': not enough values to unpack")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # what Lambda reports for any failure while importing
        raise LookupError(
            f"Runtime.ImportModuleError: Unable to import module '{module_name}': {error}"
        ) from error
    handler = getattr(module, attribute, None)
    if handler is None:
        raise LookupError(f"Runtime.HandlerNotFound: Handler '{attribute}' missing on module '{module_name}'")
    return handler


def _send(out: TextIO, message: Mapping[str, Any]) -> None:
    out.write(json.dumps(message, separators=(",", ":")) + "\n")
    out.flush()


def serve(config: Mapping[str, Any], requests: TextIO, out: TextIO) -> int:
    role = Role(config)
    stream = time.strftime("%Y/%m/%d") + "/[$LATEST]" + uuid.uuid4().hex
    config = {**config, "log_stream": stream}
    # The Lambda service writes the function's logs with the function's role.
    log_stream = f"{config['log_group']}:log-stream:{stream}"
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        role.refusal(action, role.arn("logs", "log-group:" + log_stream))
    install_iam_check(role)
    unset = UnsetReads()
    started = time.monotonic()
    try:
        handler = load_handler(config["handler"])
    except LookupError as error:
        _send(out, {"init_error": str(error), "denied": role.denied, "unset": sorted(unset.names)})
        return 1
    _send(
        out,
        {
            "ready": True,
            "init_ms": round((time.monotonic() - started) * 1000),
            "denied": role.denied,
            "unset": sorted(unset.names),
        },
    )
    for line in requests:
        role.denied = []
        invocation = json.loads(line)
        context = Context(config, str(uuid.uuid4()), time.monotonic() + float(config["timeout"]))
        try:
            result = handler(invocation["event"], context)
            answer: dict[str, Any] = {"result": result}
        except Exception as error:
            traceback.print_exc()
            answer = {"error": {"errorMessage": str(error), "errorType": type(error).__name__}}
        answer["denied"] = role.denied
        answer["unset"] = sorted(unset.names)
        _send(out, answer)
    return 0


def main(argv: Sequence[str]) -> int:
    """``bootstrap.py CONFIG.json``: the task directory is first on ``sys.path`` already."""
    with open(argv[0], encoding="utf-8") as file:
        config = json.load(file)
    os.chdir(config["task_root"])
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # print() in the function goes to its log, never into the protocol
    sys.stdout = os.fdopen(1, "w", encoding="utf-8", closefd=False)
    return serve(config, sys.stdin, protocol)
