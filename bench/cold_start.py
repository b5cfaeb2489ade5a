"""Figure 1: the authorizer's cold start, as whole fresh interpreters.

Each sample is the wall time of one ``python -c`` child, start to exit, so
interpreter start-up, imports and the first invocation are all in it, as
in a Lambda cold start (minus the sandbox).  The floor is a child that only
imports what any Chalice + PyJWT authorizer must (``import jwt, chalice.app``).

Two byte-code modes:

* warm .pyc (the target): ``__pycache__`` already filled by a warm-up run;
* no .pyc (information): ``PYTHONDONTWRITEBYTECODE`` plus an empty
  ``PYTHONPYCACHEPREFIX``, so every module compiles from source on every
  run.  That is what a deployment zip without .pyc files costs on Lambda,
  whose file system is read-only.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.fixtures import ROOT, Fixture, child_env
from bench.report import Result
from bench.timing import Samples, interleaved_calls, median, paired_difference, paired_ratio, summary

LIMIT = 1.25
FLOOR_CODE = "import jwt, chalice.app"
IMPORT_CODE = "import app"
FIRST_CALL_CODE = "import json, sys, app; app.gatehouse_auth(json.loads(sys.argv[1]), None)"
PROBE_CODE = """
import json, sys, app
policy = app.gatehouse_auth(json.loads(sys.argv[1]), None)
loaded = sorted(m for m in sys.modules if m.startswith(("boto3", "botocore")))
print(json.dumps({"effect": policy["policyDocument"]["Statement"][0]["Effect"], "aws": loaded}))
"""


def _env(fixture: Fixture, pycache_prefix: str | None) -> dict[str, str]:
    env = child_env(GATEHOUSE_JWKS=fixture.jwks_json, GATEHOUSE_CHECK_SESSIONS="false")
    if pycache_prefix is not None:
        env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONPYCACHEPREFIX=pycache_prefix)
    return env


def run_child(
    code: str, event: str, env: dict[str, str], cwd: Path = ROOT, flags: Sequence[str] = ()
) -> None:
    # A denied token raises in the child: a non-zero exit means the sample is void.
    subprocess.run(
        [sys.executable, *flags, "-c", code, event],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )


def _probe(fixture: Fixture) -> list[str]:
    """Check the precondition once: the token is allowed, and no AWS SDK module got loaded."""
    answer = subprocess.run(
        [sys.executable, "-c", PROBE_CODE, json.dumps(fixture.event())],
        cwd=ROOT,
        env=_env(fixture, None),
        capture_output=True,
        text=True,
        check=True,
    )
    probe = json.loads(answer.stdout.strip().splitlines()[-1])
    if probe["effect"] != "Allow":
        raise RuntimeError(f"the bench token was not allowed: {probe}")
    loaded = probe["aws"]
    return [f"WARNING: boto3/botocore modules loaded on the authorizer path: {loaded}"] if loaded else []


def _samples(fixture: Fixture, rounds: int, pycache_prefix: str | None) -> Samples:
    env = _env(fixture, pycache_prefix)
    event = json.dumps(fixture.event())

    def child(code: str) -> Callable[[], None]:
        return lambda: run_child(code, event, env)

    candidates = {
        "floor": child(FLOOR_CODE),
        "import app": child(IMPORT_CODE),
        "import app + first call": child(FIRST_CALL_CODE),
    }
    for call in candidates.values():
        call()  # fills __pycache__ (warm mode) and the OS file cache
    return interleaved_calls(candidates, rounds)


def _result(figure: str, samples: Samples, limit: float | None, notes: list[str]) -> Result:
    measured, import_only, floor = samples["import app + first call"], samples["import app"], samples["floor"]
    lines = [
        *notes,
        summary("import app + first call", measured, _ms),
        summary("import app only", import_only, _ms),
        summary("floor: import jwt, chalice.app", floor, _ms),
        f"split (per-round medians): imports beyond the floor {_ms(paired_difference(import_only, floor))}, "
        f"first invocation {_ms(paired_difference(measured, import_only))}",
        f"median of per-round ratios: {paired_ratio(measured, floor):.2f}x",
    ]
    return Result(figure, median(measured), limit, floor=median(floor), floor_label="", details=lines)


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms"


def measure(fixture: Fixture, warm_rounds: int, cold_rounds: int) -> list[Result]:
    notes = _probe(fixture)
    started = time.perf_counter()
    warm = _samples(fixture, warm_rounds, None)
    results = [_result("1. authorizer cold start (warm .pyc)", warm, LIMIT, notes)]
    with tempfile.TemporaryDirectory(prefix="gatehouse-pycache-") as prefix:
        cold = _samples(fixture, cold_rounds, prefix)
    results.append(_result("1b. authorizer cold start (no .pyc)", cold, None, []))
    results[-1].details.append(f"both modes took {time.perf_counter() - started:.0f} s")
    return results
