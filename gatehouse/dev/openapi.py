"""``make openapi``: write chalicelib/openapi.json from openapi.yaml.

The YAML file is what people edit; the JSON copy is what the Lambda serves at
``GET /openapi.json`` (see chalicelib/openapi.py).  ``--check`` writes nothing
and exits 1 when the copy is stale.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from gatehouse.web.openapi import PATH as TARGET

SOURCE_NAME = "openapi.yaml"  # at the root of Gatehouse's own repository


def load(source: Path | None = None) -> Any:
    """The description as plain JSON data (YAML's extra types would fail ``render``)."""
    if source is None:
        from gatehouse.project import find_or_here

        source = find_or_here() / SOURCE_NAME
    return yaml.safe_load(source.read_text(encoding="utf-8"))


def render(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gatehouse-openapi", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only check that the JSON copy is up to date")
    args = parser.parse_args(argv)
    expected = render(load())
    current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else None
    if args.check:
        if current != expected:
            print(f"gatehouse/web/{TARGET.name} is stale: run `make openapi`.", file=sys.stderr)
            return 1
        return 0
    if current != expected:
        TARGET.write_text(expected, encoding="utf-8")
        print(f"wrote gatehouse/web/{TARGET.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
