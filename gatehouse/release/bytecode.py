"""Precompiled byte code in the Lambda zip: ``python -m gatehouse.release.bytecode build``.

``make package`` runs this right after ``chalice package``. It rewrites
``build/deployment.zip`` (the zip ``build/sam.json`` points at, which
``aws cloudformation package`` uploads) in place:

* every ``.py`` in the zip is compiled, from the bytes in the zip, to an
  unchecked-hash ``.pyc`` (PEP 552) at ``<dir>/__pycache__/<name>.cpython-3XY.pyc``.
  Python loads such a file without looking at the source's timestamp or
  contents, so it stays valid whatever times the files get when Lambda
  extracts the zip, and nothing needs to be written at run time (``/var/task``
  is read-only on Lambda);
* every ``.pyc`` that was already in a ``__pycache__/`` of the zip is dropped
  first. ``chalice package`` copies ``chalicelib/__pycache__`` from the
  working tree: timestamp-based files of whatever the developer last ran,
  which Lambda can never use. A ``.pyc`` outside ``__pycache__/`` (a
  sourceless module) stops the build, because it cannot be recompiled;
* the zip is written again with its entries sorted by name, a fixed time
  (1980-01-01 00:00), modes 0644 (0755 when executable) and deflate, so the
  same sources and wheels always give the same bytes.

Byte code belongs to one Python minor version. The step reads the Lambda
runtime from ``sam.json`` (Chalice writes the version of the Python that ran
``chalice package``) and refuses to run under any other interpreter.
``make package BYTECODE=0`` skips it and ships the zip as Chalice built it.
"""

from __future__ import annotations

import argparse
import json
import os
import py_compile
import re
import sys
import tempfile
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

ZIP_NAME = "deployment.zip"
TEMPLATE_NAME = "sam.json"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold
UNIX = 3  # ZipInfo.create_system: external_attr holds Unix mode bits
FUNCTION_TYPES = frozenset({"AWS::Serverless::Function", "AWS::Lambda::Function"})
_PYTHON_RUNTIME = re.compile(r"python(\d+)\.(\d+)")


class BytecodeError(Exception):
    """The step cannot run; the message says why and what to do.

    Not a :class:`~gatehouse.errors.GatehouseError`: a build step's refusal, never a request's.
    """


@dataclass(frozen=True)
class Summary:
    runtime: str
    cache_tag: str
    compiled: int
    dropped: int
    size_before: int
    size_after: int

    def __str__(self) -> str:
        return (
            f"{self.compiled} .py compiled to unchecked-hash .pyc ({self.cache_tag}, Lambda {self.runtime}), "
            f"{self.dropped} .pyc already in the zip dropped, "
            f"{self.size_before / 1e6:.2f} MB -> {self.size_after / 1e6:.2f} MB"
        )


def _uses_zip(properties: Mapping[str, Any], zip_name: str) -> bool:
    code_uri = properties.get("CodeUri")
    return isinstance(code_uri, str) and PurePosixPath(code_uri) == PurePosixPath(zip_name)


def lambda_runtime(template: Mapping[str, Any], zip_name: str = ZIP_NAME) -> str:
    """The one ``Runtime`` (``python3.11``) of the functions whose code is ``zip_name``."""
    default = template.get("Globals", {}).get("Function", {}).get("Runtime")
    runtimes: dict[str, str] = {}
    for logical, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        if resource.get("Type") in FUNCTION_TYPES and _uses_zip(properties, zip_name):
            runtime = properties.get("Runtime", default)
            if not isinstance(runtime, str):
                raise BytecodeError(f"function {logical} declares no Runtime in {TEMPLATE_NAME}")
            runtimes[logical] = runtime
    if not runtimes:
        raise BytecodeError(f"no function in {TEMPLATE_NAME} has CodeUri {zip_name}")
    if len(set(runtimes.values())) > 1:
        listed = ", ".join(f"{name}: {runtime}" for name, runtime in sorted(runtimes.items()))
        raise BytecodeError(f"the functions sharing {zip_name} declare different runtimes ({listed})")
    [runtime] = set(runtimes.values())
    return runtime


def python_version(runtime: str) -> tuple[int, int]:
    match = _PYTHON_RUNTIME.fullmatch(runtime)
    if match is None:
        raise BytecodeError(f"Lambda runtime {runtime!r} is not a Python runtime (pythonX.Y)")
    return int(match.group(1)), int(match.group(2))


