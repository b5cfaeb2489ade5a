"""CORS for browser clients served from another origin.

Two halves, because Chalice covers only one:

* ``app.api.cors``: every route gets a :class:`CORSConfig`, so API Gateway
  (and ``chalice local``) answer preflight ``OPTIONS`` requests and Chalice
  adds the headers to the responses views return;
* a middleware that adds the same headers to *every* response, because the
  error responses Gatehouse renders in its own middleware are built after
  Chalice has added them, and a browser hides a cross-origin response
  without them: a page could not read ``invalid_grant`` or ``Retry-After``.

401/403 answers API Gateway makes itself (the authorizer said no) come from
its gateway responses (deploy/resources.json) and, locally, from
``gatehouse_dev.gateway``.
"""

from __future__ import annotations

from collections.abc import Callable

from chalice.app import Chalice, CORSConfig, Request, Response

# What a page needs to read: the bearer challenge (to know when to refresh)
# and the back-off of a 429 / 503.
EXPOSED_HEADERS = ("WWW-Authenticate", "Retry-After")
# Browsers may cache a preflight this long (Chromium caps it at 2 hours).
PREFLIGHT_MAX_AGE = 600


def route_config(origin: str) -> CORSConfig:
    # Chalice always allows Content-Type and Authorization (among others); no
    # credentials: Gatehouse uses bearer tokens, never cookies.
    return CORSConfig(allow_origin=origin, expose_headers=list(EXPOSED_HEADERS), max_age=PREFLIGHT_MAX_AGE)


def install(app: Chalice, origin: str | None) -> None:
    """Turn CORS on for every route of ``app`` defined after this call (nothing if ``origin`` is None).

    Call it before registering any other HTTP middleware: middleware
    registered first runs outermost, and this one must see the final
    response, error responses included.
    """
    if origin is None:
        return
    config = route_config(origin)
    app.api.cors = config
    app.register_middleware(headers_middleware(config), "http")


def headers_middleware(config: CORSConfig) -> Callable[[Request, Callable[[Request], Response]], Response]:
    headers = config.get_access_control_headers()

    def add_cors_headers(request: Request, get_response: Callable[[Request], Response]) -> Response:
        response = get_response(request)
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response

    return add_cors_headers
