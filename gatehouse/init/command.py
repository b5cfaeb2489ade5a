"""``gatehouse init [--check] [--force] [--project-dir DIR]``.

Writes what :mod:`gatehouse.init.files` generates into the project, and never
loses an edit: a file that differs from what this version generates is
replaced only when init itself wrote it and nobody changed it since (its hash is
in ``.chalice/gatehouse-init.json``), or when it is the ``config.json`` that
``chalice new-project`` wrote.  A file you edited is kept as it is while init
would still write what it wrote last time (it has nothing new for it), so that
adding a table after editing ``config.json`` needs no merge.  Any other
difference (your edit and a new generated version) stops init before it writes
anything, naming the file; ``--force`` replaces it.  Running init again
changes nothing.  ``--check`` writes nothing and lists the generated files that
differ from what this version generates (status 1 when there is one): the
upgrade path after installing a new version (docs/UPGRADING.md).

The app's declared tables (``gate.table(...)``) go into the ``chalice deploy``
policy, so init imports ``app.py``, as ``chalice`` does.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatehouse import __version__
from gatehouse.app_tables import AppTable
from gatehouse.init import files
from gatehouse.project import CONFIG, ProjectNotFound, find

MANIFEST = ".chalice/gatehouse-init.json"


class InitError(Exception):
    """init cannot go on; the message says what to do.

    Not a :class:`~gatehouse.errors.GatehouseError`: a refusal of ``gatehouse init``, printed as its
    one line; it never reaches the HTTP edge.
    """


@dataclass(frozen=True)
class Plan:
    """What init would do to one file."""

    path: str
    content: str
    state: str  # created | unchanged | updated | kept (your edit, nothing new) | edited (to merge)

    @property
    def writes(self) -> bool:
        return self.state in ("created", "updated")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _pristine_chalice_config(text: str) -> bool:
    """The config.json `chalice new-project` writes: nothing of the user's in it yet."""
    try:
        document = json.loads(text)
    except ValueError:
        return False
    return (
        isinstance(document, dict)
        and document.get("stages") == {"dev": {"api_gateway_stage": "api"}}
        and (set(document) == {"version", "app_name", "stages"})
    )


def _pristine(path: str, current: str) -> bool:
    """A file init may replace although it did not write it: Chalice's own new-project config."""
    return path == files.CONFIG and _pristine_chalice_config(current)


def load_app(project_dir: Path) -> tuple[str, tuple[AppTable, ...]]:
    """The app's name (config.json's ``app_name``) and its declared tables (from importing app.py)."""
    try:
        config = json.loads((project_dir / CONFIG).read_text(encoding="utf-8"))
    except ValueError as error:
        raise InitError(f"{CONFIG} is not valid JSON ({error}): fix it, then run init again") from None
    app_name = config.get("app_name") if isinstance(config, dict) else None
    if not isinstance(app_name, str) or not app_name:
        raise InitError(f"{CONFIG} has no app_name: is this a Chalice project?")
    if not (project_dir / "app.py").is_file():
        return app_name, ()
    from gatehouse.component import declared_tables

    # Imported as Chalice imports it (module `app`, the project first on the path), and the
    # caller's own `app` module (if any) put back afterwards.
    sys.path.insert(0, str(project_dir))
    previous = sys.modules.pop("app", None)
    try:
        module: Any = importlib.import_module("app")
    except Exception as error:  # the app's own code: say what failed, never a traceback
        raise InitError(
            f"cannot import app.py ({type(error).__name__}: {error}): fix it, then run init again"
        ) from None
    finally:
        sys.path.remove(str(project_dir))
        sys.modules.pop("app", None)
        if previous is not None:
            sys.modules["app"] = previous
    chalice_app = getattr(module, "app", None)
    return app_name, declared_tables(chalice_app) if chalice_app is not None else ()


