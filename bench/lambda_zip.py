"""The authorizer's cold start from ``make package``'s zip, run the way Lambda runs it.

One package is built (``chalice package``, then ``gatehouse.release.bytecode``
as ``make package`` runs it) and extracted three times, each made read-only
(``chmod -R a-w``) before anything is timed:

* **with byte code**: byte for byte what ``make package`` ships
  (unchecked-hash ``.pyc`` in ``__pycache__/``);
* **as built** (``make package BYTECODE=0``): the zip as ``chalice package``
  wrote it, whose only ``.pyc`` are stale copies of the working tree's;
* **warm cache**: the same as-built tree, where one warm-up run was allowed
  to write Python's own (timestamp) ``__pycache__`` first.

Every sample is a fresh interpreter run like Lambda runs the authorizer
function: the package alone on ``sys.path`` (``-P -S``, ``PYTHONPATH``: the
``/var/task`` equivalent, no site-packages), ``PYTHONDONTWRITEBYTECODE=1``,
``GATEHOUSE_CHECK_SESSIONS=false``, the route table the merge template sets;
it imports the handler module and calls ``gatehouse_auth(event, None)`` once.  The child times that itself
(interpreter start-up and exit excluded) and prints it; the parent keeps
each child's wall time too.  The floor, ``import jwt, chalice.app``, and
beside it the ``cryptography`` primitives alone run from the shipped tree in
the same rounds.  Everything takes turns, round
after round, so the ratios come from the same minutes of a shared machine.
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

from bench.cold_start import CRYPTOGRAPHY_CODE, CRYPTOGRAPHY_LABEL, FLOOR_CODE, ms, probe, run_child
from bench.fixtures import Fixture, authorizer_variables
from bench.package_size import shared_zip
from bench.report import Result, fmt_megabytes
from bench.timing import Samples, interleaved_calls, median, paired_ratio, summary
from gatehouse.release import bytecode

LIMIT = 0.5  # whole child, shipped zip, against the floor from the same tree
CACHE_LIMIT = 1.10  # in the child, shipped byte code against Python's own warm cache
FLOOR = "floor: import jwt, chalice.app"
PRIMITIVES = f"beside it: {CRYPTOGRAPHY_LABEL}"
WITH, AS_BUILT, WARM = "with byte code", "as built (BYTECODE=0)", "warm cache"
TIMED_CODE = """
import json, sys, time
event = json.loads(sys.argv[1])
start = time.perf_counter()
from gatehouse.authorizer.handler import gatehouse_auth
gatehouse_auth(event, None)
print("elapsed", time.perf_counter() - start)
"""
# The authorizer writes its own log line to stdout as well: the timing is the line after it.
FROM_PYC = re.compile(r"^# code object from '(.+\.pyc)'$")
FROM_SOURCE = re.compile(r"^# code object from (.+\.py)$")


def _env(fixture: Fixture, task: Path, write_bytecode: bool = False) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(task),
        **authorizer_variables(fixture, GATEHOUSE_CHECK_SESSIONS="false"),
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
        output = _run(self.fixture, self.task).splitlines()
        self.inner.append(float(next(line for line in output if line.startswith("elapsed ")).split()[1]))


def _prepare(fixture: Fixture, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    archive, fallback = shared_zip()
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


def _floor(fixture: Fixture, task: Path, code: str = FLOOR_CODE) -> Callable[[], object]:
    env, event = _env(fixture, task), json.dumps(fixture.event())
    return lambda: run_child(code, event, env, cwd=task, flags=("-P", "-S"))


def _measure(fixture: Fixture, tasks: dict[str, Path], rounds: int) -> tuple[Samples, Samples, list[str]]:
    for task in tasks.values():
        _set_writable(task, False)
    before = {name: _snapshot(task) for name, task in tasks.items()}
    logs = {name: _import_log(fixture, task) for name, task in tasks.items()}
    loaded = probe(fixture, _env(fixture, tasks[WITH]), cwd=tasks[WITH], flags=("-P", "-S"))
    timed = {name: _Timed(fixture, task) for name, task in tasks.items()}
    candidates: dict[str, Callable[[], object]] = {
        FLOOR: _floor(fixture, tasks[WITH]),
        PRIMITIVES: _floor(fixture, tasks[WITH], CRYPTOGRAPHY_CODE),
        **timed,
    }
    for call in candidates.values():
        call()  # the OS file cache; this sample is dropped below
    for each in timed.values():
        each.inner.clear()
    wall = interleaved_calls(candidates, rounds)
    inner = {name: each.inner for name, each in timed.items()}
    notes = [
        *(f"shipped zip, {line}" for line in loaded),
        *(
            f"{name}: {pyc} package modules loaded from .pyc, {source} compiled from source (python -v)"
            for name, (pyc, source) in logs.items()
        ),
    ]
    if logs[WITH][1] or logs[WARM][1]:
        notes.append("WARNING: a module was compiled from source where byte code was expected")
    written = [name for name, task in tasks.items() if _snapshot(task) != before[name]]
    notes.append(f"files written into the read-only trees: {', '.join(written) or 'none'}")
    return inner, wall, notes


def measure(fixture: Fixture, rounds: int) -> list[Result]:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gatehouse-bytecode-") as tmp:
        tasks, notes = _prepare(fixture, Path(tmp))
        try:
            inner, wall, checks = _measure(fixture, tasks, rounds)
        finally:
            for task in tasks.values():
                _set_writable(task, True)
    shipped = Result(
        "authorizer cold start, make package's zip run as Lambda runs it",
        median(wall[WITH]),
        LIMIT,
        floor=median(wall[FLOOR]),
        floor_label=(
            f"import jwt, chalice.app, same zip ({CRYPTOGRAPHY_LABEL}: {ms(median(wall[PRIMITIVES]))})"
        ),
    )
    shipped.details = [
        *notes,
        *checks,
        "whole child, start to exit: "
        + ", ".join(f"{name} {ms(median(wall[name]))}" for name in (WITH, WARM, AS_BUILT, FLOOR, PRIMITIVES)),
        f"median of per-round ratios, shipped zip / floor: {paired_ratio(wall[WITH], wall[FLOOR]):.2f}x, "
        f"/ cryptography floor: {paired_ratio(wall[WITH], wall[PRIMITIVES]):.2f}x",
        f"took {time.perf_counter() - started:.0f} s",
    ]
    floor = inner[WARM]
    cached = Result(
        "first call from make package's zip, its byte code vs a warm cache",
        median(inner[WITH]),
        CACHE_LIMIT,
        floor=median(floor),
        floor_label="warm cache",
    )
    cached.details = [
        "in the child: the handler import + the first gatehouse_auth call (start-up and exit excluded):",
        *("  " + summary(name, inner[name], ms) for name in (WITH, WARM, AS_BUILT)),
        f"median of per-round ratios: with byte code / warm cache {paired_ratio(inner[WITH], floor):.2f}x, "
        f"as built / warm cache {paired_ratio(inner[AS_BUILT], floor):.2f}x, "
        f"with byte code / as built {paired_ratio(inner[WITH], inner[AS_BUILT]):.2f}x",
    ]
    as_built = Result(
        "first call from the zip as built (BYTECODE=0) vs a warm cache",
        median(inner[AS_BUILT]),
        None,
        floor=median(floor),
        floor_label="warm cache",
    )
    return [shipped, cached, as_built]
