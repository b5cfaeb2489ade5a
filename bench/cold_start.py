"""The authorizer's cold start in the development venv, as whole fresh interpreters.

Each sample is the wall time of one ``python -c`` child, start to exit, so
interpreter start-up, imports and the first invocation are all in it, as in
a Lambda cold start (minus the sandbox).  The child does what Lambda does
for the authorizer function: import the handler module
(``gatehouse.authorizer.handler``, which never imports the app or Chalice),
call ``gatehouse_auth(event, None)`` once, with the environment the merge
template gives the function (the key set and the protected-route table).
The session check is off here (``GATEHOUSE_CHECK_SESSIONS=false``): the
verify path alone; ``bench/deployed.py`` measures it with the session read.

The floor is a child that imports what any Chalice + PyJWT authorizer
imports (``import jwt, chalice.app``).  Beside it, the ``cryptography``-only
floor: a child importing just the primitives the verifier uses (Ed25519,
P-256 ECDSA, SHA-256), below which no verifier of these tokens can start.
``__pycache__`` is warm: a first run of every child fills it.  Children get
no ``PYTHON*`` variable from this process (``PYTHONDONTWRITEBYTECODE`` would
make every child compile from source).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.fixtures import ROOT, Fixture, authorizer_variables, child_env, run_checked
from bench.report import Result
from bench.timing import Samples, interleaved_calls, median, paired_difference, paired_ratio, summary

LIMIT = 0.5
FLOOR_CODE = "import jwt, chalice.app"
CRYPTOGRAPHY_CODE = (
    "from cryptography.exceptions import InvalidSignature\n"
    "from cryptography.hazmat.primitives import hashes\n"
    "from cryptography.hazmat.primitives.asymmetric import ec, ed25519, utils"
)
CRYPTOGRAPHY_LABEL = "cryptography primitives only"
IMPORT_CODE = "import gatehouse.authorizer.handler"
FIRST_CALL_CODE = (
    "import json, sys\n"
    "from gatehouse.authorizer.handler import gatehouse_auth\n"
    "gatehouse_auth(json.loads(sys.argv[1]), None)"
)
# Imported only where they are needed: none of them may load on the verify path (nor the
# standard library's dataclasses, inspect and logging, milliseconds of cold start each).
WATCHED = (
    "chalice",
    "app",
    "jwt",
    "boto3",
    "botocore",
    "argon2",
    "zxcvbn",
    "cryptography.x509",
    "dataclasses",
    "inspect",
    "logging",
)
PROBE_CODE = f"""
import json, sys
from gatehouse.authorizer.handler import gatehouse_auth
policy = gatehouse_auth(json.loads(sys.argv[1]), None)
loaded = [m for m in {WATCHED!r} if m in sys.modules]
print(json.dumps({{"effect": policy["policyDocument"]["Statement"][0]["Effect"], "loaded": loaded}}))
"""


def authorizer_env(fixture: Fixture) -> dict[str, str]:
    return child_env(**authorizer_variables(fixture, GATEHOUSE_CHECK_SESSIONS="false"))


def run_child(code: str, event: str, env: dict[str, str], cwd: Path = ROOT, flags: Sequence[str] = ()) -> str:
    """One fresh interpreter; its stdout.  A denied token raises in the child and voids the run."""
    return run_checked([sys.executable, *flags, "-c", code, event], env, cwd)


def probe(fixture: Fixture, env: dict[str, str], cwd: Path = ROOT, flags: Sequence[str] = ()) -> list[str]:
    """Check the precondition once: the token is allowed and nothing watched got loaded."""
    answer = json.loads(run_child(PROBE_CODE, json.dumps(fixture.event()), env, cwd, flags).splitlines()[-1])
    if answer["effect"] != "Allow":
        raise RuntimeError(f"the bench token was not allowed: {answer}")
    loaded = answer["loaded"]
    if loaded:
        return [f"WARNING: loaded on the authorizer path: {', '.join(loaded)}"]
    return [f"loaded by the first call: none of {', '.join(WATCHED)}"]


def _samples(fixture: Fixture, rounds: int) -> Samples:
    env = authorizer_env(fixture)
    event = json.dumps(fixture.event())

    def child(code: str) -> Callable[[], object]:
        return lambda: run_child(code, event, env)

    candidates = {
        "floor": child(FLOOR_CODE),
        "cryptography": child(CRYPTOGRAPHY_CODE),
        "import": child(IMPORT_CODE),
        "import + first call": child(FIRST_CALL_CODE),
    }
    for call in candidates.values():
        call()  # fills __pycache__ and the OS file cache
    return interleaved_calls(candidates, rounds)


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms"


def measure(fixture: Fixture, rounds: int) -> list[Result]:
    notes = probe(fixture, authorizer_env(fixture))
    samples = _samples(fixture, rounds)
    measured, import_only, floor = samples["import + first call"], samples["import"], samples["floor"]
    primitives = samples["cryptography"]
    lines = [
        *notes,
        summary("handler import + first call", measured, ms),
        summary("handler import only", import_only, ms),
        summary("floor: import jwt, chalice.app", floor, ms),
        summary(f"beside it: {CRYPTOGRAPHY_LABEL}", primitives, ms),
        f"split (per-round medians): handler import {ms(paired_difference(import_only, primitives))} "
        f"over the cryptography floor, first invocation {ms(paired_difference(measured, import_only))}",
        f"median of per-round ratios: {paired_ratio(measured, floor):.2f}x the floor, "
        f"{paired_ratio(measured, primitives):.2f}x the cryptography floor; "
        f"cryptography floor / floor {paired_ratio(primitives, floor):.2f}x",
    ]
    return [
        Result(
            "authorizer cold start, venv (session check off)",
            median(measured),
            LIMIT,
            floor=median(floor),
            floor_label=f"import jwt, chalice.app ({CRYPTOGRAPHY_LABEL}: {ms(median(primitives))})",
            details=lines,
        )
    ]
