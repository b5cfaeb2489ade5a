"""Write ``gatehouse/storage/botocore_data/endpoints.json``: botocore's endpoint data, DynamoDB's only.

Usage: ``.venv/bin/python tools/dynamodb_endpoints.py`` (from the project root, with the pinned
botocore installed).

The authorizer function's botocore session talks to DynamoDB alone
(:func:`gatehouse.storage.aws.dynamodb_only_client`).  Creating its client
parses botocore's ``endpoints.json``, 1.25 MB describing every service, of
which it reads DynamoDB's entries only: about a tenth of the function's cold
start with the session check on.  This keeps every partition as botocore
describes it and, of the services, DynamoDB alone, so the session reads a
file a hundred times smaller with the same answers for DynamoDB.
``tests/gatehouse/storage/test_dynamodb_endpoints.py`` fails when the file no
longer equals what this writes from the installed botocore.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

SERVICE = "dynamodb"
TARGET = Path(__file__).resolve().parent.parent / "gatehouse" / "storage" / "botocore_data" / "endpoints.json"


def trimmed(endpoints: dict[str, Any], service: str = SERVICE) -> dict[str, Any]:
    """``endpoints`` with every partition's services reduced to ``service``."""
    partitions = [
        {**partition, "services": {k: v for k, v in partition["services"].items() if k == service}}
        for partition in endpoints["partitions"]
    ]
    return {**endpoints, "partitions": partitions}


def text_of(endpoints: dict[str, Any]) -> str:
    return json.dumps(trimmed(endpoints), indent=1, sort_keys=True) + "\n"


def botocore_endpoints() -> dict[str, Any]:
    from botocore.loaders import create_loader

    data: dict[str, Any] = create_loader().load_data("endpoints")
    return data


def main() -> int:
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(text_of(botocore_endpoints()))
    print(f"wrote {TARGET.relative_to(Path.cwd()) if TARGET.is_relative_to(Path.cwd()) else TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
