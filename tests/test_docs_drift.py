"""The docs cannot drift from the repository: paths they name exist, table keys are the tables' own.

Figures that change with every build (file counts, zip sizes) are not quoted
as constants: the docs say where the build prints them instead.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app import notes_table
from gatehouse.settings import Settings
from gatehouse.storage.account_email import claim_key
from gatehouse.storage.tables import table_definitions
from gatehouse.storage.users import skeleton_key

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PLACES = (ROOT, ROOT / "gatehouse")
# What a build, a run or a reader's machine makes: named by the docs, never in the repository.
MADE_ELSEWHERE = ("build/", "dist/", ".venv/", ".gatehouse/", "node_modules/", "client/node_modules/")
# `a/b` in backticks that are not paths: MIME types, KMS aliases, runtimes' names.
NOT_PATHS = re.compile(r"^(application|text|multipart|image|alias|aws|x-www-form-urlencoded)/")
_CODE = re.compile(r"`([^`\s]+)`")
_LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")
_PATH = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_.-]+)*/?$")  # never ./ (the reader's own)


def _named_paths(document: Path) -> set[str]:
    """Repository paths in backticks (with a slash, or a root file's name) and relative links."""
    text = document.read_text(encoding="utf-8")
    named = set()
    for token in _CODE.findall(text):
        token = token.rstrip(".,:;")
        if "/" not in token or not _PATH.match(token) or NOT_PATHS.match(token):
            continue
        if token.startswith(MADE_ELSEWHERE) or "__pycache__" in token:
            continue
        # A file (a dot in its name) or something under a top-level folder of ours;
        # not a list of values (`0/false/no/off`).
        first = token.split("/")[0]
        if "." in token.rstrip("/").rsplit("/", 1)[-1] or any((base / first).exists() for base in PLACES):
            named.add(token)
    for target in _LINK.findall(text):
        if "://" in target or target.startswith("mailto:"):
            continue
        named.add(str((document.parent / target).resolve().relative_to(ROOT)))
    return named


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda d: d.name)
def test_every_repository_path_a_document_names_exists(document: Path) -> None:
    # Inside the package, the docs may name a module from the package's root (`accounts/ports.py`).
    missing = sorted(p for p in _named_paths(document) if not any((base / p).exists() for base in PLACES))
    assert not missing, f"{document.name} names paths that do not exist: {missing}"


def test_the_path_check_finds_a_path_that_does_not_exist(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("See `gatehouse_dev/tables.py`, `application/json` and `0/false/no/off`.\n")
    assert _named_paths(page) == {"gatehouse_dev/tables.py"}


# -- table keys -------------------------------------------------------------------------------


def _keys() -> dict[str, list[str]]:
    """Each table's key attributes (partition, then sort), by the docs' name for it."""
    settings = Settings()
    by_name = {d["TableName"]: d for d in table_definitions(settings)}
    definitions = {
        "users": by_name[settings.users_table],
        "sessions": by_name[settings.sessions_table],
        "attempts": by_name[settings.attempts_table],
        "events": by_name[settings.events_table],
        "notes": notes_table.create_table_arguments({}),
    }
    for definition in definitions.values():
        assert not definition.get("GlobalSecondaryIndexes"), "the docs' index check below needs updating"
    return {
        name: [k["AttributeName"] for k in sorted(d["KeySchema"], key=lambda k: k["KeyType"] != "HASH")]
        for name, d in definitions.items()
    }


def _table_rows(document: str, section: str) -> dict[str, str]:
    """``{table: key cell}`` from the markdown table under ``section``."""
    text = (ROOT / "docs" / document).read_text(encoding="utf-8")
    body = text.split(section, 1)[1]
    rows = {}
    for line in body.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        match = re.match(r"^(users|sessions|attempts|events|notes)\b", cells[0]) if len(cells) >= 3 else None
        if match:
            rows.setdefault(match.group(1), cells[1] if document == "DESIGN.md" else cells[2])
    return rows


def _documented_key(cell: str) -> list[str]:
    # "`username` + `sid` (...)" or "key `owner` + `note_id`; ..." -> the attribute names, in order.
    key = re.split(r"[;,(]", cell)[0]
    return re.findall(r"`([^`]+)`", key)


@pytest.mark.parametrize(("document", "section"), [("DESIGN.md", "## Tables"), ("DEPLOY.md", "\n")])
def test_every_table_key_the_docs_name_is_the_tables_own(document: str, section: str) -> None:
    rows = _table_rows(document, section)
    assert set(rows) == {"users", "sessions", "attempts", "events", "notes"}, rows
    keys = _keys()
    wrong = {
        t: (_documented_key(cell), keys[t]) for t, cell in rows.items() if _documented_key(cell) != keys[t]
    }
    assert not wrong, f"{document}: documented key != table definition: {wrong}"


def test_the_claim_item_keys_the_design_names_are_the_codes_own() -> None:
    # The users table's other items: "`email#<address>`", "`skeleton#<skeleton>`".
    text = (ROOT / "docs" / "DESIGN.md").read_text(encoding="utf-8")
    named = {prefix for prefix in re.findall(r"`([a-z_]+#)<[^>`]+>`", text)}
    made = {claim_key("x").removesuffix("x"), skeleton_key("x").removesuffix("x")}
    assert named == made, f"DESIGN.md names claim keys {sorted(named)}, the code makes {sorted(made)}"


def test_no_document_names_an_index_the_tables_do_not_have() -> None:
    named = {
        (document.name, index)
        for document in DOCUMENTS
        for index in re.findall(r"\bindex `([^`]+)`", document.read_text(encoding="utf-8"))
    }
    assert not named, f"the tables have no secondary index, yet the docs name {sorted(named)}"


# -- per-build figures ------------------------------------------------------------------------


def test_the_byte_code_section_quotes_no_per_build_figures() -> None:
    text = (ROOT / "docs" / "DEPLOY.md").read_text(encoding="utf-8")
    section = text.split("### Byte code in the Lambda zip", 1)[1].split("\n## ", 1)[0]
    quoted = re.findall(r"\b\d+ files\b|\b\d+(?:\.\d+)? MB to \d+(?:\.\d+)? MB\b|\(\d+ \w+ today\)", section)
    assert not quoted, f"figures that change with every build, quoted as constants: {quoted}"
