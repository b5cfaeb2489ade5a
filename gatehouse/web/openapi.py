"""The OpenAPI description of the API, served at ``GET /openapi.json``.

``openapi.yaml`` at the repository root is the source.  ``make openapi``
(``python -m gatehouse.dev.openapi``) writes it next to this module as
``openapi.json``, so that ``chalice package`` ships it and the Lambda needs no
YAML parser; tests/test_openapi.py fails when the two differ.  The file is
read on the first request, never at import, so a cold start never pays for it.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

PATH = Path(__file__).resolve().parent / "openapi.json"
HEADERS = {"Content-Type": "application/json", "Cache-Control": "public, max-age=300"}


@cache
def description_text(route_paths: frozenset[str] | None = None) -> str:
    """The JSON document; with ``route_paths``, describing only those of its paths.

    The stored document describes Gatehouse's routes and this repository's
    example app; an app that adopts Gatehouse serves the description of the
    routes it has, never the example's.  Stored as it is when every path is
    served (this repository), re-encoded once per set of paths otherwise.
    """
    text = PATH.read_text(encoding="utf-8")
    if route_paths is None:
        return text
    document = json.loads(text)
    paths = document.get("paths", {})
    if set(paths) <= route_paths:
        return text
    document["paths"] = {path: item for path, item in paths.items() if path in route_paths}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))
