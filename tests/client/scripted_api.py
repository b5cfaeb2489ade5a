"""A scripted HTTP server on 127.0.0.1 that stands in for a Gatehouse API in tests of the Python client.

Each test queues the answers the contract gives (``api.answer("POST",
"/auth/token", Answer(200, {...}))``) and then reads what the client really
sent over the wire (``api.seen``).  A request nobody scripted is answered 500
and recorded in ``api.unexpected``, which the fixture checks at the end, so a
client that calls the wrong route fails its test.
"""

from __future__ import annotations

import json
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Seen:
    """One request as it arrived."""

    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        assert self.headers.get("content-type") == "application/json", self.headers
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        assert self.headers.get("content-type") == "application/x-www-form-urlencoded", self.headers
        pairs = urllib.parse.parse_qsl(self.body.decode(), keep_blank_values=True, strict_parsing=True)
        assert len({k for k, _ in pairs}) == len(pairs), "a field sent twice"
        return dict(pairs)


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any = None  # sent as JSON unless None (then no body, as for 204)
    headers: dict[str, str] = field(default_factory=dict)


def error(status: int, code: str, message: str, **headers: str) -> Answer:
    """An error answer in the contract's shape."""
    return Answer(status, {"error": code, "message": message}, headers)


def grant(n: int, device_token: str | None = None, expires_in: int = 900) -> Answer:
    """A token endpoint answer: access ``at-n``, refresh ``rt-n``, and a device token if given."""
    body: dict[str, Any] = {
        "access_token": f"at-{n}",
        "token_type": "Bearer",
        "expires_in": expires_in,
        "refresh_token": f"rt-{n}",
    }
    if device_token is not None:
        body["device_token"] = device_token
    return Answer(200, body)


INVALID_TOKEN = Answer(
    401,
    {"error": "invalid_token", "message": "The access token is not valid."},
    {"WWW-Authenticate": 'Bearer error="invalid_token"'},
)


class ScriptedApi:
    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.unexpected: list[Seen] = []
        self._script: dict[tuple[str, str], list[Answer]] = {}
        self._lock = threading.Lock()
        self.base_url = ""

    def answer(self, method: str, path: str, *answers: Answer) -> None:
        """Queue answers for ``method path``, used in order, each once."""
        with self._lock:
            self._script.setdefault((method, path), []).extend(answers)

    def requests_to(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.seen if (s.method, s.path) == (method, path)]

    def pending(self) -> list[tuple[str, str]]:
        with self._lock:
            return [key for key, answers in self._script.items() for _ in answers]

    def _next(self, seen: Seen) -> Answer:
        with self._lock:
            self.seen.append(seen)
            queued = self._script.get((seen.method, seen.path))
            if queued:
                return queued.pop(0)
            self.unexpected.append(seen)
        return error(500, "unscripted", f"no answer scripted for {seen.method} {seen.path}")


def _handler(api: ScriptedApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            seen = Seen(
                self.command,
                self.path,
                {k.lower(): v for k, v in self.headers.items()},
                self.rfile.read(length),
            )
            answer = api._next(seen)
            raw = b"" if answer.body is None else json.dumps(answer.body).encode()
            self.send_response(answer.status)
            if answer.body is not None:
                self.send_header("Content-Type", "application/json")
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def do_PUT(self) -> None:
            self._serve()

        def do_DELETE(self) -> None:
            self._serve()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet test output

    return Handler


@contextmanager
def scripted_api() -> Iterator[ScriptedApi]:
    api = ScriptedApi()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    api.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="scripted-api", daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
