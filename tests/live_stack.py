"""The stack ``make run`` starts (``python -m gatehouse.dev.run``), on a free port, for client tests.

Like the fixture in test_e2e.py, with extra settings (short token lifetimes,
a CORS origin) passed in the environment.  Plain ``chalice local`` can be
started the same way (``command``).  Each stack records itself in its own
state file (never the developer's: a `make run` of theirs stays reachable).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
READY_LINE = "Gatehouse ready on"
CHALICE_READY_LINE = "Serving on http://"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 4.0
DEMO_PASSWORD = "Quartz-Lantern-74-river"
ADMIN_PASSWORD = "Copper-Falcon-58-meadow"
USER_PASSWORD = "tulip-Marble-9-sunset"

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
# One message as the stack's console echo of outgoing mail prints it (GATEHOUSE_MAIL_ECHO).
_MAIL = re.compile(r"Mail to: (?P<to>\S+)\nSubject: (?P<subject>[^\n]*)\n\n(?P<text>.*?)\n-{72}\n", re.DOTALL)
_CODE = re.compile(r"^ {4}([0-9A-Z-]{8,14})$", re.MULTILINE)


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str

    @property
    def code(self) -> str | None:
        found = _CODE.search(self.text)
        return found.group(1).replace("-", "") if found else None  # reset codes come in dashed groups


@dataclass
class LiveStack:
    base_url: str
    process: subprocess.Popen[str]
    state_file: Path
    env: dict[str, str]
    lines: list[str] = field(default_factory=list)

    def output(self) -> str:
        return "".join(self.lines)

    def mail(self) -> list[Mail]:
        """Every message the stack printed (it echoes outgoing mail to its console)."""
        return [Mail(m["to"], m["subject"], m["text"]) for m in _MAIL.finditer(self.output())]

    def codes_mailed_to(self, address: str, count: int, timeout: float = 10.0) -> list[str]:
        """The codes of the messages to ``address`` that carry one, once there are ``count``."""
        deadline = time.monotonic() + timeout
        while True:
            codes = [m.code for m in self.mail() if m.to == address and m.code]
            if len(codes) >= count or time.monotonic() > deadline:
                assert len(codes) >= count, f"{len(codes)} code(s) mailed to {address}"
                return [c for c in codes if c]
            time.sleep(0.05)

    def call(
        self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> tuple[int, Any, Any]:
        """(status, headers, parsed JSON or None) over real HTTP."""
        sent = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        request = urllib.request.Request(self.base_url + path, data=data, headers=sent, method=method)  # noqa: S310
        try:
            with _opener.open(request, timeout=10) as response:
                raw, status, answer_headers = response.read(), response.status, response.headers
        except urllib.error.HTTPError as error:
            with error:
                raw, status, answer_headers = error.read(), error.code, error.headers
        return status, answer_headers, json.loads(raw) if raw else None

    def new_user(self, prefix: str = "client") -> tuple[str, str]:
        """A freshly registered user (own lockout counter, own sessions): (username, password)."""
        username = f"{prefix}-{secrets.token_hex(4)}"
        status, _, body = self.call(
            "POST", "/auth/register", {"username": username, "password": USER_PASSWORD}
        )
        assert status == 201, body
        return username, USER_PASSWORD


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_port_pair() -> int:
    """A free port whose next one is free too: the embedded AWS's stable port is the API's plus one."""
    for _ in range(50):
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two consecutive free ports on loopback")


def _stop(process: subprocess.Popen[str]) -> None:
    # Its own process group: `chalice local` runs its server in a child process.
    # Ctrl-C first (what a developer does), then SIGTERM (which `make run` also turns
    # into a clean stop), and only then SIGKILL: a stack that misses one signal
    # costs the suite a few seconds, not the whole timeout.
    for sent in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        if process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sent)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            continue


def stack_environment(
    settings: Mapping[str, str] | None = None, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """This environment (or ``base``) without endpoints, Gatehouse settings or a port, plus ``settings``."""
    env = {
        k: v
        for k, v in (os.environ if base is None else base).items()
        if not k.startswith(("AWS_ENDPOINT_URL", "GATEHOUSE_"))
        and k not in ("PORT", "AWS_PORT", "HOST", "FRESH")
    }
    # A stack started from it keeps no data and takes any free port for its embedded AWS:
    # never the project's .gatehouse/ of the developer, never a port another test holds.
    env.update({"PYTHONUNBUFFERED": "1", "GATEHOUSE_DEV_DATA": "off", "AWS_PORT": "0", **(settings or {})})
    return env


SEEDED = {"GATEHOUSE_DEMO_PASSWORD": DEMO_PASSWORD, "GATEHOUSE_ADMIN_PASSWORD": ADMIN_PASSWORD}


@contextmanager
def live_stack(
    settings: Mapping[str, str] | None = None,
    *,
    command: list[str] | None = None,
    ready_line: str = READY_LINE,
    seeded: Mapping[str, str] = SEEDED,
    state_file: Path | None = None,
    cwd: Path = ROOT,
    env: Mapping[str, str] | None = None,
    data: Path | None = None,
    port_in_environment: bool = False,
) -> Iterator[LiveStack]:
    """The stack on a free port; ``command`` gets ``--port N`` appended (default: make run's).

    ``cwd``: the project it serves; ``env``: the environment to start from (default: this one);
    ``data``: the folder of its saved data (default: none kept);
    ``port_in_environment``: the port as ``PORT`` instead (``make run``).
    """
    with tempfile.TemporaryDirectory(prefix="gatehouse-stack-") as scratch:
        state_file = state_file or Path(scratch) / "local-stack.json"
        isolated = {
            "GATEHOUSE_LOCAL_STACK_FILE": str(state_file),
            # Its own data folder and a free port for its embedded AWS: never the
            # developer's `make run` data, nor another test stack's.
            "GATEHOUSE_DEV_DATA": str(data) if data else "off",
            "AWS_PORT": "0",
        }
        env = stack_environment({**seeded, **isolated, **(settings or {})}, base=env)
        # A stack that keeps the stable AWS port (AWS_PORT empty) needs the next port free too.
        port = free_port() if env.get("AWS_PORT") else free_port_pair()
        argv = [*(command or [sys.executable, "-m", "gatehouse.dev.run"])]
        if port_in_environment:
            env["PORT"] = str(port)
        else:
            argv += ["--port", str(port)]
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
        running = LiveStack(f"http://127.0.0.1:{port}", process, state_file, env)
        ready = threading.Event()

        def pump() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                running.lines.append(line)
                if ready_line in line:
                    ready.set()

        reader = threading.Thread(target=pump, name="gatehouse-live-stack-stdout", daemon=True)
        reader.start()
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not ready.wait(0.05):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the local stack did not start; its output:\n{running.output()}")
            yield running
        finally:
            _stop(process)
            reader.join(timeout=STOP_TIMEOUT)
            assert process.stdout is not None
            process.stdout.close()
