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

The embedded AWS listens on a stable address, the API's port plus one
(``make run`` takes another with ``AWS_PORT``), and keeps its data across
restarts and auto-reloads: a snapshot under ``.gatehouse/`` saved when the
stack stops and loaded when it starts (gatehouse.dev.snapshot).
"""

from __future__ import annotations

import atexit
import errno
import os
import signal
import sys
import threading
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

from chalice import local
from chalice.app import Chalice
from chalice.config import Config

WANT_VARIABLE = "GATEHOUSE_EMBEDDED_AWS"


class StartError(SystemExit):
    """The local stack cannot start for a reason the developer can fix: one line, no traceback.

    A ``SystemExit``, so that ``chalice local`` (which prints a traceback for any
    ``Exception``) ends with just this line and status 1.  Not a
    :class:`~gatehouse.errors.GatehouseError` for the same reason: it stops the
    process before any request exists.
    """

    def __init__(self, message: str) -> None:
        super().__init__(f"error: {message}")
        self.message = message


@dataclass
class Embedded:
    aws: Any  # gatehouse.dev.stack.LocalAws
    endpoint: str
    data: Path | None  # where its snapshot is saved at stop; None: not kept

    def stop(self) -> None:
        from gatehouse.dev import stack

        try:
            if self.data is not None:
                stack.save(self.aws, self.data)
        except Exception as error:  # the data is lost, the stop must still finish
            print(f"warning: the local data could not be saved to {self.data}: {error}", file=sys.stderr)
        finally:
            self.aws.stop()


@dataclass(frozen=True)
class Options:
    """How ``make run`` asks for the embedded AWS (``chalice local`` takes the defaults)."""

    aws_port: int | None = None  # None: the API's port plus one; 0: any free port
    fresh: bool = False  # forget the saved data and start empty


_lock = threading.Lock()
_env: MutableMapping[str, str] = os.environ
_always = False
_options = Options()
_running: Embedded | None = None


def stop_on_signal(_signum: int, _frame: FrameType | None) -> None:
    """SIGTERM (and Ctrl-C) unwind like Ctrl-C, once: further ones cannot interrupt the clean-up.

    ``make`` forwards the SIGTERM that ``kill -- -PGID`` also delivers directly,
    so it arrives twice; the second must not cut the snapshot or the state file short.
    """
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def stop_cleanly_on_signals() -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop_on_signal)
        signal.signal(signal.SIGINT, stop_on_signal)


def wanted(env: MutableMapping[str, str]) -> bool:
    return env.get(WANT_VARIABLE, "").strip().lower() == "true" and "AWS_LAMBDA_FUNCTION_NAME" not in env


def start_if_wanted(env: MutableMapping[str, str]) -> bool:
    """app.py's hook: prepare the embedded stack for the local server if the stage asks for it."""
    if not wanted(env):
        return False
    install(env)
    return True


def install(
    env: MutableMapping[str, str] = os.environ, *, always: bool = False, options: Options | None = None
) -> None:
    """Gateway parity now; the embedded AWS when the local server is created (idempotent).

    ``always``: embed even when ``AWS_ENDPOINT_URL`` is set (``make run``).
    """
    global _env, _always, _options
    from gatehouse import logs
    from gatehouse.dev import gateway

    logs.configure()  # the local stack is an entry point: its event lines go to the terminal
    gateway.install()
    with _lock:
        _env = env
        _always = _always or always
        _options = options or _options
    local.LocalDevServer = EmbeddingLocalDevServer  # type: ignore[misc]


def ensure_started(host: str, port: int, project_dir: Path, app: Chalice | None = None) -> Embedded | None:
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
        _running = _start(env, host, port, project_dir, app)
        return _running


def stop() -> None:
    """Save the data, stop the embedded AWS and forget its state file (also run at exit)."""
    global _running
    from gatehouse.admin import localstate

    with _lock:
        running, _running = _running, None
    if running is not None:
        localstate.forget(os.getpid(), _env)
        running.stop()


AWS_PORT_VARIABLE = "AWS_PORT"


def aws_port_for(api_port: int, options: Options, env: MutableMapping[str, str]) -> int:
    """The embedded AWS's port: as asked (``AWS_PORT``; 0 is any free port), else the API's plus one.

    Stable, so that a tool or a note can keep it; the API's plus one so that two
    checkouts on two ports never collide.
    """
    if options.aws_port is not None:
        return options.aws_port
    asked = env.get(AWS_PORT_VARIABLE, "").strip()
    if asked:
        if not asked.isdigit() or int(asked) > 65535:
            raise StartError(
                f"{AWS_PORT_VARIABLE} must be a port number (0 for any free one), got {asked!r}."
            )
        return int(asked)
    return api_port + 1 if api_port < 65535 else 0


def _shown(path: Path, project_dir: Path) -> str:
    try:
        return str(path.relative_to(project_dir))
    except ValueError:
        return str(path)


def _start(
    env: MutableMapping[str, str], host: str, port: int, project_dir: Path, app: Chalice | None
) -> Embedded:
    import logging

    from gatehouse.admin import localstate
    from gatehouse.component import declared_tables
    from gatehouse.dev import snapshot, stack
    from gatehouse.errors import GatehouseError

    api = f"http://{host}:{port}"
    # moto's server logs every request it serves; only its errors matter here.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    data = snapshot.path_for(env, project_dir)
    try:
        if _options.fresh and data is not None:
            data.unlink(missing_ok=True)
        saved = snapshot.load(data) if data is not None else None
        tables = declared_tables(app) if app is not None else ()
        aws, users = stack.start(env, aws_port_for(port, _options, env), saved, app_tables=tables)
    except (snapshot.SnapshotError, stack.PortInUse) as refused:
        raise StartError(str(refused)) from None
    except stack.SeedError as refused:
        raise StartError(str(refused)) from None
    except GatehouseError as misconfigured:  # a GATEHOUSE_* value the settings refuse
        raise StartError(misconfigured.message) from None
    running = Embedded(aws, env["AWS_ENDPOINT_URL"], data)
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
    if saved is not None and data is not None:
        print(
            f"Data of the last run loaded from {_shown(data, project_dir)} (make run FRESH=1 starts empty)",
            flush=True,
        )
    for user in users:
        print(user.line(), flush=True)
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
                _fail(f"port {port} is in use: stop what holds it, or use another (make run PORT=9000).")
            if error.errno == errno.EADDRNOTAVAIL:
                _fail(f"cannot listen on {host}: it is not an address of this machine.")
            raise
        try:
            ensure_started(host, port, Path(config.project_dir), app_object)
        except StartError as refused:
            self.server.server_close()
            _fail(refused.message)
        # `chalice local --no-autoreload` serves from this thread: SIGTERM then saves the data
        # too.  Its auto-reloading worker builds the server in another thread, where no signal
        # handler can be set: it saves on Ctrl-C and on every reload.  Set here, not when
        # app.py is imported, so that importing the app never changes a process's signals.
        stop_cleanly_on_signals()
