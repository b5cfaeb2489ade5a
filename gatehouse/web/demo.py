"""The dev demo page: ``GET /`` and its few static files, read from disk per request.

Served only when ``GATEHOUSE_DEMO_PAGE`` is on (the ``dev`` stage); 404
otherwise, exactly like a route that does not exist.  The files live in
``demo_assets/`` next to this module so that ``chalice package`` ships them
(about 42 KB); nothing is read at import, so a cold start never pays for them.
``gatehouse.js`` there is a copy of ``client/gatehouse.js`` (a test keeps them equal).
"""

from __future__ import annotations

from pathlib import Path

from chalice.app import Response

from gatehouse.errors import NotFound

ASSETS = Path(__file__).resolve().parent / "demo_assets"
INDEX = "index.html"
# The only files served, with their types: a fixed list, never a path from the request.
TYPES = {
    INDEX: "text/html; charset=utf-8",
    "gatehouse.js": "text/javascript; charset=utf-8",
    "demo.js": "text/javascript; charset=utf-8",
    "demo.css": "text/css; charset=utf-8",
    # Linked from the page, so a browser never asks for /favicon.ico and logs a 404.
    "favicon.svg": "image/svg+xml; charset=utf-8",
}
# No inline script or style anywhere, so the page can forbid both: an XSS in
# a note's text would have nothing to run.  The API is the page's own origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def asset(enabled: bool, name: str) -> Response:
    content_type = TYPES.get(name)
    if not enabled or content_type is None:
        raise NotFound()
    headers: dict[str, str | list[str]] = {**HEADERS, "Content-Type": content_type}
    if name == INDEX:
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return Response(body=(ASSETS / name).read_text(encoding="utf-8"), status_code=200, headers=headers)
