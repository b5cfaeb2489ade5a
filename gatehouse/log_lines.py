"""One structured JSON line per request outcome, some of them CloudWatch metrics too.

Only fields chosen by the caller are written: never a body, a header, a
token or a password, so nothing secret can reach a log line by accident.

A line given ``metrics`` is also a CloudWatch Embedded Metric Format record
(hand-written JSON, no library): CloudWatch Logs turns it into metric data
points in the ``Gatehouse`` namespace, dimension ``FunctionName``, with no
API call from the function and no cost but a few more bytes of the same
line.  The deploy template's alarms watch these metrics (docs/OPERATIONS.md).

This module makes the line and nothing else, without the ``logging``
module: the deployed authorizer function writes its line with
:func:`to_stdout` (Lambda sends a function's standard output to CloudWatch
Logs), so its cold start never imports ``logging``; everything else logs
through :func:`gatehouse.logs.event`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from functools import cache

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

# Made once: json.dumps with any option builds a new encoder on every call.
_encode = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode


def line(kind: str, *, metrics: Mapping[str, int] | None = None, **fields: str | int | None) -> str:
    """One line; with ``metrics`` (CamelCase names, counts) it is an EMF record as well.

    The keys are sorted, so the same record is always the same line.  The EMF
    members (the CamelCase metrics, ``FunctionName`` and ``_aws``) sort before
    every field (fields are lower-case, and ``_`` sorts after capitals and
    before letters), so they are spliced in front of the encoded fields as
    text made once per metric set: the authorizer writes a line on every
    call, and encoding the nested ``_aws`` member each time cost more than
    the rest of the line.
    """
    record = {"event": kind, **{k: v for k, v in fields.items() if v is not None}}
    if not metrics:
        return _encode(record)
    if min(record) <= "_aws":
        raise ValueError("log fields are lower-case names: others would mix with the EMF members")
    head = _emf_head(tuple(sorted(metrics.items())))
    return f"{head}{int(time.time() * 1000)}}},{_encode(record)[1:]}"


def to_stdout(kind: str, *, metrics: Mapping[str, int] | None = None, **fields: str | int | None) -> None:
    """Write :func:`line` to standard output, flushed: a frozen or ended container loses nothing."""
    print(line(kind, metrics=metrics, **fields), flush=True)


def emf(metrics: Mapping[str, int], now: float | None = None) -> dict[str, object]:
    """The fields that make a JSON log line an Embedded Metric Format record of ``metrics``."""
    return {
        "_aws": {
            "Timestamp": int((time.time() if now is None else now) * 1000),
            "CloudWatchMetrics": _directive(tuple(sorted(metrics))),
        },
        "FunctionName": FUNCTION,
        **metrics,
    }


@cache
def _emf_head(counts: tuple[tuple[str, int], ...]) -> str:
    """The line's text up to the EMF timestamp's value (keys sorted, as :func:`line` sorts them):
    ``{"<Metric>":1,"FunctionName":"...","_aws":{"CloudWatchMetrics":[...],"Timestamp":``."""
    members = _encode(emf(dict(counts), now=0))
    # "Timestamp" sorts last in "_aws", and "_aws" after the CamelCase members.
    if not members.endswith('"Timestamp":0}}'):
        raise AssertionError("the EMF members must end with their timestamp")
    return members[: -len("0}}")]


@cache
def _directive(names: tuple[str, ...]) -> list[dict[str, object]]:
    # The same few metric sets on every line: built once each (never changed by a caller).
    return [
        {
            "Namespace": NAMESPACE,
            "Dimensions": [["FunctionName"]],
            "Metrics": [{"Name": name, "Unit": "Count"} for name in names],
        }
    ]
