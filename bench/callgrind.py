"""Instructions executed by a marked part of a child Python, counted by callgrind.

Timings on a shared machine move with the neighbours' load; the number of
instructions a piece of code executes does not.  A child marks the part to
count by calling ``os.getppid()`` where it starts and ``os.getpgrp()`` where
it ends (:data:`START`, :data:`END`; nothing measured here calls either):
callgrind zeroes its counters when the first is entered and writes them out
when the second is.  Instructions are not time (a cache miss or a system
call costs more than an addition, and time spent waiting is no instruction
at all), so a count is a second opinion beside a timed figure, never a
replacement for it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.fixtures import ROOT, run_checked

START = "os.getppid()"
END = "os.getpgrp()"


def available() -> bool:
    return shutil.which("valgrind") is not None


def count(argv: Sequence[str], env: dict[str, str], cwd: Path = ROOT) -> int:
    """Run ``argv`` (a Python and its arguments) under callgrind; the marked part's instructions."""
    with tempfile.TemporaryDirectory() as tmp:
        out_file = Path(tmp) / "callgrind.out"
        valgrind = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}"]
        markers = ["--zero-before=os_getppid", "--dump-before=os_getpgrp"]
        run_checked([*valgrind, *markers, *argv], env, cwd)
        dump = out_file.with_name(f"{out_file.name}.1")
        if not dump.exists():
            raise RuntimeError(
                "callgrind wrote no part for the marked code (did the child call both markers?)"
            )
        for line in dump.read_text().splitlines():
            if line.startswith("summary:"):
                return int(line.split()[1])
    raise RuntimeError("callgrind's part for the marked code has no summary")
