"""No import cycles between Gatehouse's packages.

The nodes are the package's parts one level down (``gatehouse.accounts``,
``gatehouse.storage``, ``gatehouse.component``, ...); an edge is any import
of one by another, wherever it stands: at the top, inside a function, or
under ``TYPE_CHECKING`` (a type-only import is still a dependency of the
design, and the next edit turns it into a real one).  A cycle means two
layers that can be neither understood nor tested one without the other; the
failure names it with the file of each import in it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "gatehouse"

Edge = tuple[str, str, str]  # (importing part, imported part, importing file)


def part_of(module: str, package: Path) -> str | None:
    """``gatehouse.accounts.login`` -> ``gatehouse.accounts``; None outside the package."""
    names = module.split(".")
    if names[0] != "gatehouse" or len(names) < 2:
        return None
    part = f"gatehouse.{names[1]}"
    base = package / names[1]
    return part if base.is_dir() or base.with_suffix(".py").is_file() else None


def imported_modules(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            # ``from gatehouse import logs`` imports the module gatehouse.logs.
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def import_edges(package: Path = PACKAGE) -> set[Edge]:
    edges: set[Edge] = set()
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package.parent)
        importer = part_of(".".join(relative.with_suffix("").parts), package) or "gatehouse"
        for module in imported_modules(ast.parse(path.read_text(encoding="utf-8"))):
            imported = part_of(module, package)
            if imported is not None and imported != importer:
                edges.add((importer, imported, relative.as_posix()))
    return edges


def find_cycle(edges: set[Edge]) -> list[Edge] | None:
    """One cycle of the graph as its edges, or None (depth-first search)."""
    out: dict[str, list[Edge]] = {}
    for edge in sorted(edges):
        out.setdefault(edge[0], []).append(edge)
    state: dict[str, str] = {}  # "open" while on the path, "done" after
    path: list[Edge] = []

    def visit(node: str) -> list[Edge] | None:
        state[node] = "open"
        for edge in out.get(node, []):
            target = edge[1]
            if state.get(target) == "open":  # back on the path: from target round to here
                start = next(i for i, e in enumerate(path) if e[0] == target)
                return [*path[start:], edge]
            if target not in state:
                path.append(edge)
                found = visit(target)
                if found:
                    return found
                path.pop()
        state[node] = "done"
        return None

    for node in sorted(out):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def describe(cycle: list[Edge]) -> str:
    return " -> ".join(f"{a} ({where})" for a, _b, where in cycle) + f" -> {cycle[0][0]}"


def assert_acyclic(edges: set[Edge]) -> None:
    cycle = find_cycle(edges)
    assert cycle is None, "import cycle: " + describe(cycle)


def test_no_import_cycle_between_the_packages() -> None:
    assert_acyclic(import_edges())


def _graph(edges: Mapping[str, str]) -> set[Edge]:
    return {(a, b, f"{a}.py") for a, b in edges.items()}


def test_the_check_names_a_cycle_with_the_files_that_make_it() -> None:
    cycle = find_cycle(_graph({"a": "b", "b": "c", "c": "a"}) | {("x", "a", "x.py")})
    assert cycle is not None
    assert describe(cycle) == "a (a.py) -> b (b.py) -> c (c.py) -> a"
    assert find_cycle(_graph({"a": "b", "b": "c"})) is None


def test_a_type_only_import_counts_as_an_edge(tmp_path: Path) -> None:
    package = tmp_path / "gatehouse"
    (package / "low").mkdir(parents=True)
    (package / "high.py").write_text("from gatehouse.low import thing\n")
    (package / "low" / "thing.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from gatehouse import high\n"
    )
    edges = import_edges(package)
    assert ("gatehouse.low", "gatehouse.high", "gatehouse/low/thing.py") in edges
    assert find_cycle(edges) is not None
