"""The size of the Lambda deployment package that ``chalice package`` builds.

Packaging runs in a throw-away copy of the project, so nothing is written
into the working tree; only Chalice's wheel cache (``.chalice/deployments``)
is kept between runs, outside the repository, to keep ``make bench`` fast.
Chalice may download Lambda-platform (manylinux) wheels on the first run.

If plain packaging fails (for example on in-progress deployment work), the
copy is packaged once more with a packaging-only configuration that changes
the template and nothing in the zip (see ``_packaging_only_config``); the
row says so and quotes the first failure.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from pathlib import Path

from bench.fixtures import ROOT
from bench.report import Result, fmt_megabytes

LIMIT_BYTES = 10_000_000  # "10 MB", read strictly (not MiB)
STAGE = "prod"
AWS_SDK = ("boto3/", "botocore/", "s3transfer/")
SKIPPED = shutil.ignore_patterns(
    ".venv",
    ".git",
    ".hypothesis",
    ".*_cache",
    "__pycache__",
    "*.pyc",
    "tests",
    "bench",
    "docs",
    "build",
    "deployments",
)


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "gatehouse-bench" / "chalice-deployments"


def _wheel(root: Path = ROOT) -> Path:
    wheels = sorted((root / "dist").glob("gatehouse_chalice-*.whl"))
    if not wheels:
        raise RuntimeError("no wheel in dist/: run make wheel")
    return wheels[-1]


def check_wheel_is_current(root: Path = ROOT) -> None:
    """Refuse to measure a zip whose Gatehouse is not the working tree's.

    requirements.txt names the wheel in dist/, so the zip ships whatever that
    wheel holds; one built before the last change would be measured in its
    place (``make bench`` rebuilds it first; ``python -m bench`` alone does not).
    """
    wheel_path = _wheel(root)
    with zipfile.ZipFile(wheel_path) as wheel:
        names = [n for n in wheel.namelist() if n.startswith("gatehouse/") and n.endswith(".py")]
        shipped = {n: wheel.read(n) for n in names}
    tree = {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in (root / "gatehouse").rglob("*.py")
        if "__pycache__" not in p.parts
    }
    stale = sorted(n for n in shipped.keys() | tree.keys() if shipped.get(n) != tree.get(n))
    if stale:
        named = ", ".join(stale[:3])
        raise RuntimeError(f"{wheel_path.name} differs from the tree ({named}...): run make wheel")


def _copy_project(tmp: Path) -> Path:
    check_wheel_is_current()
    project = tmp / "project"
    shutil.copytree(ROOT, project, ignore=SKIPPED, symlinks=True)
    # Chalice keys its dependency cache on requirements.txt's text, which names the wheel
    # by version only: one cache per wheel content, or a rebuilt wheel would never ship.
    digest = hashlib.sha256(_wheel().read_bytes()).hexdigest()[:16]
    cache = cache_dir() / digest
    if not cache.is_dir():
        shutil.rmtree(cache_dir(), ignore_errors=True)  # the caches of older wheels
        cache.mkdir(parents=True)
    (project / ".chalice" / "deployments").symlink_to(cache, target_is_directory=True)
    return project


def _chalice_package(project: Path, out: Path) -> subprocess.CompletedProcess[str]:
    chalice = Path(sys.executable).parent / "chalice"
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    return subprocess.run(
        [str(chalice), "package", "--stage", STAGE, str(out)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


# Variables that make *importing* app.py need AWS (chalice package imports it
# with the api_handler's environment); the zip does not depend on them.
IMPORT_TIME_AWS_VARIABLES = ("GATEHOUSE_PRELOAD_SIGNING_KEY",)


def _packaging_only_config(project: Path) -> None:
    """Settings in the copy that change the template only, never the zip.

    * IAM policy analysis off: Chalice 1.34's analyzer crashes (KeyError) on
      a module-level annotated assignment under ``from __future__ import annotations``;
    * no import-time key preload: it reads SSM, which a build machine cannot.
    """
    config_path = project / ".chalice" / "config.json"
    config = json.loads(config_path.read_text())
    scopes = [config]
    for stage in config.get("stages", {}).values():
        scopes += [stage, *stage.get("lambda_functions", {}).values()]
    for scope in scopes:
        scope["autogen_policy"] = False
        scope.pop("iam_policy_file", None)
        for name in IMPORT_TIME_AWS_VARIABLES:
            scope.get("environment_variables", {}).pop(name, None)
    config_path.write_text(json.dumps(config, indent=2))
    (project / ".chalice" / f"policy-{STAGE}.json").write_text(
        json.dumps({"Version": "2012-10-17", "Statement": []})
    )


def _last_error_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[-1][:200] if lines else "(no output)"


def build_zip(tmp: Path) -> tuple[Path, str | None]:
    """The deployment zip, and why the fallback was needed (None when it was not)."""
    project = _copy_project(tmp)
    out = tmp / "out"
    first = _chalice_package(project, out)
    if first.returncode == 0:
        return out / "deployment.zip", None
    reason = _last_error_line(first.stderr or first.stdout)
    shutil.rmtree(out, ignore_errors=True)
    _packaging_only_config(project)
    second = _chalice_package(project, out)
    if second.returncode != 0:
        raise RuntimeError(f"chalice package failed: {_last_error_line(second.stderr or second.stdout)}")
    return out / "deployment.zip", reason


_shared: tuple[tempfile.TemporaryDirectory[str], Path, str | None] | None = None


def shared_zip() -> tuple[Path, str | None]:
    """One package per bench run, for every figure that needs the zip (removed at exit)."""
    global _shared
    if _shared is None:
        keep = tempfile.TemporaryDirectory(prefix="gatehouse-package-")
        archive, fallback = build_zip(Path(keep.name))
        _shared = (keep, archive, fallback)
    return _shared[1], _shared[2]


def contributors(archive: Path) -> tuple[Counter[str], Counter[str], list[str]]:
    """Compressed and uncompressed bytes by top-level entry, and any AWS SDK files found."""
    compressed: Counter[str] = Counter()
    uncompressed: Counter[str] = Counter()
    sdk = []
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            top = info.filename.split("/", 1)[0]
            compressed[top] += info.compress_size
            uncompressed[top] += info.file_size
            if info.filename.startswith(AWS_SDK):
                sdk.append(info.filename)
    return compressed, uncompressed, sdk


def _details(archive: Path, fallback: str | None) -> tuple[list[str], list[str]]:
    compressed, uncompressed, sdk = contributors(archive)
    lines = []
    if fallback:
        lines.append(f"plain `chalice package` failed ({fallback}); measured with the packaging-only config")
    lines.append(f"unzipped: {fmt_megabytes(sum(uncompressed.values()))} (Lambda's limit: 250 MB)")
    lines.append("biggest contributors (compressed / unzipped):")
    lines += [
        f"  {name}: {fmt_megabytes(size)} / {fmt_megabytes(uncompressed[name])}"
        for name, size in compressed.most_common(8)
    ]
    lines.append(f"boto3/botocore/s3transfer files vendored: {len(sdk)}")
    return lines, sdk


def measure() -> list[Result]:
    archive, fallback = shared_zip()
    size = archive.stat().st_size
    lines, sdk = _details(archive, fallback)
    count = float(len(sdk))
    zip_row = Result("deployment package (chalice package zip)", float(size), LIMIT_BYTES, fmt=fmt_megabytes)
    zip_row.details = lines
    sdk_row = Result("AWS SDK files vendored in the zip", count, 0.0, fmt=lambda n: f"{n:.0f} files")
    return [zip_row, sdk_row]
