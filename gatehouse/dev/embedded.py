"""The embedded AWS behind ``chalice local``, started the way ``make run`` starts it.

Chalice's only hook is importing ``app.py``, after it has applied the stage's
environment variables.  The dev stage sets ``GATEHOUSE_EMBEDDED_AWS=true``, and
``Gatehouse(app)`` then calls :func:`start_if_wanted` (never inside Lambda, which does not
ship this package).  That only installs the gateway parity and a local server
class: the moto server starts when ``chalice local`` (or ``make run``) creates
its HTTP server, so ``chalice package`` and ``chalice deploy``, which import
app.py too, never start it, nor get pointed at it.

A run with ``AWS_ENDPOINT_URL`` already set keeps that endpoint (your own moto
or DynamoDB Local) instead; ``make run`` always embeds.
"""

from __future__ import annotations

import atexit
import errno
import os
import sys
import threading
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any, NoReturn

from chalice import local
from chalice.app import Chalice
from chalice.config import Config

WANT_VARIABLE = "GATEHOUSE_EMBEDDED_AWS"


class StartError(SystemExit):
    """The local stack cannot start for a reason the developer can fix: one line, no traceback.

    A ``SystemExit``, so that ``chalice local`` (which prints a traceback for any
    ``Exception``) ends with just this line and status 1.
    """

    def __init__(self, message: str) -> None:
        super().__init__(f"error: {message}")
        self.message = message


@dataclass
class Embedded:
    aws: Any  # gatehouse.dev.stack.LocalAws
    endpoint: str

    def stop(self) -> None:
        self.aws.stop()


_lock = threading.Lock()
_env: MutableMapping[str, str] = os.environ
_always = False
_running: Embedded | None = None


def wanted(env: MutableMapping[str, str]) -> bool:
    return env.get(WANT_VARIABLE, "").strip().lower() == "true" and "AWS_LAMBDA_FUNCTION_NAME" not in env


def start_if_wanted(env: MutableMapping[str, str]) -> bool:
    """app.py's hook: prepare the embedded stack for the local server if the stage asks for it."""
    if not wanted(env):
        return False
    install(env)
    return True


def install(env: MutableMapping[str, str] = os.environ, *, always: bool = False) -> None:
    """Gateway parity now; the embedded AWS when the local server is created (idempotent).

    ``always``: embed even when ``AWS_ENDPOINT_URL`` is set (``make run``).
    """
    global _env, _always
    from gatehouse import logs
    from gatehouse.dev import gateway

    logs.configure()  # the local stack is an entry point: its event lines go to the terminal
    gateway.install()
    with _lock:
        _env = env
        _always = _always or always
    local.LocalDevServer = EmbeddingLocalDevServer  # type: ignore[misc]


def ensure_started(host: str, port: int, app: Chalice | None = None) -> Embedded | None:
    """Start the embedded AWS once per process; None when an endpoint of the user's is kept.

    ``app``: the app being served, whose declared tables (``gate.table(...)``) are created.
    """
    global _running
    with _lock:
        if _running is not None:
            return _running
        env = _env
        if env.get("AWS_ENDPOINT_URL") and not _always:
            print(f"Using AWS at {env['AWS_ENDPOINT_URL']} (AWS_ENDPOINT_URL is set).", flush=True)
            return None
        _running = _start(env, f"http://{host}:{port}", app)
        return _running


def stop() -> None:
    """Stop the embedded AWS and forget its state file (also run at exit)."""
    global _running
    from gatehouse.admin import localstate

    with _lock:
        running, _running = _running, None
    if running is not None:
        localstate.forget(os.getpid(), _env)
        running.stop()


def _start(env: MutableMapping[str, str], api: str, app: Chalice | None) -> Embedded:
    import logging

    from gatehouse.admin import localstate
    from gatehouse.component import declared_tables
    from gatehouse.dev import stack
    from gatehouse.errors import GatehouseError

    # moto's server logs every request it serves; only its errors matter here.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    try:
        aws, users = stack.start(env, app_tables=declared_tables(app) if app is not None else ())
    except stack.SeedError as refused:
        raise StartError(str(refused)) from None
    except GatehouseError as misconfigured:  # a GATEHOUSE_* value the settings refuse
        raise StartError(misconfigured.message) from None
    running = Embedded(aws, env["AWS_ENDPOINT_URL"])
    atexit.register(stop)
    described = localstate.LocalStack(
        pid=os.getpid(),
        endpoint=running.endpoint,
        region=stack.REGION,
        api=api,
        settings=localstate.stack_settings(env),
    )
    localstate.record(described, env)
    print(f"Embedded AWS (moto) on {running.endpoint}", flush=True)
    for user in users:
        print(f"Seeded user {user.username!r}, password: {user.shown()}", flush=True)
    return running


def _fail(message: str) -> NoReturn:
    if threading.current_thread() is threading.main_thread():
        raise StartError(message)
    # `chalice local` with its reloader builds the server in a thread, where a
    # SystemExit would vanish and leave a server that never answers.
    print(f"error: {message}", file=sys.stderr, flush=True)
    os._exit(1)


class EmbeddingLocalDevServer(local.LocalDevServer):
    """Chalice's local server, with the embedded AWS started once it holds its port."""

    def __init__(
        self,
        app_object: Chalice,
        config: Config,
        host: str,
        port: int,
        handler_cls: local.HandlerCls = local.ChaliceRequestHandler,
        server_cls: local.ServerCls = local.ThreadedHTTPServer,
    ) -> None:
        try:
            super().__init__(app_object, config, host, port, handler_cls, server_cls)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                _fail(f"port {port} is in use: stop what holds it, or use another (make run PORT=8001).")
            if error.errno == errno.EADDRNOTAVAIL:
                _fail(f"cannot listen on {host}: it is not an address of this machine.")
            raise
        try:
            ensure_started(host, port, app_object)
        except StartError as refused:
            self.server.server_close()
            _fail(refused.message)
