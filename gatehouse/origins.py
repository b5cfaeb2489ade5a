"""Origin lists: what ``GATEHOUSE_CORS_ORIGINS`` may hold, parsed as a browser writes ``Origin``.

Pure string handling with no web framework, so that the settings can
validate the list without importing the web edge (:mod:`gatehouse.web.cors`
uses the parsed list to answer browsers).
"""

from __future__ import annotations

import re

ANY_ORIGIN = "*"
# Web pages (http/https) and the WebView origins of mobile apps: Capacitor
# and Ionic on iOS (capacitor://, ionic://), Electron/Tauri style app://.
SCHEMES = ("http", "https", "capacitor", "ionic", "app")
# The development default: local dev servers on any port (which covers the
# Android WebViews of Capacitor and Cordova, https://localhost and
# http://localhost), and the iOS WebViews of Capacitor, Ionic and Cordova:
# every app origin docs/CLIENTS.md tells users to configure.  Port wildcards
# exist only here; a configured list names exact origins.
DEV_ORIGINS = (
    "http://localhost:*",
    "https://localhost:*",
    "http://127.0.0.1:*",
    "https://127.0.0.1:*",
    "capacitor://localhost",
    "ionic://localhost",
    "app://localhost",
)

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_ORIGIN = re.compile(
    rf"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://"
    rf"(?P<host>{_LABEL}(?:\.{_LABEL})*|\[[0-9A-Fa-f:.]+\])"
    rf"(?::(?P<port>[0-9]{{1,5}}|\*))?"
)
_DEFAULT_PORTS = {"http": "80", "https": "443"}


class OriginListError(ValueError):
    """An origin list that cannot be used; the message says what is wrong, not which variable.

    Not a :class:`~gatehouse.errors.GatehouseError`: it never leaves the settings, which
    turn it into a ``ConfigError`` naming the variable.
    """


def normalize_origin(entry: str, *, port_wildcard: bool = False) -> str:
    """``entry`` as a browser writes it in ``Origin``: lower case, no default port.

    Raises :class:`OriginListError` for anything that is not
    ``scheme://host[:port]`` with one of :data:`SCHEMES` (a path, even a
    trailing slash, a query or user info never appear in an ``Origin``).
    """
    match = _ORIGIN.fullmatch(entry)
    if match is None:
        raise OriginListError(
            f"{entry!r} is not an origin: write scheme://host or scheme://host:port, "
            "with no path and no trailing slash"
        )
    scheme, host, port = match["scheme"].lower(), match["host"].lower(), match["port"]
    if scheme not in SCHEMES:
        raise OriginListError(f"{entry!r} has the scheme {scheme!r}; allowed: {', '.join(SCHEMES)}")
    if port == "*" and not port_wildcard:
        raise OriginListError(f"{entry!r}: a port wildcard is not allowed, list each origin exactly")
    if port is not None and port != "*":
        if not 1 <= int(port) <= 65535:
            raise OriginListError(f"{entry!r} has the port {port}, which does not exist")
        # A browser leaves out the scheme's default port and leading zeros.
        port = None if _DEFAULT_PORTS.get(scheme) == str(int(port)) else str(int(port))
    return f"{scheme}://{host}" + (f":{port}" if port else "")


def parse_origins(raw: str) -> tuple[str, ...]:
    """A comma-separated list of exact origins, or ``*`` alone; blank means none."""
    if not raw.strip():
        return ()
    entries = [entry.strip() for entry in raw.split(",")]
    if any(not entry for entry in entries):
        raise OriginListError("the list has an empty entry (two commas, or a comma at an end)")
    if ANY_ORIGIN in entries:
        if len(entries) > 1:
            raise OriginListError("* allows every origin, so it must be the only entry")
        return (ANY_ORIGIN,)
    origins: list[str] = []
    for entry in entries:
        origin = normalize_origin(entry)
        if origin not in origins:
            origins.append(origin)
    return tuple(origins)
