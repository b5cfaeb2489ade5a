"""One structured JSON line per request outcome.

Only fields chosen here are logged: never a body, a header, a token or a
password, so nothing secret can reach a log line by accident.
"""

from __future__ import annotations

import json
import logging

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


def event(kind: str, **fields: str | int | None) -> None:
    record = {"event": kind, **{k: v for k, v in fields.items() if v is not None}}
    log.info(json.dumps(record, separators=(",", ":"), sort_keys=True))