def plan(project_dir: Path, *, force: bool = False) -> list[Plan]:
    app_name, tables = load_app(project_dir)
    manifest = _read_manifest(project_dir)
    makefile = project_dir / files.MAKEFILE
    ours = not makefile.exists() or files.MAKEFILE in manifest
    planned = []
    for path, content in files.generated(app_name, tables, with_makefile=ours).items():
        target = project_dir / path
        current = target.read_text(encoding="utf-8") if target.is_file() else None
        if current is None:
            state = "created"
        elif current == content:
            state = "unchanged"
        elif force or manifest.get(path) == _sha(current) or _pristine(path, current):
            state = "updated"
        elif manifest.get(path) == _sha(content):
            state = "kept"  # edited by you, and init generates what it wrote last time
        else:
            state = "edited"
        planned.append(Plan(path, content, state))
    return planned


def _read_manifest(project_dir: Path) -> dict[str, str]:
    try:
        recorded = json.loads((project_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    hashes = recorded.get("files") if isinstance(recorded, dict) else None
    return {str(k): str(v) for k, v in hashes.items()} if isinstance(hashes, dict) else {}


def _write_manifest(project_dir: Path, planned: Sequence[Plan]) -> None:
    document = {
        "generator": f"gatehouse-chalice {__version__}",
        "files": {p.path: _sha(p.content) for p in planned},
    }
    (project_dir / MANIFEST).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def run_init(project_dir: Path, *, force: bool) -> int:
    planned = plan(project_dir, force=force)
    edited = [p for p in planned if p.state == "edited"]
    if edited:
        for p in edited:
            print(
                f"gatehouse init: {p.path} differs from what gatehouse-chalice {__version__} generates "
                "and holds edits of yours: commit, run `gatehouse init --force`, then put your edits back "
                "from `git diff`",
                file=sys.stderr,
            )
        print("gatehouse init: nothing written.", file=sys.stderr)
        return 1
    for p in planned:
        target = project_dir / p.path
        if p.writes:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(p.content, encoding="utf-8")
        print(f"{p.state:9} {p.path}")
    _write_manifest(project_dir, planned)
    makefile = project_dir / files.MAKEFILE
    if files.MAKEFILE not in {p.path for p in planned} and files.MAKE_FRAGMENT not in makefile.read_text():
        print(f"note: add `include {files.MAKE_FRAGMENT}` to your Makefile (make run, package, deploy-check)")
    return 0


def run_check(project_dir: Path) -> int:
    planned = plan(project_dir)
    manifest = _read_manifest(project_dir)
    stale = [p for p in planned if p.state not in ("unchanged", "kept")]
    for p in stale:
        if p.state == "created":
            why = "missing"
        elif manifest.get(p.path) == _sha((project_dir / p.path).read_text(encoding="utf-8")):
            why = "generated by another version or for other tables: `gatehouse init` updates it"
        else:
            why = "edited: `gatehouse init --force`, then put your edits back from `git diff`"
        print(f"{p.path}: differs from what gatehouse-chalice {__version__} generates ({why})")
    kept = [p.path for p in planned if p.state == "kept"]
    if not stale and kept:
        yours = ", ".join(kept)
        print(f"nothing to bring in from gatehouse-chalice {__version__}; kept with your edits: {yours}")
    elif not stale:
        print(f"all {len(planned)} generated files are what gatehouse-chalice {__version__} generates")
    return 1 if stale else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="gatehouse init",
        description="Add what a Chalice project needs for Gatehouse: stages, policies, make targets.",
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; list generated files that differ"
    )
    parser.add_argument("--force", action="store_true", help="replace generated files even if edited")
    parser.add_argument("--project-dir", type=Path, help="the Chalice project (default: found from here)")
    args = parser.parse_args(argv)
    try:
        project_dir = find(args.project_dir)
        return run_check(project_dir) if args.check else run_init(project_dir, force=args.force)
    except (ProjectNotFound, InitError) as error:
        print(f"gatehouse init: {error}", file=sys.stderr)
        return 1
