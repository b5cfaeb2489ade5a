"""The Lambda zip ships byte code that Python really uses, and that is never stale.

The zip is the one the session's ``package`` fixture (tests/conftest.py) built
with the real ``chalice package``; ``make package``'s byte-code step
(``python -m gatehouse.release.bytecode``) is run on copies of it here, as the
Makefile runs it. Each zip is then extracted into a read-only directory and
run by fresh interpreters as Lambda runs it: the package first on
``sys.path`` (``-P -S``: no script directory, no site-packages) and
``PYTHONDONTWRITEBYTECODE=1``. ``python -v`` reports, for every module,
whether its code object came from a ``.pyc`` or was compiled from source.
No timing is asserted (that is ``make bench BENCH_ARGS=zip``).
"""

from __future__ import annotations

import importlib.util
import json
import marshal
import os
import re
import shutil
import stat
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

import app as gatehouse_app
from gatehouse.authorizer.policy import ROUTES_VARIABLE
from gatehouse.component import protected_routes
from gatehouse.jose.access_tokens import TokenRules, issue_access_token
from gatehouse.jose.keys import generate_signing_jwk, load_signing_key, public_jwks
from gatehouse.release import bytecode
from gatehouse.settings import Settings
from tests.conftest import ROOT, Package
from tests.release.stack import FUNCTIONS

pytestmark = pytest.mark.deploy

LIMIT_BYTES = 10_000_000  # the zip stays well within Lambda's limits
CACHE_TAG = sys.implementation.cache_tag  # cpython-311: the venv that ran `chalice package`
RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"
UNCHECKED_HASH_FLAGS = 0b01  # PEP 552: hash-based, check_source off
# -v: "# code object from '/x/__pycache__/m.cpython-311.pyc'" (quoted) when the .pyc was
# used, "# code object from /x/m.py" (unquoted) when the source was compiled.
FROM_PYC = re.compile(r"^# code object from '(.+\.pyc)'$")
FROM_SOURCE = re.compile(r"^# code object from (.+\.py)$")
# The authorizer's cold path, then the app and every module the API handler may import lazily.
CHILD = """
import importlib, json, pkgutil, sys
from gatehouse.authorizer.handler import gatehouse_auth
policy = gatehouse_auth(json.loads(sys.argv[1]), None)
assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow", policy
import app, chalicelib, gatehouse
for module in pkgutil.walk_packages(chalicelib.__path__, "chalicelib."):
    importlib.import_module(module.name)
# Every module of the package a function may import (the tooling never runs in Lambda).
TOOLING = ("gatehouse.dev", "gatehouse.release", "gatehouse.admin", "gatehouse.init", "gatehouse.__main__")
for module in pkgutil.walk_packages(gatehouse.__path__, "gatehouse."):
    if not module.name.startswith(TOOLING):
        importlib.import_module(module.name)
import argon2, jwt, zxcvbn
print(json.dumps({name: getattr(module, "__file__", None) for name, module in sys.modules.items()}))
"""


@dataclass(frozen=True)
class Built:
    """A copy of the session's build/ after `python -m gatehouse.release.bytecode`."""

    build: Path
    before: bytes  # the zip as Chalice built it

    @property
    def zip_path(self) -> Path:
        return self.build / bytecode.ZIP_NAME


def _run_step(build: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The byte-code step exactly as `make package` runs it, in its own interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "gatehouse.release.bytecode", str(build)],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _copy_build(package: Package, dest: Path) -> Path:
    shutil.copytree(package.zip_path.parent, dest)
    return dest


@pytest.fixture(scope="module")
def built(package: Package, tmp_path_factory: pytest.TempPathFactory) -> Built:
    build = _copy_build(package, tmp_path_factory.mktemp("bytecode") / "build")
    result = _run_step(build)
    assert result.returncode == 0, result.stderr
    assert f"unchecked-hash .pyc ({CACHE_TAG}, Lambda {RUNTIME})" in result.stdout
    return Built(build, package.zip_path.read_bytes())


def _extract_read_only(archive: Path, dest: Path) -> Path:
    with zipfile.ZipFile(archive) as bundle:
        bundle.extractall(dest)
    for path in [dest, *dest.rglob("*")]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))  # chmod -R a-w
    return dest


def _make_writable(tree: Path) -> None:
    for path in [tree, *tree.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """Where a zip gets extracted, made writable again afterwards so pytest can clean up."""
    task = tmp_path / "task"
    yield task
    if task.exists():
        _make_writable(task)


def _snapshot(tree: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(tree)): (p.stat().st_size, p.stat().st_mtime_ns) for p in tree.rglob("*")}


