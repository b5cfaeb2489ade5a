"""The wall time of ``make test`` on this machine, and its slowest tests.

``make test`` is run as a developer runs it; pytest's own ``--durations``
comes in through ``PYTEST_ADDOPTS``, so the command measured is exactly the
Makefile's.  A failing suite is still timed (others may be mid-change), and
the row says how it ended.
"""

from __future__ import annotations

import os
import re
import subprocess
import time

from bench.fixtures import ROOT
from bench.report import Result
from bench.timing import median

LIMIT_SECONDS = 180.0
SLOWEST = 15
_DURATION = re.compile(r"^\s*\d+(\.\d+)?s\s+(call|setup|teardown)\s+\S")
_SUMMARY = re.compile(r"^=*\s*\d+ (passed|failed|error).*$")


def _run_make_test() -> tuple[float, str, int]:
    env = dict(os.environ)
    env["PYTEST_ADDOPTS"] = f"{env.get('PYTEST_ADDOPTS', '')} --durations={SLOWEST}".strip()
    start = time.perf_counter()
    done = subprocess.run(
        # -o: never rebuild the venv here; `make bench` itself already depends on it,
        # and a stale stamp (requirements edited) must not be timed as "tests".
        ["make", "--no-print-directory", "-o", ".venv/.installed", "test"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    return time.perf_counter() - start, done.stdout + done.stderr, done.returncode


def _slowest(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if _DURATION.match(line)][:SLOWEST]


def _outcome(output: str, returncode: int) -> str:
    summaries = [line.strip("= ") for line in output.splitlines() if _SUMMARY.match(line)]
    if not summaries:  # pytest never ran: the time says nothing about the tests
        last = output.strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"make test did not run pytest (exit {returncode}): {last[0][:160]}")
    return summaries[-1] if returncode == 0 else f"FAILED (exit {returncode}): {summaries[-1]}"


def measure(runs: int) -> Result:
    walls, output, returncode = [], "", 0
    for _ in range(runs):
        wall, output, returncode = _run_make_test()
        walls.append(wall)
    ending = _outcome(output, returncode)
    lines = [
        f"make test wall times: {', '.join(f'{w:.1f} s' for w in walls)} (cores: {os.cpu_count()})",
        f"last run: {ending}",
        f"slowest {SLOWEST} (last run):",
        *("  " + line for line in _slowest(output)),
    ]
    result = Result("make test wall time", median(walls), LIMIT_SECONDS)
    result.details = lines
    return result
