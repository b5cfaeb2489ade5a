"""The fenced blocks of a Markdown document, with what each is for.

A fence's first word says what it holds:

* ``sh``, ``bash``, ``shell``: commands, run in one bash session per document;
  ``python``, ``py``: code, run in one Python session per document.  Both in
  document order, so a variable set by one block is there for the next.
* ``text`` or ``console`` right after a block that runs: the output that block
  prints, compared with what it really prints (see :mod:`tests.docs.expected`).
* anything else (``js``, ``json``, ``diff``, ``yaml``...): shown, never run.

A fence with no language is refused, so a shell example cannot slip past the
test untagged.  An HTML comment on the line right before a fence says how to
treat a block that runs:

* ``<!-- not-run: REASON -->``: not run; the reason is required.
* ``<!-- stack -->``: the command that starts the local stack (``make run``);
  the test starts that stack itself and compares the start-up lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SHELL = frozenset({"sh", "bash", "shell"})
PYTHON = frozenset({"python", "py"})
RUNNABLE = SHELL | PYTHON
OUTPUT = frozenset({"text", "console"})

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_MARKER = re.compile(r"^\s*<!--\s*(?P<kind>not-run|stack)\s*(?::(?P<reason>.*?))?\s*-->\s*$")


class DocumentError(ValueError):
    """The document breaks one of the rules above; the message names the line."""


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # the fence's line, 1-based
    lang: str
    code: str
    marker: str | None = None  # "not-run" or "stack"
    reason: str = ""
    output: Block | None = None  # the text/console block shown after it

    @property
    def where(self) -> str:
        return f"{self.path.name}:{self.line}"

    @property
    def shell(self) -> bool:
        return self.lang in SHELL

    @property
    def runs(self) -> bool:
        return self.lang in RUNNABLE and self.marker is None


def _fenced(path: Path, text: str) -> list[tuple[Block, int]]:
    """Every fenced block, and the index of the line after its closing fence."""
    lines = text.splitlines()
    found: list[tuple[Block, int]] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        indent, fence, info = opening["indent"], opening["fence"], opening["info"].strip()
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines):
            closing = _FENCE.match(lines[i])
            if closing and closing["fence"].startswith(fence) and not closing["info"].strip():
                break
            line = lines[i]
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            i += 1
        else:
            raise DocumentError(f"{path.name}:{start + 1}: this fence is never closed")
        if not info:
            raise DocumentError(
                f"{path.name}:{start + 1}: a fence without a language; say what it holds "
                "(sh, python, text, json, ...)"
            )
        marker, reason = _marker_before(lines, start)
        block = Block(path, start + 1, info.split()[0].lower(), "\n".join(body) + "\n", marker, reason)
        found.append((block, i + 1))
        i += 1
    return found


def _marker_before(lines: list[str], fence: int) -> tuple[str | None, str]:
    if fence == 0:
        return None, ""
    match = _MARKER.match(lines[fence - 1])
    if match is None:
        return None, ""
    return match["kind"], (match["reason"] or "").strip()


def blocks(path: Path) -> list[Block]:
    """The document's blocks in order; each output block is attached to the block it follows."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    out: list[Block] = []
    previous_end = -1
    for block, end in _fenced(path, text):
        between = lines[previous_end : block.line - 1] if previous_end >= 0 else ["prose"]
        follows_directly = all(not line.strip() for line in between)
        if block.marker == "not-run" and not block.reason:
            raise DocumentError(f"{block.where}: `<!-- not-run: ... -->` needs a reason")
        if block.marker is not None and block.lang not in RUNNABLE:
            raise DocumentError(f"{block.where}: a {block.marker} marker on a {block.lang} block")
        if block.lang in OUTPUT and follows_directly and out and out[-1].lang in RUNNABLE:
            runner = out[-1]
            if runner.output is not None:
                raise DocumentError(f"{block.where}: two output blocks after {runner.where}")
            out[-1] = Block(
                runner.path, runner.line, runner.lang, runner.code, runner.marker, runner.reason, block
            )
        else:
            out.append(block)
        previous_end = end
    return out
