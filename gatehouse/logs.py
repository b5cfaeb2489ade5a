"""One structured JSON line per request outcome.

Only fields chosen here are logged: never a body, a header, a token or a
password, so nothing secret can reach a log line by accident.
"""

from __future__ import annotations

import json
import logging

# Not "gatehouse": Chalice claims that logger for app.log and sets it to ERROR.
log = logging.getLogger("gatehouse.events")
if not log.handlers:
    # Lambda's runtime reads stdout/stderr lines; one JSON object a line.
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(_handler)
    log.setLevel(logging.INFO)
    log.propagate = False

# At DEBUG, botocore logs whole request parameters: password hashes, refresh
# token hashes, the signing key read from SSM.  Never let that through, even
# if the function's log level is turned up.
for _noisy in ("botocore", "boto3", "urllib3"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)


def event(kind: str, **fields: str | int | None) -> None:
    record = {"event": kind, **{k: v for k, v in fields.items() if v is not None}}
    log.info(json.dumps(record, separators=(",", ":"), sort_keys=True))
