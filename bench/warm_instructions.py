"""The warm authorizer call against ``jwt.decode``, in instructions executed (callgrind).

The timed warm figure (:mod:`bench.warm_authorizer`) compares two costs of
about 150 µs that differ by a few per cent, on a machine shared with other
work: its verdict moves with the neighbours.  Instructions do not.  Each
candidate runs in a child Python under callgrind (:mod:`bench.callgrind`):
the child builds the same warm container and token as the timed figure,
warms every cache, turns the garbage collector off and makes ``CALLS``
calls between the two markers, so the count is the calls' alone (and the
loop's few instructions).  Hash
randomisation is fixed, the byte code warm, and every child verifies the
same token (Ed25519 verification takes a path that depends on the
signature).  Each candidate is counted
twice, in separate children, and the details say how far the two counts
are apart.  Instructions are not time (a cache miss costs more than an
addition), so this is a second opinion beside the timed figure, with the
same target: the two should agree.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import secrets
import sys
import time

from bench import callgrind
from bench.fixtures import child_env
from bench.report import Result
from bench.warm_authorizer import FLOOR, LIMIT, SAME_TOKEN_VARIABLE, WHOLE
from gatehouse.jose.keys import generate_signing_jwk

CALLS = 200
CANDIDATES = {WHOLE: "auth", FLOOR: "jwt"}
RUNS = 2


def _fmt_instructions(value: float) -> str:
    return f"{value / 1e6:.3f} M instr"


def _count(candidate: str, same_token: str) -> int:
    argv = [sys.executable, "-m", "bench.warm_authorizer", candidate, str(CALLS)]
    return callgrind.count(argv, child_env(PYTHONHASHSEED="0", **{SAME_TOKEN_VARIABLE: same_token}))


def measure() -> Result:
    title = "warm authorizer call, instructions executed (callgrind)"
    if not callgrind.available():
        return Result(
            title, 0.0, LIMIT, not_run="not run: valgrind is not installed", target=f"≤ {LIMIT:.2f}x"
        )
    # One key, time and jti for every child: Ed25519 verification is variable-time, so
    # another signature would be another count.
    same_token = json.dumps([generate_signing_jwk("EdDSA"), int(time.time()), secrets.token_hex(16)])
    jobs = [(name, run) for run in range(RUNS) for name in CANDIDATES.values()]
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        counts = list(pool.map(lambda job: _count(job[0], same_token), jobs))
    per_call = {
        label: [count / CALLS for (name, _), count in zip(jobs, counts, strict=True) if name == child]
        for label, child in CANDIDATES.items()
    }
    details = [
        f"{label}: {_fmt_instructions(min(values))} a call, {RUNS} children "
        f"{max(values) / min(values) - 1:.2%} apart ({CALLS} calls each, gc off)"
        for label, values in per_call.items()
    ]
    return Result(
        title,
        min(per_call[WHOLE]),
        LIMIT,
        fmt=_fmt_instructions,
        floor=min(per_call[FLOOR]),
        floor_label=FLOOR,
        details=details,
    )
