"""Fresh Python processes for tests: what a command or a cold start does, seen from outside."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def run_python(
    args: list[str], env: Mapping[str, str], *, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` in the project root with exactly ``env``; never raises for its exit status."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def python_json(code: str, env: Mapping[str, str], *args: str) -> Any:
    """Run ``code`` in a fresh interpreter; it prints one JSON document as its last stdout line."""
    result = run_python(["-c", textwrap.dedent(code), *args], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])
