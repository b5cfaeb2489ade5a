"""Where a running local stack says it is, so the admin CLI reaches it with no set-up.

``make run`` (and ``chalice local`` on the dev stage) write one small JSON file
while they run: the moto endpoint, the region, the API's address, and the
table and key parameter names of the stage.  ``python -m gatehouse.admin`` reads it
when it is given no AWS target of its own.  The file holds no secret (moto's
credentials are the fixed word ``testing``; seeded passwords are never in it).

It lives outside the project directory on purpose: ``chalice local`` restarts
its server whenever a file under the project changes, and a file written at
every start would restart it for ever.  One file per checkout (the name is a
hash of the project path), so two clones never see each other's stack.
``GATEHOUSE_LOCAL_STACK_FILE`` names another file (the tests use their own).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import urllib.parse
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

FILE_VARIABLE = "GATEHOUSE_LOCAL_STACK_FILE"
_PROBE_TIMEOUT = 0.5


def _settings_variables() -> frozenset[str]:
    from gatehouse.settings import PREFIX, Settings

    # The public JWKS is large and the CLI never needs it (it reads the key store).
    return frozenset(PREFIX + f.name.upper() for f in fields(Settings) if f.name != "jwks")


# The embedded AWS accepts any credentials; these fixed ones say plainly that they are not real.
LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@dataclass(frozen=True)
class LocalStack:
    """What a client of the local stack needs to know about it."""

    pid: int
    endpoint: str  # the embedded AWS (moto)
    region: str
    api: str  # the Gatehouse API, http://host:port
    settings: dict[str, str] = field(default_factory=dict)  # GATEHOUSE_* the stack runs with

    def aws_environment(self) -> dict[str, str]:
        """The AWS variables that send boto3 to this stack."""
        return {
            **LOCAL_CREDENTIALS,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ENDPOINT_URL": self.endpoint,
        }


def state_file(env: Mapping[str, str]) -> Path:
    # The process's own setting also counts when a caller passes a made-up ``env``:
    # a test run names its own file there, so nothing in it can reach the developer's stack.
    named = env.get(FILE_VARIABLE) or os.environ.get(FILE_VARIABLE)
    if named:
        return Path(named)
    return default_state_file(env)


def default_state_file(env: Mapping[str, str]) -> Path:
    """Where this checkout's stack records itself unless told otherwise."""
    runtime_dir = env.get("XDG_RUNTIME_DIR")
    base = Path(runtime_dir) if runtime_dir else Path.home() / ".cache"
    from gatehouse.project import find_or_here

    digest = hashlib.sha256(str(find_or_here()).encode()).hexdigest()[:16]
    return base / "gatehouse" / f"local-stack-{digest}.json"


def stack_settings(env: Mapping[str, str]) -> dict[str, str]:
    """The Gatehouse settings in ``env`` worth recording (never a password: those are not settings)."""
    wanted = _settings_variables()
    return {name: value for name, value in env.items() if name in wanted}


def record(stack: LocalStack, env: Mapping[str, str]) -> Path | None:
    """Write the state file; None when another live stack of this checkout already holds it."""
    path = state_file(env)
    current = _read(path)
    if current is not None and current.pid != stack.pid and _alive(current):
        return None
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(asdict(stack), indent=2) + "\n", encoding="utf-8")
    partial.replace(path)  # readers never see half a file
    return path


def forget(pid: int, env: Mapping[str, str]) -> None:
    """Remove the state file if it is this process's own."""
    path = state_file(env)
    current = _read(path)
    if current is not None and current.pid == pid:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def find(env: Mapping[str, str]) -> LocalStack | None:
    """The recorded stack if it is still running (a stale file from a killed run is ignored)."""
    current = _read(state_file(env))
    return current if current is not None and _alive(current) else None


def _read(path: Path) -> LocalStack | None:
    try:
        doc: Any = json.loads(path.read_text(encoding="utf-8"))
        settings = doc.get("settings", {})
        return LocalStack(
            pid=int(doc["pid"]),
            endpoint=str(doc["endpoint"]),
            region=str(doc["region"]),
            api=str(doc["api"]),
            settings={str(k): str(v) for k, v in settings.items()},
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _alive(stack: LocalStack) -> bool:
    try:
        os.kill(stack.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: it exists
    address = urllib.parse.urlsplit(stack.endpoint)
    if address.hostname is None or address.port is None:
        return False
    try:
        with socket.create_connection((address.hostname, address.port), timeout=_PROBE_TIMEOUT):
            return True
    except OSError:
        return False