def _authorizer_event() -> tuple[str, str]:
    """A valid TOKEN event and the JWKS that verifies it, with the default settings."""
    jwk = generate_signing_jwk("EdDSA")
    settings = replace(Settings(), jwks=json.dumps(public_jwks([jwk])))
    rules = TokenRules(
        issuer=settings.issuer,
        audience=settings.audience,
        lifetime=settings.access_token_ttl,
        leeway=settings.leeway,
        max_bytes=settings.max_token_bytes,
    )
    token, _ = issue_access_token(
        load_signing_key(json.dumps(jwk)),
        rules,
        subject="bytecode-test",
        username="someone",
        session_id="bytecode-session",
        roles=["user"],
        now=int(time.time()),
    )
    event = {
        "type": "TOKEN",
        "authorizationToken": f"Bearer {token}",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/api/GET/me",
    }
    return json.dumps(event), settings.jwks


@dataclass(frozen=True)
class ImportLog:
    from_pyc: set[str]  # .pyc paths, relative to the task root
    from_source: list[str]  # every source compiled, anywhere
    output: Any  # the child's last line of output, as JSON
    verbose: str


def _run_like_lambda(task: Path, code: str, *args: str) -> ImportLog:
    """A fresh interpreter, the package first on sys.path, nothing written, `-v` import log."""
    event, jwks = _authorizer_event()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(task),  # /var/task comes first on Lambda
        "PYTHONDONTWRITEBYTECODE": "1",
        "GATEHOUSE_JWKS": jwks,
        "GATEHOUSE_CHECK_SESSIONS": "false",
        # What the merge template gives the authorizer function.
        ROUTES_VARIABLE: protected_routes(gatehouse_app.app).encode(),
    }
    result = subprocess.run(
        [sys.executable, "-P", "-S", "-v", "-c", code, event, *args],
        cwd=task,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # -v's import log buries the child's own error: show the lines that are not the log.
    errors = [line for line in result.stderr.splitlines() if not line.startswith(("#", "import "))]
    assert result.returncode == 0, "\n".join(errors)[-3000:]
    prefix = str(task) + os.sep
    from_pyc = set()
    from_source = []
    for line in result.stderr.splitlines():
        if match := FROM_PYC.match(line):
            path = match.group(1)
            if path.startswith(prefix):
                from_pyc.add(path.removeprefix(prefix))
        elif match := FROM_SOURCE.match(line):
            from_source.append(match.group(1))
    output = json.loads(result.stdout.strip().splitlines()[-1])
    return ImportLog(from_pyc, from_source, output, result.stderr)


def _as_built(built: Built) -> Path:
    """The zip as Chalice built it, before the step (a file next to the copy of build/)."""
    path = built.build.parent / "as-built.zip"
    if not path.exists():
        path.write_bytes(built.before)
    return path


def _pyc_for(source: str) -> str:
    return bytecode.pyc_name(source, CACHE_TAG)


def _header(pyc: bytes) -> tuple[bytes, int, bytes]:
    """PEP 552: magic, flags, source hash (for hash-based files)."""
    return pyc[:4], int.from_bytes(pyc[4:8], "little"), pyc[8:16]


# -- the packaged byte code is what Python imports -----------------------------------------


def test_every_module_the_functions_import_is_loaded_from_the_packaged_pyc(
    built: Built, read_only: Path
) -> None:
    task = _extract_read_only(built.zip_path, read_only)
    before = _snapshot(task)
    log = _run_like_lambda(task, CHILD)

    assert not [path for path in log.from_source if path.startswith(str(task))], log.from_source
    assert "bytecode is stale" not in log.verbose
    assert _snapshot(task) == before  # nothing written into the package
    # The modules of the issue, by name, came from the package, and their .pyc was used.
    ours = {name: file for name, file in log.output.items() if file and file.startswith(str(task))}
    for name in [
        "app",
        "chalice.app",
        "jwt",
        "jwt.api_jwt",
        "gatehouse.jose.access_tokens",
        "gatehouse.authorizer.policy",
    ]:
        source = str(Path(ours[name]).relative_to(task))
        assert _pyc_for(source) in log.from_pyc, name
    app_sources = {str(p.relative_to(task)) for p in (task / "chalicelib").glob("*.py")}
    assert {_pyc_for(s) for s in app_sources} <= log.from_pyc
    tooling = {"dev", "release", "admin", "init", "__main__.py"}
    gatehouse_sources = {
        str(p.relative_to(task))
        for p in (task / "gatehouse").rglob("*.py")
        if p.relative_to(task / "gatehouse").parts[0] not in tooling
    }
    assert gatehouse_sources
    assert {_pyc_for(s) for s in gatehouse_sources} <= log.from_pyc
    # Everything imported from the package: argon2, zxcvbn, cryptography, cffi ... too.
    imported_sources = {str(Path(file).relative_to(task)) for file in ours.values() if file.endswith(".py")}
    assert len(imported_sources) > 100
    assert {_pyc_for(s) for s in imported_sources} <= log.from_pyc


def test_without_the_step_the_same_run_compiles_every_module_from_source(
    built: Built, read_only: Path
) -> None:
    """The control: Chalice's own zip gives Lambda no usable byte code at all."""
    task = _extract_read_only(_as_built(built), read_only)
    log = _run_like_lambda(task, CHILD)
    compiled_here = {str(Path(p).relative_to(task)) for p in log.from_source if p.startswith(str(task))}
    assert {
        "app.py",
        "gatehouse/jose/access_tokens.py",
        "jwt/api_jwt.py",
        "chalice/app.py",
    } <= compiled_here
    assert not log.from_pyc


# -- what the zip holds ------------------------------------------------------------------------


def test_every_py_has_an_unchecked_hash_pyc_of_exactly_its_shipped_source(built: Built) -> None:
    with zipfile.ZipFile(built.zip_path) as bundle:
        names = bundle.namelist()
        sources = {n: bundle.read(n) for n in names if n.endswith(".py")}
        pycs = {n: bundle.read(n) for n in names if n.endswith(".pyc")}
    assert len(sources) > 100
    assert set(pycs) == {_pyc_for(name) for name in sources}  # one each, nothing else
    for name, source in sources.items():
        magic, flags, source_hash = _header(pycs[_pyc_for(name)])
        assert magic == importlib.util.MAGIC_NUMBER, name
        assert flags == UNCHECKED_HASH_FLAGS, name
        assert source_hash == importlib.util.source_hash(source), name


def test_the_zip_is_sorted_with_fixed_times_and_modes_and_within_10_mb(built: Built) -> None:
    with zipfile.ZipFile(built.zip_path) as bundle:
        infos = bundle.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names)
    assert len(set(names)) == len(names)
    assert {info.date_time for info in infos} == {bytecode.FIXED_TIME}
    assert {info.external_attr >> 16 for info in infos} <= {0o100644, 0o100755}
    assert {info.compress_type for info in infos} == {zipfile.ZIP_DEFLATED}
    # The step keeps everything Chalice put in, except the .pyc it replaces.
    with zipfile.ZipFile(_as_built(built)) as chalice:
        kept = {n for n in chalice.namelist() if not n.endswith(".pyc")}
    assert kept == {n for n in names if not n.endswith(".pyc")}
    size = built.zip_path.stat().st_size
    assert size <= LIMIT_BYTES, f"{size / 1e6:.2f} MB"


