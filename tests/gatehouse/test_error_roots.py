"""One error root: every exception class the package defines descends from GatehouseError,
or its docstring says why it does not (a command's one-line refusal, a build step's, the
gateway's own contract), so no error can reach the HTTP edge without a stable code."""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "gatehouse"
WHY_NOT = "Not a :class:`~gatehouse.errors.GatehouseError`"


def exception_roots() -> list[tuple[str, ast.ClassDef]]:
    """Classes whose base is a built-in exception (not another class of the package)."""
    builtin = {
        name
        for name, value in vars(builtins).items()
        if isinstance(value, type) and issubclass(value, BaseException)
    }
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(base, ast.Name) and base.id in builtin for base in node.bases
            ):
                found.append((f"{path.relative_to(ROOT.parent)}:{node.name}", node))
    return found


def test_the_package_has_one_error_root_for_requests() -> None:
    roots = [
        name
        for name, node in exception_roots()
        if WHY_NOT not in " ".join((ast.get_docstring(node) or "").split())
    ]
    assert roots == ["gatehouse/errors.py:GatehouseError"]


def test_the_walk_finds_the_roots_that_stand_apart() -> None:
    names = {name for name, _ in exception_roots()}
    assert "gatehouse/admin/cli.py:CommandError" in names
    assert "gatehouse/authorizer/bearer.py:Unauthorized" in names
