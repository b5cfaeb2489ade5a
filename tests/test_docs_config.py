"""docs/CONFIG.md cannot drift from the settings: names, defaults and ranges are checked here.

Every ``GATEHOUSE_*`` variable that ``gatehouse/settings.py`` reads
is found by calling its readers (``load_settings`` and every public function
of the module that takes ``env``) with an environment that records each
lookup.  The page's table must name exactly those variables; a default it
shows must give the same settings as no value at all; a range it shows must
be exactly the values accepted.  The second table (the example app, the local
run, the clients) is checked against the code that reads each variable.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pytest

from gatehouse import settings
from gatehouse.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "docs" / "CONFIG.md"
SETTINGS_HEADER = ["variable", "default", "allowed", "meaning"]
OTHER_HEADER = ["variable", "default", "read by", "meaning"]
_RANGE = re.compile(r"^(-?\d+) \N{EN DASH} (-?\d+)\b")  # a range cell: low, an en dash, high


class RecordingEnv(Mapping[str, str]):
    """An environment that remembers every variable asked for."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self._values = dict(values or {})
        self.asked: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.asked.add(name)
        return self._values[name]

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str):
            self.asked.add(name)
        return name in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def _readers() -> dict[str, Callable[[Mapping[str, str]], Any]]:
    """``load_settings`` and every public function of settings.py whose one required argument is ``env``."""
    found: dict[str, Callable[[Mapping[str, str]], Any]] = {}
    for name, function in vars(settings).items():
        if (
            name.startswith("_")
            or not inspect.isfunction(function)
            or function.__module__ != settings.__name__
        ):
            continue
        parameters = inspect.signature(function).parameters
        required = [p for p in parameters.values() if p.default is inspect.Parameter.empty]
        if "env" in parameters and [p.name for p in required] == ["env"]:
            found[name] = function
    return found


def _asked_by(reader: Callable[[Mapping[str, str]], Any]) -> set[str]:
    env = RecordingEnv()
    reader(env)
    return {name for name in env.asked if name.startswith(settings.PREFIX)}


@dataclass(frozen=True)
class Row:
    line: int
    cells: dict[str, str]

    @property
    def variable(self) -> str:
        return self.cells["variable"].strip("`")

    def value(self, column: str) -> str | None:
        """A cell's value when it is one code span (`900`), else None (prose such as "none: required")."""
        match = re.fullmatch(r"`([^`]*)`", self.cells[column])
        return match[1] if match else None


def _tables(path: Path, header: list[str]) -> list[Row]:
    rows: list[Row] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    in_table = False
    for number, line in enumerate(lines, 1):
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else None
        if cells is None:
            in_table = False
        elif cells == header:
            in_table = True
        elif in_table and not set("".join(cells)) <= set("-: "):
            rows.append(Row(number, dict(zip(header, cells, strict=True))))
    return rows


def _row_for(variable: str) -> str:
    """The row to add for a variable the page does not have yet, with what the code says."""
    default = "?"
    for reader in _readers().values():
        if variable in _asked_by(reader):
            result = reader({})
            field = variable.removeprefix(settings.PREFIX).lower()
            if isinstance(result, settings.Settings) and field in {f.name for f in fields(result)}:
                result = getattr(result, field)
            default = (
                "none"
                if result in (None, "")
                else f"`{str(result).lower() if isinstance(result, bool) else result}`"
            )
    return f"| `{variable}` | {default} | ... | what it does and why |"


SETTINGS_ROWS = _tables(CONFIG, SETTINGS_HEADER)
OTHER_ROWS = _tables(CONFIG, OTHER_HEADER)


def test_the_settings_table_names_exactly_the_variables_the_settings_read() -> None:
    read = set().union(*(_asked_by(r) for r in _readers().values()))
    shown = [row.variable for row in SETTINGS_ROWS]
    assert len(shown) == len(set(shown)), "a variable is in the table twice"
    missing = sorted(read - set(shown))
    assert not missing, "docs/CONFIG.md has no row for these; add:\n" + "\n".join(
        _row_for(v) for v in missing
    )
    extra = sorted(set(shown) - read)
    assert not extra, f"docs/CONFIG.md shows variables that settings.py does not read: {extra}"


@pytest.mark.parametrize("row", SETTINGS_ROWS, ids=lambda r: r.variable)
def test_each_documented_default_is_the_real_default(row: Row) -> None:
    for name, reader in _readers().items():
        if row.variable not in _asked_by(reader):
            continue
        default = row.value("default")
        if default is None:
            # "none: ...": the setting has no default value; unset, the reader gives nothing.
            assert row.cells["default"].startswith("none"), (
                f"CONFIG.md:{row.line}: a default is `value` or none"
            )
            value = reader({})
            field = row.variable.removeprefix(settings.PREFIX).lower()
            if isinstance(value, settings.Settings):
                value = getattr(value, field, None)
            assert value in (None, "", ()), f"CONFIG.md:{row.line}: {name} gives {value!r} when unset"
        else:
            assert reader({row.variable: default}) == reader({}), (
                f"CONFIG.md:{row.line}: {row.variable}={default} is not what {name} does when it is unset"
            )


@pytest.mark.parametrize("row", SETTINGS_ROWS, ids=lambda r: r.variable)
def test_each_documented_range_is_exactly_what_is_accepted(row: Row) -> None:
    allowed = row.cells["allowed"]
    whole = _RANGE.match(allowed)
    if whole:
        low, high = int(whole[1]), int(whole[2])
        accepted, refused = [str(low), str(high)], [str(low - 1), str(high + 1)]
    elif allowed == "boolean":
        accepted, refused = ["true", "off"], ["maybe"]
    else:
        return  # text: any value is taken as it is
    for reader in _readers().values():
        if row.variable not in _asked_by(reader):
            continue
        for value in accepted:
            reader({row.variable: str(value)})
        for value in refused:
            with pytest.raises(ConfigError, match=row.variable):
                reader({row.variable: str(value)})


def _environ_defaults(path: Path) -> dict[str, str | None]:
    """``os.environ.get("NAME", "default")`` and ``os.environ["NAME"]`` in one module."""
    found: dict[str, str | None] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and ast.unparse(node.func.value) == "os.environ"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            default = node.args[1] if len(node.args) > 1 else None
            found[str(node.args[0].value)] = str(default.value) if isinstance(default, ast.Constant) else None
    return found


def test_the_example_apps_variables_are_all_shown_with_their_defaults() -> None:
    in_code = _environ_defaults(ROOT / "app.py")
    shown = {row.variable: row.value("default") for row in OTHER_ROWS if "`app.py`" in row.cells["read by"]}
    assert shown == in_code


@pytest.mark.parametrize("row", OTHER_ROWS, ids=lambda r: r.variable)
def test_each_other_variable_is_read_where_the_page_says(row: Row) -> None:
    places = re.findall(r"`([^`]+)`", row.cells["read by"])
    assert places, f"CONFIG.md:{row.line}: say which code reads {row.variable}"
    for place in places:
        sources = [ROOT / place] if place.endswith(".py") else sorted((ROOT / place).rglob("*.py"))
        text = "\n".join(p.read_text(encoding="utf-8") for p in sources)
        assert f'"{row.variable}"' in text, f"CONFIG.md:{row.line}: {place} never names {row.variable}"