def test_rebuilds_are_byte_for_byte_identical(built: Built, package: Package, tmp_path: Path) -> None:
    again = _copy_build(package, tmp_path / "again")
    result = _run_step(again, PYTHONHASHSEED="12345")  # another process, other hashes
    assert result.returncode == 0, result.stderr
    assert (again / bytecode.ZIP_NAME).read_bytes() == built.zip_path.read_bytes()
    # And running the step on its own output changes nothing.
    rerun = _run_step(again)
    assert rerun.returncode == 0, rerun.stderr
    assert (again / bytecode.ZIP_NAME).read_bytes() == built.zip_path.read_bytes()


# -- stale byte code -------------------------------------------------------------------------


def _zip_tree(tree: Path, archive: Path) -> None:
    """Zip a directory the plain way (as `chalice package` would), .pyc files included."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(tree.rglob("*")):
            if path.is_file():
                bundle.write(path, str(path.relative_to(tree)))


def test_a_changed_source_is_recompiled_and_its_stale_pyc_replaced(
    built: Built, tmp_path: Path, read_only: Path
) -> None:
    # The package as built, unzipped; one module changes but keeps its old .pyc.
    tree = tmp_path / "tree"
    with zipfile.ZipFile(built.zip_path) as bundle:
        bundle.extractall(tree)
    module = tree / "gatehouse" / "errors.py"
    stale_pyc = (tree / _pyc_for("gatehouse/errors.py")).read_bytes()
    new_source = module.read_bytes() + b'\nBYTECODE_TEST_MARKER = "rebuilt from the shipped source"\n'
    module.write_bytes(new_source)
    build = tmp_path / "build"
    build.mkdir()
    shutil.copy(built.build / bytecode.TEMPLATE_NAME, build)
    _zip_tree(tree, build / bytecode.ZIP_NAME)

    result = _run_step(build)
    assert result.returncode == 0, result.stderr

    with zipfile.ZipFile(build / bytecode.ZIP_NAME) as bundle:
        pyc = bundle.read(_pyc_for("gatehouse/errors.py"))
    assert pyc != stale_pyc
    _magic, flags, source_hash = _header(pyc)
    assert flags == UNCHECKED_HASH_FLAGS
    assert source_hash == importlib.util.source_hash(new_source)
    assert "BYTECODE_TEST_MARKER" in marshal.loads(pyc[16:]).co_names  # noqa: S302 (built just now)
    # And Python runs the new code, from the new .pyc.
    task = _extract_read_only(build / bytecode.ZIP_NAME, read_only)
    code = "import json, gatehouse.errors as e; print(json.dumps(e.BYTECODE_TEST_MARKER))"
    log = _run_like_lambda(task, code)
    assert log.output == "rebuilt from the shipped source"
    assert _pyc_for("gatehouse/errors.py") in log.from_pyc
    assert not [p for p in log.from_source if p.startswith(str(task))]


def test_a_pyc_outside_pycache_stops_the_build(built: Built, tmp_path: Path) -> None:
    """A sourceless module cannot be recompiled for the runtime: refuse rather than ship it."""
    build = _copy_build_of(built, tmp_path)
    with zipfile.ZipFile(build / bytecode.ZIP_NAME, "a") as bundle:
        bundle.writestr("legacy.pyc", b"\0" * 16)
    before = (build / bytecode.ZIP_NAME).read_bytes()
    result = _run_step(build)
    assert result.returncode == 2
    assert "legacy.pyc is a .pyc outside __pycache__/" in result.stderr
    assert (build / bytecode.ZIP_NAME).read_bytes() == before


def test_a_source_that_does_not_compile_stops_the_build(built: Built, tmp_path: Path) -> None:
    build = _copy_build_of(built, tmp_path)
    with zipfile.ZipFile(build / bytecode.ZIP_NAME, "a") as bundle:
        bundle.writestr("broken_module.py", b"def oops(:\n")
    result = _run_step(build)
    assert result.returncode == 2
    assert "cannot compile" in result.stderr
    assert "broken_module.py: SyntaxError" in result.stderr


def _copy_build_of(built: Built, tmp_path: Path) -> Path:
    build = tmp_path / "build"
    build.mkdir()
    shutil.copy(built.build / bytecode.TEMPLATE_NAME, build)
    (build / bytecode.ZIP_NAME).write_bytes(built.before)
    return build


# -- the runtime's Python version --------------------------------------------------------------


def test_the_runtime_comes_from_the_packaged_template(package: Package) -> None:
    assert bytecode.lambda_runtime(package.template) == RUNTIME
    assert bytecode.check_interpreter(RUNTIME) == CACHE_TAG == "cpython-311"


def _with_runtime(template: dict[str, Any], runtimes: dict[str, str]) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(template))
    for function, runtime in runtimes.items():
        copy["Resources"][function]["Properties"]["Runtime"] = runtime
    return copy


def test_refuses_when_the_interpreter_is_not_the_runtimes_python(built: Built, tmp_path: Path) -> None:
    build = _copy_build_of(built, tmp_path)
    template = json.loads((build / bytecode.TEMPLATE_NAME).read_text())
    other = "python3.12" if RUNTIME != "python3.12" else "python3.13"
    changed = _with_runtime(template, dict.fromkeys(FUNCTIONS, other))
    (build / bytecode.TEMPLATE_NAME).write_text(json.dumps(changed))
    result = _run_step(build)
    assert result.returncode == 2
    assert f"the Lambda runtime is {other} but this interpreter is cpython" in result.stderr
    assert "make package BYTECODE=0" in result.stderr
    assert (build / bytecode.ZIP_NAME).read_bytes() == built.before  # untouched


@pytest.mark.parametrize(
    ("runtimes", "message"),
    [
        ({"GatehouseAuth": "python3.12"}, "declare different runtimes"),
        (dict.fromkeys(FUNCTIONS, "nodejs20.x"), "is not a Python runtime"),
    ],
)
def test_refuses_an_ambiguous_or_non_python_runtime(
    package: Package, runtimes: dict[str, str], message: str
) -> None:
    template = _with_runtime(package.template, runtimes)
    with pytest.raises(bytecode.BytecodeError, match=message):
        bytecode.check_interpreter(bytecode.lambda_runtime(template))


# -- make package ------------------------------------------------------------------------------


def _make_dry_run(*args: str) -> str:
    result = subprocess.run(
        ["make", "-n", "-o", ".venv/.installed", "package", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def test_make_package_adds_the_byte_code_after_chalice_package_unless_bytecode_0() -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    commands = _make_dry_run()
    assert commands.index("chalice package") < commands.index("-m gatehouse.release.bytecode build")
    assert "gatehouse.release.bytecode" not in _make_dry_run("BYTECODE=0")
