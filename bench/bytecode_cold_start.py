"""Figure 1e/1f (issue #9): the authorizer's cold import from ``make package``'s zip.

Three extractions of one freshly built package, each made read-only
(``chmod -R a-w``) before anything is timed:

* **with byte code**: the zip after ``gatehouse_release.bytecode``, byte for
  byte what ``make package`` ships (unchecked-hash ``.pyc`` in ``__pycache__/``);
* **as built** (``make package BYTECODE=0``): the zip as ``chalice package``
  wrote it, whose only ``.pyc`` are stale copies of the working tree's;
* **warm cache** (the floor): the same as-built tree, where one warm-up run
  was allowed to write Python's own (timestamp) ``__pycache__`` first.

Every sample is a fresh interpreter run like Lambda runs a function: the
package alone first on ``sys.path`` (``-P -S``, ``PYTHONPATH``: the
``/var/task`` equivalent, no site-packages), ``PYTHONDONTWRITEBYTECODE=1``,
``GATEHOUSE_CHECK_SESSIONS=false``. The child times ``import app`` plus the
first ``app.gatehouse_auth(event, None)`` itself (interpreter start-up and
exit excluded) and prints it; the parent also keeps each child's wall time.
The three variants take turns, round after round, so their ratios come from
the same minutes of a shared machine. Target: with byte code, at most 1.10x
the warm cache (ratio of medians).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from bench.fixtures import Fixture
from bench.package_size import build_zip
from bench.report import Result, fmt_megabytes
from bench.timing import Samples, interleaved_calls, median, paired_ratio, summary
from gatehouse_release import bytecode

LIMIT = 1.10
WITH, AS_BUILT, WARM = "with byte code", "as built (BYTECODE=0)", "warm cache"
TIMED_CODE = """
import json, sys, time
event = json.loads(sys.argv[1])
start = time.perf_counter()
import app
app.gatehouse_auth(event, None)
print(time.perf_counter() - start)
"""
FROM_PYC = re.compile(r"^# code object from '(.+\.pyc)'$")
FROM_SOURCE = re.compile(r"^# code object from (.+\.py)$")


def _env(fixture: Fixture, task: Path, write_bytecode: bool = False) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(task),
        "GATEHOUSE_JWKS": fixture.jwks_json,
        "GATEHOUSE_CHECK_SESSIONS": "false",
    }
    if not write_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _run(fixture: Fixture, task: Path, *flags: str, write_bytecode: bool = False) -> str:
    """One Lambda-like child; its stdout + stderr.  A denied token or an import error fails it."""
    done = subprocess.run(
        [sys.executable, "-P", "-S", *flags, "-c", TIMED_CODE, json.dumps(fixture.event())],
        cwd=task,
        env=_env(fixture, task, write_bytecode),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"child failed in {task.name}: {done.stderr.strip().splitlines()[-1:]}")
    return done.stdout + "\n" + done.stderr


def _extract(archive: Path, task: Path) -> None:
    with zipfile.ZipFile(archive) as bundle:
        bundle.extractall(task)


def _set_writable(tree: Path, writable: bool) -> None:
    """``chmod -R a-w`` (or ``u+w`` to undo it, so the temporary directory can be removed)."""
    for path in [tree, *tree.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode | stat.S_IWUSR if writable else mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _snapshot(tree: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(tree)): (p.stat().st_size, p.stat().st_mtime_ns) for p in tree.rglob("*")}


def _import_log(fixture: Fixture, task: Path) -> tuple[int, int]:
    """(modules of the package loaded from .pyc, compiled from source), from ``python -v``."""
    prefix = str(task) + os.sep
    output = _run(fixture, task, "-v").splitlines()
    pyc = sum(bool((m := FROM_PYC.match(line)) and m.group(1).startswith(prefix)) for line in output)
    source = sum(bool((m := FROM_SOURCE.match(line)) and m.group(1).startswith(prefix)) for line in output)
    return pyc, source


class _Timed:
    """A candidate for ``interleaved_calls``: also records the child's own import + call time."""

    def __init__(self, fixture: Fixture, task: Path) -> None:
        self.fixture, self.task = fixture, task
        self.inner: list[float] = []

    def __call__(self) -> None:
        self.inner.append(float(_run(self.fixture, self.task).split()[0]))


