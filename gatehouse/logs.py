"""One structured JSON line per request outcome, some of them CloudWatch metrics too.

Only fields chosen here are logged: never a body, a header, a token or a
password, so nothing secret can reach a log line by accident.

A line given ``metrics`` is also a CloudWatch Embedded Metric Format record
(hand-written JSON, no library): CloudWatch Logs turns it into metric data
points in the ``Gatehouse`` namespace, dimension ``FunctionName``, with no
API call from the function and no cost but a few more bytes of the same
line.  The deploy template's alarms watch these metrics (docs/OPERATIONS.md).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping

NAMESPACE = "Gatehouse"
# The metrics (docs/OPERATIONS.md says what each counts; the template's alarms use them).
LOGINS_SUCCEEDED = "LoginsSucceeded"
LOGINS_FAILED = "LoginsFailed"
LOCKOUTS = "Lockouts"
REFRESH_REUSE = "RefreshReuse"
AUTHORIZER_ALLOW = "AuthorizerAllow"
AUTHORIZER_DENY = "AuthorizerDeny"
AUTHORIZER_ERRORS = "AuthorizerErrors"
MAILS_SENT = "MailsSent"
MAILS_SUPPRESSED = "MailsSuppressed"
MAILS_FAILED = "MailsFailed"
# The metrics' one dimension: which function counted (`<stack>-auth`, `<stack>-authorizer`).
FUNCTION = os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or "local"

# Not "gatehouse": Chalice claims that logger for app.log and sets it to ERROR.
log = logging.getLogger("gatehouse.events")
# Loggers that, at DEBUG, write whole request parameters: password hashes,
# refresh token hashes, the signing key read from SSM.
NOISY = ("botocore", "boto3", "urllib3")


def configure() -> None:
    """One JSON object a line on stderr for Gatehouse's events; the AWS libraries at WARNING.

    Called by the entry points only (the component inside Lambda, whose runtime
    reads the function's output lines, and the local stack), never at import:
    an application that embeds Gatehouse keeps its own logging configuration.
    Quieting the AWS libraries keeps secrets out of the log even if the
    function's log level is turned up.  Idempotent.
    """
    if not any(getattr(h, "_gatehouse", False) for h in log.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._gatehouse = True  # type: ignore[attr-defined]
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    quiet_aws_libraries()


def quiet_aws_libraries() -> None:
    """The AWS libraries at WARNING, whatever level the function's logging is turned up to."""
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)


def event(kind: str, *, metrics: Mapping[str, int] | None = None, **fields: str | int | None) -> None:
    """Log one line; with ``metrics`` (CamelCase names, counts) it is an EMF record as well."""
    record: dict[str, object] = {"event": kind, **{k: v for k, v in fields.items() if v is not None}}
    if metrics:
        record.update(emf(metrics))
    log.info(json.dumps(record, separators=(",", ":"), sort_keys=True))


def emf(metrics: Mapping[str, int], now: float | None = None) -> dict[str, object]:
    """The fields that make a JSON log line an Embedded Metric Format record of ``metrics``."""
    return {
        "_aws": {
            "Timestamp": int((time.time() if now is None else now) * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [["FunctionName"]],
                    "Metrics": [{"Name": name, "Unit": "Count"} for name in sorted(metrics)],
                }
            ],
        },
        "FunctionName": FUNCTION,
        **metrics,
    }
