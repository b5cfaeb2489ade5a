"""Runs ``python -m gatehouse_client`` as a user would: a separate process, its own environment."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from gatehouse_client import TokenFile, Tokens

from tests.live_stack import ROOT

_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def run_cli(
    token_file: Path, *args: str, env: Mapping[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("GATEHOUSE_") and k.lower() not in _PROXY_VARIABLES
    }
    clean.update(PYTHONPATH=str(ROOT / "client"), GATEHOUSE_TOKEN_FILE=str(token_file), **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "gatehouse_client", *args],
        env=clean,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        # No controlling terminal: a prompt cannot wait on /dev/tty.
        start_new_session=True,
    )


def assert_one_line_failure(result: subprocess.CompletedProcess[str], status: int = 1) -> str:
    """The command failed with ``status`` and said so in one line, without a traceback; returns it."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == status, (result.returncode, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert result.stdout == ""
    return lines[0]


def save_session(token_file: Path, base_url: str, username: str = "alice") -> TokenFile:
    store = TokenFile(token_file)
    store.save(base_url, Tokens("at-0", "rt-0", time.time() + 600, username))
    return store
