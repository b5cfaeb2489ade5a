"""Gatehouse's event lines through the ``logging`` module: one JSON object a line.

What a line holds, and which lines are CloudWatch metrics (Embedded Metric
Format), is :mod:`gatehouse.log_lines`' business; its names are re-exported
here.  Only fields chosen by the caller are logged: never a body, a header,
a token or a password, so nothing secret can reach a log line by accident.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from gatehouse.log_lines import AUTHORIZER_ALLOW as AUTHORIZER_ALLOW
from gatehouse.log_lines import AUTHORIZER_DENY as AUTHORIZER_DENY
from gatehouse.log_lines import AUTHORIZER_ERRORS as AUTHORIZER_ERRORS
from gatehouse.log_lines import FUNCTION as FUNCTION
from gatehouse.log_lines import LOCKOUTS as LOCKOUTS
from gatehouse.log_lines import LOGINS_FAILED as LOGINS_FAILED
from gatehouse.log_lines import LOGINS_SUCCEEDED as LOGINS_SUCCEEDED
from gatehouse.log_lines import MAILS_FAILED as MAILS_FAILED
from gatehouse.log_lines import MAILS_SENT as MAILS_SENT
from gatehouse.log_lines import MAILS_SUPPRESSED as MAILS_SUPPRESSED
from gatehouse.log_lines import NAMESPACE as NAMESPACE
from gatehouse.log_lines import REFRESH_REUSE as REFRESH_REUSE
from gatehouse.log_lines import emf as emf
from gatehouse.log_lines import line

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
    """Log one line (:func:`gatehouse.log_lines.line`); with ``metrics`` it is an EMF record as well."""
    log.info(line(kind, metrics=metrics, **fields))