def _prepare(fixture: Fixture, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    archive, fallback = build_zip(tmp)
    build = tmp / "with-bytecode"
    shutil.copytree(archive.parent, build)
    summary_ = bytecode.add_bytecode_to_build(build)  # what `make package` runs after chalice package
    tasks = {WITH: tmp / "task-bytecode", AS_BUILT: tmp / "task-as-built", WARM: tmp / "task-warm"}
    _extract(build / bytecode.ZIP_NAME, tasks[WITH])
    _extract(archive, tasks[AS_BUILT])
    _extract(archive, tasks[WARM])
    _run(fixture, tasks[WARM], write_bytecode=True)  # Python writes its own cache, once
    notes = [f"make package's step: {summary_}"]
    if fallback:
        notes.append(f"plain `chalice package` failed ({fallback}); packaged with the packaging-only config")
    notes.append(
        f"zip: {fmt_megabytes(archive.stat().st_size)} as built, "
        f"{fmt_megabytes((build / bytecode.ZIP_NAME).stat().st_size)} with byte code"
    )
    return tasks, notes


def _measure(fixture: Fixture, tasks: dict[str, Path], rounds: int) -> tuple[Samples, Samples, list[str]]:
    for task in tasks.values():
        _set_writable(task, False)
    before = {name: _snapshot(task) for name, task in tasks.items()}
    logs = {name: _import_log(fixture, task) for name, task in tasks.items()}
    timed = {name: _Timed(fixture, task) for name, task in tasks.items()}
    for call in timed.values():
        call()  # the OS file cache; this sample is dropped below
        call.inner.clear()
    candidates: dict[str, Callable[[], object]] = dict(timed)
    wall = interleaved_calls(candidates, rounds)
    inner = {name: call.inner for name, call in timed.items()}
    notes = [
        f"{name}: {pyc} package modules loaded from .pyc, {source} compiled from source (python -v)"
        for name, (pyc, source) in logs.items()
    ]
    if logs[WITH][1] or logs[WARM][1]:
        notes.append("WARNING: a module was compiled from source where byte code was expected")
    written = [name for name, task in tasks.items() if _snapshot(task) != before[name]]
    notes.append(f"files written into the read-only trees: {', '.join(written) or 'none'}")
    return inner, wall, notes


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms"


def measure(fixture: Fixture, rounds: int) -> list[Result]:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gatehouse-bytecode-") as tmp:
        tasks, notes = _prepare(fixture, Path(tmp))
        try:
            inner, wall, checks = _measure(fixture, tasks, rounds)
        finally:
            for task in tasks.values():
                _set_writable(task, True)
    floor = inner[WARM]
    shipped = Result(
        "1e. cold import from make package's zip (byte code) vs warm cache",
        median(inner[WITH]),
        LIMIT,
        floor=median(floor),
        floor_label="warm cache",
    )
    shipped.details = [
        *notes,
        *checks,
        "in the child: import app + first gatehouse_auth call (start-up and exit excluded):",
        "  " + summary(WITH, inner[WITH], _ms),
        "  " + summary(WARM, floor, _ms),
        "  " + summary(AS_BUILT, inner[AS_BUILT], _ms),
        f"median of per-round ratios: with byte code / warm cache {paired_ratio(inner[WITH], floor):.2f}x, "
        f"as built / warm cache {paired_ratio(inner[AS_BUILT], floor):.2f}x, "
        f"with byte code / as built {paired_ratio(inner[WITH], inner[AS_BUILT]):.2f}x",
        "whole child, start to exit (interpreter start-up included): "
        + ", ".join(f"{name} {_ms(median(wall[name]))}" for name in (WITH, WARM, AS_BUILT))
        + f"; with byte code / warm cache {median(wall[WITH]) / median(wall[WARM]):.2f}x",
        f"took {time.perf_counter() - started:.0f} s",
    ]
    as_built = Result(
        "1f. cold import from the zip as built (BYTECODE=0) vs warm cache",
        median(inner[AS_BUILT]),
        None,
        floor=median(floor),
        floor_label="warm cache",
    )
    return [shipped, as_built]
