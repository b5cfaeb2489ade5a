"""Every link in README.md, CHANGELOG.md and docs/ leads somewhere in this repository.

A newcomer follows the front page to the reference: a renamed heading or a
moved file must fail here, not in a reader's browser.  Relative links must
name a file of the repository (never a path outside it), and a ``#fragment``
must be a heading of the target as GitHub renders its anchor.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_HEADING = re.compile(r"^#{1,6}\s+(?P<title>.*?)\s*#*\s*$")
_LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")


def _prose(document: Path) -> list[str]:
    """The document's lines outside fenced blocks (an example's `#` comment is no heading)."""
    lines, fenced = [], False
    for line in document.read_text(encoding="utf-8").splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def anchor(title: str) -> str:
    """GitHub's anchor for a heading: link text kept, markup dropped, lower case, spaces to dashes."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title).replace("`", "")
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(document: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for line in _prose(document):
        heading = _HEADING.match(line)
        if heading:
            slug = anchor(heading["title"])
            found.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
            seen[slug] = seen.get(slug, 0) + 1
    return found


def test_anchors_follow_githubs_rules() -> None:
    assert anchor("Route A: `chalice package` + CloudFormation") == "route-a-chalice-package--cloudformation"
    assert anchor("1. Make the signing key") == "1-make-the-signing-key"
    assert anchor("Why Gatehouse, and when not") == "why-gatehouse-and-when-not"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda d: d.name)
def test_every_relative_link_and_anchor_resolves_inside_the_repository(document: Path) -> None:
    problems = []
    for line in _prose(document):
        for match in _LINK.finditer(line):
            target = match["target"]
            if re.match(r"^[a-z]+:", target):
                continue  # a web address or mailto: not this repository's to check
            path, _, fragment = target.partition("#")
            file = (document.parent / path).resolve() if path else document
            if ROOT not in file.parents:
                problems.append(f"{target}: outside the repository")
            elif not file.exists():
                problems.append(f"{target}: no such file")
            elif fragment and file.suffix == ".md" and fragment not in anchors(file):
                problems.append(f"{target}: {file.name} has no heading with that anchor")
    assert not problems, f"{document.name}: " + "; ".join(problems)
