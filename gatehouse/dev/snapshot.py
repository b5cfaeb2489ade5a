"""The local stack's data kept across restarts: every DynamoDB item and SSM parameter, in one file.

moto keeps everything in memory, so without this each ``make run`` (and each
auto-reload of ``chalice local``, which restarts its worker on every file save)
would start from empty tables and a new signing key, ending every session of
the app being developed.  The stack saves a snapshot when it stops and loads
it when it starts.  It is read and written through the ordinary AWS APIs
(scan, batch write, SSM parameters), not by pickling moto's internals, so a
moto upgrade cannot make the file unreadable.

The file is written only at stop: ``chalice local`` restarts whenever a file
under the project changes, and the next worker starts after this one has
exited.  A stack killed without a chance to clean up (SIGKILL) loses what
changed since it started.  The file holds dev passwords' hashes and the dev
signing key, so it is private (0600) and its folder is git-ignored.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

FORMAT = "gatehouse-local-aws/1"
# Where the data of `make run` lives: this folder of the Chalice project (git-ignored).
DATA_FOLDER = ".gatehouse"
DATA_VARIABLE = "GATEHOUSE_DEV_DATA"  # another folder, or "off": nothing kept (throw-away test stacks)
OFF = "off"
FILE_NAME = "local-aws.json"
_BATCH = 25  # DynamoDB's limit for one BatchWriteItem


class SnapshotError(Exception):
    """A snapshot that cannot be loaded; the message says what to do.

    Not a :class:`~gatehouse.errors.GatehouseError`: the local stack refuses to start with it (as
    one line), before any request exists.
    """


def path_for(env: Mapping[str, str], project_dir: Path) -> Path | None:
    """The snapshot file of this stack; None when its data is not to be kept."""
    named = env.get(DATA_VARIABLE, "").strip()
    if named == OFF:
        return None
    folder = Path(named) if named else project_dir / DATA_FOLDER
    return folder / FILE_NAME


def _encode(value: Any) -> Any:
    """A typed DynamoDB value as JSON (binary as base64 under ``B64``)."""
    if isinstance(value, bytes | bytearray):
        return {"B64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"B64"}:
            return base64.b64decode(value["B64"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _scan(dynamodb: Any, table: str) -> Iterator[dict[str, Any]]:
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        yield from page.get("Items", [])


def capture(dynamodb: Any, ssm: Any) -> dict[str, Any]:
    """Every item of every table and every parameter, as a JSON-ready document."""
    tables: dict[str, list[Any]] = {}
    for page in dynamodb.get_paginator("list_tables").paginate():
        for name in page.get("TableNames", []):
            tables[name] = [_encode(item) for item in _scan(dynamodb, name)]
    parameters = []
    for page in ssm.get_paginator("describe_parameters").paginate():
        for described in page.get("Parameters", []):
            value = ssm.get_parameter(Name=described["Name"], WithDecryption=True)["Parameter"]["Value"]
            parameters.append({"name": described["Name"], "type": described["Type"], "value": value})
    return {"format": FORMAT, "tables": tables, "parameters": parameters}


def save(document: Mapping[str, Any], path: Path) -> None:
    """Write ``document`` whole or not at all (a reader never sees half a file), private to the user."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(document, out, separators=(",", ":"))
    partial.replace(path)


def load(path: Path) -> dict[str, Any] | None:
    """The saved document, None when there is none; :class:`SnapshotError` when it is unusable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise SnapshotError(
            f"cannot read {path}: {error.strerror}; `make run FRESH=1` starts empty."
        ) from None
    try:
        document = json.loads(text)
        ok = document.get("format") == FORMAT
    except (ValueError, AttributeError):
        ok = False
    if not ok:
        raise SnapshotError(f"{path} is not a saved local stack; `make run FRESH=1` starts empty.")
    return dict(document)


def restore(document: Mapping[str, Any], dynamodb: Any, ssm: Any) -> dict[str, int]:
    """Put the saved items into the tables that exist now and the parameters back; counts per table.

    A table the stack no longer has (renamed in the settings) is left out.
    """
    existing: set[str] = set()
    for page in dynamodb.get_paginator("list_tables").paginate():
        existing.update(page.get("TableNames", []))
    restored: dict[str, int] = {}
    for table, items in document.get("tables", {}).items():
        if table not in existing:
            continue
        decoded = [_decode(item) for item in items]
        for start in range(0, len(decoded), _BATCH):
            requests = [{"PutRequest": {"Item": item}} for item in decoded[start : start + _BATCH]]
            pending: dict[str, Any] = {table: requests}
            while pending:
                pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
        restored[table] = len(decoded)
    for parameter in document.get("parameters", []):
        ssm.put_parameter(
            Name=parameter["name"], Value=parameter["value"], Type=parameter["type"], Overwrite=True
        )
    return restored
