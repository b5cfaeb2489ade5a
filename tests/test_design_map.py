"""docs/DESIGN.md's map names only modules, folders and names that exist.

The map answers a newcomer's questions by pointing into the tree; a rename
that the map does not follow would send them to nothing.  Every backticked
path in the section (``gatehouse/verify/tokens.py``, ``gatehouse/web/views/``)
must exist, and a ``path.py:name`` (or ``path.py:Class.method``) must be
defined in that file.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DESIGN = ROOT / "docs" / "DESIGN.md"
# A backticked reference to the tree: a .py file or a folder, optionally :name or :Class.name.
REFERENCE = re.compile(r"`(?P<path>[\w./-]+?(?:\.py|/))(?::(?P<name>[\w.]+))?(?:\([^`]*\))?`")


def section(text: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", text, flags=re.S | re.M)
    assert match is not None, f"DESIGN.md has no '## {title}' section"
    return match.group(1)


def references(text: str) -> list[tuple[str, str | None]]:
    return [(m["path"], m["name"]) for m in REFERENCE.finditer(text)]


def defined_names(path: Path) -> set[str]:
    """Top-level functions, classes and assignments, and Class.method for each method."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            if isinstance(node, ast.ClassDef):
                names |= {
                    f"{node.name}.{item.name}"
                    for item in node.body
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
                }
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


MAP = references(section(DESIGN.read_text(encoding="utf-8"), "Map"))


def test_the_map_answers_the_four_questions_with_references() -> None:
    text = section(DESIGN.read_text(encoding="utf-8"), "Map")
    for question in (
        "Where is a token verified?",
        "How does logout reach the authorizer?",
        "Where does an error become HTTP?",
        "The path of `POST /notes`.",
    ):
        assert question in text
    assert len(MAP) >= 20


@pytest.mark.parametrize(("path", "name"), MAP, ids=[f"{p}:{n}" if n else p for p, n in MAP])
def test_every_module_and_name_the_map_names_exists(path: str, name: str | None) -> None:
    target = ROOT / path
    assert target.is_dir() if path.endswith("/") else target.is_file(), f"{path} is not in the tree"
    if name is not None:
        assert name in defined_names(target), f"{path} defines no {name}"


def test_the_reference_pattern_reads_paths_names_and_calls() -> None:
    text = "`a/b.py`, `a/c/`, `a/b.py:f`, `a/b.py:C.m`, `app.py:create_note(identity)`, `POST /x`"
    assert references(text) == [
        ("a/b.py", None),
        ("a/c/", None),
        ("a/b.py", "f"),
        ("a/b.py", "C.m"),
        ("app.py", "create_note"),
    ]
