"""CORS: which origins may read the API's answers, and the headers that say so.

A browser hides a cross-origin response from the page unless the response
names the page's origin in ``Access-Control-Allow-Origin``; before a request
with a bearer token or a JSON body it first asks with a preflight ``OPTIONS``.
Gatehouse answers both from one allowlist of exact origins
(``GATEHOUSE_CORS_ORIGINS``): a listed origin is reflected back with
``Vary: Origin`` (so a cache never serves one origin's answer to another),
any other origin gets no CORS header at all.  No credentials are ever
allowed: Gatehouse uses bearer tokens the page sends itself, never cookies.

The functions here are pure (strings in, headers out), so that every party
that answers a browser computes the same thing:

* :func:`middleware`: the Lambda's answers, errors included (it runs
  outermost, so it sees Gatehouse's rendered errors and Chalice's own
  404/405/415/500 alike);
* ``gatehouse.dev.gateway``: the local gateway's 401/403/404 and its
  preflights (deployed, API Gateway answers those itself);
* the deployment template's generator: the methods each path allows.

Chalice's own ``CORSConfig`` is not used: it allows one static origin, and
``chalice package`` would bake it into generated ``OPTIONS`` methods.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from typing import Any

from chalice.app import Chalice, Request, Response

from gatehouse.origins import ANY_ORIGIN

# What a page needs to read: the bearer challenge (to know when to refresh)
# and the back-off of a 429 / 503.
EXPOSED_HEADERS = ("WWW-Authenticate", "Retry-After")
# The only request headers a client of Gatehouse sends beyond the safelisted ones.
ALLOWED_HEADERS = ("Authorization", "Content-Type")
# Browsers may cache a preflight this long (Chromium caps it at 2 hours).
PREFLIGHT_MAX_AGE = 600

Headers = dict[str, str]
Middleware = Callable[[Request, Callable[[Request], Response]], Response]


def allowed_origin(origin: str | None, allowed: Sequence[str]) -> str | None:
    """The value of ``Access-Control-Allow-Origin`` for a request from ``origin``, or None.

    ``allowed`` holds exact origins, ``*``, or (the development default
    only) ``scheme://host:*`` for that host on any port or none.
    """
    if ANY_ORIGIN in allowed:
        return ANY_ORIGIN
    if not origin:
        return None
    for entry in allowed:
        if entry == origin:
            return origin
        if entry.endswith(":*"):
            base = entry[:-2]
            port = origin[len(base) + 1 :] if origin.startswith(base + ":") else None
            if origin == base or (port is not None and port.isascii() and port.isdigit() and len(port) <= 5):
                return origin
    return None


def varies(allowed: Sequence[str]) -> bool:
    """Whether the answers depend on the request's ``Origin`` (then they carry ``Vary: Origin``)."""
    return bool(allowed) and ANY_ORIGIN not in allowed


def response_headers(origin: str | None, allowed: Sequence[str]) -> Headers:
    """The CORS headers of an actual (non-preflight) response to a request from ``origin``."""
    headers: Headers = {}
    if varies(allowed):
        headers["Vary"] = "Origin"
    value = allowed_origin(origin, allowed)
    if value is not None:
        headers["Access-Control-Allow-Origin"] = value
        headers["Access-Control-Expose-Headers"] = ", ".join(EXPOSED_HEADERS)
    return headers


def allow_methods(methods: Iterable[str]) -> str:
    """``Access-Control-Allow-Methods`` for a path serving ``methods`` (OPTIONS always included)."""
    return ", ".join(sorted({m.upper() for m in methods} | {"OPTIONS"}))


def path_methods(routes: Mapping[str, Mapping[str, object]], path: str) -> tuple[str, ...]:
    """The methods a route path (``/notes/{note_id}``) serves, OPTIONS included."""
    return tuple(allow_methods(routes.get(path, {})).split(", "))


def preflight_headers(origin: str | None, allowed: Sequence[str], methods: Iterable[str]) -> Headers:
    """The headers of the answer to a preflight from ``origin`` on a path serving ``methods``.

    An origin not allowed gets no CORS header, so the browser refuses the
    request it asked about; ``Vary: Origin`` still keeps caches apart.
    """
    headers: Headers = {"Vary": "Origin"} if varies(allowed) else {}
    value = allowed_origin(origin, allowed)
    if value is None:
        return headers
    headers.update(
        {
            "Access-Control-Allow-Origin": value,
            "Access-Control-Allow-Methods": allow_methods(methods),
            "Access-Control-Allow-Headers": ", ".join(ALLOWED_HEADERS),
            "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE),
        }
    )
    return headers


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """A request header by name, whatever its case (API Gateway and chalice local differ)."""
    if not headers:
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def add_headers(target: MutableMapping[str, Any], cors: Headers) -> None:
    """Put ``cors`` on a response's headers: those a view set itself win; ``Vary`` is merged."""
    for name, value in cors.items():
        if name == "Vary":
            _add_vary(target, value)
        else:
            target.setdefault(name, value)


def _add_vary(headers: MutableMapping[str, Any], value: str) -> None:
    key = next((k for k in headers if k.lower() == "vary"), None)
    if key is None:
        headers["Vary"] = value
        return
    present = str(headers[key])
    if value.lower() not in {part.strip().lower() for part in present.split(",")}:
        headers[key] = f"{present}, {value}"


def middleware(allowlist: Callable[[], Sequence[str]]) -> Middleware:
    """HTTP middleware adding the CORS headers to every response, errors included.

    ``allowlist`` is asked on every request, so the list is the one in the
    settings of the running function, not the one seen at import.
    """

    def add_cors_headers(request: Request, get_response: Callable[[Request], Response]) -> Response:
        response = get_response(request)
        add_headers(response.headers, response_headers(header(request.headers, "Origin"), allowlist()))
        return response

    return add_cors_headers


def install(app: Chalice, allowlist: Callable[[], Sequence[str]]) -> None:
    """Add the CORS middleware to ``app``.

    Call it before registering any other HTTP middleware: middleware
    registered first runs outermost, and this one must see the final
    response, error responses included.
    """
    app.register_middleware(middleware(allowlist), "http")
