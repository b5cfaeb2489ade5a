"""The OpenAPI description of the API, served at ``GET /openapi.json``.

``openapi.yaml`` at the repository root is the source.  ``make openapi``
(``python -m gatehouse.dev.openapi``) writes it next to this module as
``openapi.json``, so that ``chalice package`` ships it and the Lambda needs no
YAML parser; tests/test_openapi.py fails when the two differ.  The file is
read on the first request, never at import, so a cold start never pays for it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

PATH = Path(__file__).resolve().parent / "openapi.json"
HEADERS = {"Content-Type": "application/json", "Cache-Control": "public, max-age=300"}


@cache
def description_text() -> str:
    """The JSON document, as stored (it is served as it is, never re-encoded)."""
    return PATH.read_text(encoding="utf-8")