def check_interpreter(runtime: str) -> str:
    """The cache tag (``cpython-311``) for ``runtime``, if this interpreter can compile for it."""
    major, minor = python_version(runtime)
    tag = f"cpython-{major}{minor}"
    running = f"{sys.implementation.name} {sys.version_info.major}.{sys.version_info.minor}"
    if sys.implementation.cache_tag != tag or sys.version_info[:2] != (major, minor):
        raise BytecodeError(
            f"the Lambda runtime is {runtime} but this interpreter is {running} ({sys.executable}); "
            f"byte code only loads on the Python minor version that wrote it. Run this step with "
            f"CPython {major}.{minor} (the venv that ran `chalice package` is one), or build "
            "without byte code: make package BYTECODE=0"
        )
    return tag


def pyc_name(source: str, cache_tag: str) -> str:
    """``a/b/c.py`` -> ``a/b/__pycache__/c.cpython-311.pyc`` (what the import system looks for)."""
    path = PurePosixPath(source)
    return str(path.parent / "__pycache__" / f"{path.stem}.{cache_tag}.pyc").removeprefix("./")


def _compile_all(sources: Mapping[str, bytes], cache_tag: str) -> dict[str, bytes]:
    """Archive name of each .pyc -> its bytes, compiled from ``sources`` (archive name -> .py bytes)."""
    compiled: dict[str, bytes] = {}
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="gatehouse-bytecode-") as tmp:
        work = Path(tmp)
        source_file, pyc_file = work / "module.py", work / "module.pyc"
        for name in sorted(sources):
            source_file.write_bytes(sources[name])
            try:
                with warnings.catch_warnings():
                    # Warnings about the vendored code itself (invalid escapes ...) are not ours to fix.
                    warnings.simplefilter("ignore")
                    py_compile.compile(
                        str(source_file),
                        cfile=str(pyc_file),
                        dfile=name,  # co_filename; the import system replaces it with the real path
                        doraise=True,
                        optimize=0,
                        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
                    )
            except py_compile.PyCompileError as error:
                failures.append(f"{name}: {error.exc_type_name}: {error.exc_value}")
                continue
            compiled[pyc_name(name, cache_tag)] = pyc_file.read_bytes()
    if failures:
        raise BytecodeError("cannot compile:\n  " + "\n  ".join(failures))
    return compiled


def _entry(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    info.create_system = UNIX
    info.compress_type = zipfile.ZIP_DEFLATED
    executable = mode & 0o111
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    return info


def add_bytecode(archive: Path, runtime: str) -> Summary:
    """Rewrite ``archive`` in place with byte code for ``runtime`` (see the module docstring)."""
    cache_tag = check_interpreter(runtime)
    size_before = archive.stat().st_size
    files: dict[str, tuple[int, bytes]] = {}
    dropped = 0
    with zipfile.ZipFile(archive) as bundle:
        for info in bundle.infolist():
            name = info.filename
            if info.is_dir():
                continue  # implied by the files' paths; Lambda needs no directory entries
            if name in files:
                raise BytecodeError(f"{archive}: {name} is in the zip twice")
            if name.endswith(".pyc"):
                if PurePosixPath(name).parent.name != "__pycache__":
                    raise BytecodeError(
                        f"{archive}: {name} is a .pyc outside __pycache__/ (a module without source): "
                        "it cannot be recompiled for the Lambda runtime, so it cannot be trusted"
                    )
                dropped += 1
                continue
            files[name] = (info.external_attr >> 16, bundle.read(info))
    sources = {name: data for name, (_mode, data) in files.items() if name.endswith(".py")}
    compiled = _compile_all(sources, cache_tag)
    entries = {name: (_entry(name, mode), data) for name, (mode, data) in files.items()}
    entries.update({name: (_entry(name, 0o644), data) for name, data in compiled.items()})
    partial = archive.with_name(archive.name + ".partial")
    with zipfile.ZipFile(partial, "w") as bundle:
        for name in sorted(entries):
            info, data = entries[name]
            bundle.writestr(info, data)
    os.replace(partial, archive)
    return Summary(runtime, cache_tag, len(compiled), dropped, size_before, archive.stat().st_size)


def add_bytecode_to_build(build: Path) -> Summary:
    """``build/deployment.zip``, for the runtime ``build/sam.json`` declares."""
    template_path = build / TEMPLATE_NAME
    try:
        template = json.loads(template_path.read_text())
    except FileNotFoundError:
        raise BytecodeError(f"{template_path} not found: run `chalice package` first") from None
    return add_bytecode(build / ZIP_NAME, lambda_runtime(template))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gatehouse.release.bytecode",
        description="Add unchecked-hash .pyc files to the deployment.zip that `chalice package` built.",
    )
    parser.add_argument("build", type=Path, nargs="?", default=Path("build"), help="default: build")
    args = parser.parse_args(argv)
    try:
        summary = add_bytecode_to_build(args.build)
    except BytecodeError as error:
        print(f"gatehouse.release.bytecode: refusing to build: {error}", file=sys.stderr)
        return 2
    print(f"{args.build / ZIP_NAME}: {summary}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
