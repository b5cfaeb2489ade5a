"""Figure 1c/1d (information): the authorizer's cold start from the deployment zip itself.

Figure 1 runs in the dev venv, where every module has a .pyc.  Lambda runs
the zip that ``chalice package`` builds, which holds no .pyc at all, on a
read-only file system: every cold start compiles Gatehouse, PyJWT, Chalice
and the Python parts of cryptography from source.  Here the zip is
extracted and run the way Lambda would (only the package on the path, no
site-packages, nothing written), once as built and once with
``compileall --invalidation-mode unchecked-hash`` byte code added (hash-based
.pyc files stay valid whatever the extracted files' timestamps are).
"""

from __future__ import annotations

import compileall
import json
import os
import py_compile
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from bench.cold_start import FIRST_CALL_CODE, FLOOR_CODE, run_child
from bench.fixtures import Fixture
from bench.package_size import build_zip
from bench.report import Result, fmt_megabytes
from bench.timing import Samples, interleaved_calls, median, paired_ratio, summary

VARIANTS = {"as built": "plain", "with .pyc": "compiled"}


def _extract(archive: Path, dest: Path, compiled: bool) -> None:
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(dest)
    if compiled:
        mode = py_compile.PycInvalidationMode.UNCHECKED_HASH
        if not compileall.compile_dir(str(dest), quiet=1, invalidation_mode=mode):
            raise RuntimeError("compileall failed on the extracted package")


def _zipped_size(directory: Path) -> int:
    """What the zip would weigh with the byte code in it."""
    target = directory.with_suffix(".zip")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(directory))
    return target.stat().st_size


def _child(fixture: Fixture, code: str, package: Path) -> Callable[[], None]:
    # Lambda-like: the package alone on the path (-S: no site-packages), no byte code written.
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(package),
        "PYTHONDONTWRITEBYTECODE": "1",
        "GATEHOUSE_JWKS": fixture.jwks_json,
        "GATEHOUSE_CHECK_SESSIONS": "false",
    }
    event = json.dumps(fixture.event())
    return lambda: run_child(code, event, env, cwd=package, flags=("-S",))


def _samples(fixture: Fixture, tmp: Path, rounds: int) -> tuple[Samples, int, int]:
    archive, _fallback = build_zip(tmp)
    candidates: dict[str, Callable[[], None]] = {}
    for label, folder in VARIANTS.items():
        package = tmp / folder
        _extract(archive, package, compiled=folder == "compiled")
        candidates[f"floor, {label}"] = _child(fixture, FLOOR_CODE, package)
        candidates[f"app + first call, {label}"] = _child(fixture, FIRST_CALL_CODE, package)
    for call in candidates.values():
        call()  # the OS file cache, as for figure 1
    return interleaved_calls(candidates, rounds), archive.stat().st_size, _zipped_size(tmp / "compiled")


def _row(figure: str, samples: Samples, label: str) -> Result:
    measured, floor = samples[f"app + first call, {label}"], samples[f"floor, {label}"]
    result = Result(figure, median(measured), None, floor=median(floor))
    result.details = [
        summary(f"app + first call, {label}", measured, _ms),
        summary(f"floor (import jwt, chalice.app), {label}", floor, _ms),
        f"median of per-round ratios: {paired_ratio(measured, floor):.2f}x",
    ]
    return result


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms"


def measure(fixture: Fixture, rounds: int) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="gatehouse-zip-") as tmp:
        samples, plain_size, compiled_size = _samples(fixture, Path(tmp), rounds)
    built = _row("1c. cold start from the Lambda zip, as built (no .pyc)", samples, "as built")
    compiled = _row("1d. cold start from the Lambda zip + unchecked-hash .pyc", samples, "with .pyc")
    saving = paired_ratio(samples["app + first call, with .pyc"], samples["app + first call, as built"])
    compiled.details += [
        f"app + first call with .pyc / as built: {saving:.2f}x (per-round median)",
        f"zip size: {fmt_megabytes(plain_size)} as built, {fmt_megabytes(compiled_size)} with .pyc",
    ]
    return [built, compiled]
