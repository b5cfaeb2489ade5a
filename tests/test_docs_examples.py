"""Every shell and Python example in README.md and docs/*.md runs, and prints what the document shows.

One local stack (the one `make run` starts, on a free port) serves every
document; README.md goes first, as a reader right after `make run` would.
Each document runs in its own bash and Python sessions, blocks in order, so
the variables a block sets are there for the next.  The rules for writing
examples are in tests/docs/markdown.py (fences and markers) and
tests/docs/expected.py (how output is compared).
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import live_stack as live_stack_module
from tests.docs import expected, markdown
from tests.docs.runner import DOCUMENTED_URL, run_blocks
from tests.docs.sessions import Sessions
from tests.live_stack import READY_LINE, LiveStack, live_stack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DOCUMENTED_AWS = "http://127.0.0.1:8001"  # make run's embedded AWS: the API's port plus one
_SEEDED = re.compile(r"^Seeded user '(?P<user>[a-z0-9_.-]+)', password: (?P<password>\S+)$", re.MULTILINE)


def _parsed(document: Path) -> list[markdown.Block]:
    try:
        return markdown.blocks(document)
    except markdown.DocumentError:
        return []  # reported by test_every_fence_says_what_it_holds_and_every_skipped_example_says_why


def _stack_block() -> markdown.Block:
    found = [b for d in DOCUMENTS for b in _parsed(d) if b.marker == "stack"]
    assert len(found) == 1, f"one <!-- stack --> block (make run, in README.md), found {len(found)}"
    assert found[0].output is not None, f"{found[0].where}: show what `make run` prints"
    return found[0]


class Stack:
    def __init__(self, running: LiveStack, shows_supplied: dict[str, str]) -> None:
        self.running = running
        # Users whose password was given to the stack because it makes up its own:
        # it then prints "(from ...)" where the reader's `make run` prints the password.
        self.shows_supplied = shows_supplied

    def startup(self) -> str:
        lines = self.running.output().splitlines(keepends=True)
        ready = next(i for i, line in enumerate(lines) if READY_LINE in line)
        text = "".join(lines[: ready + 1]).replace(self.running.base_url, DOCUMENTED_URL)
        # This stack's embedded AWS is on a free port; a reader's is on the API's plus one.
        text = re.sub(r"(Embedded AWS \(moto\) on )http://127\.0\.0\.1:\d+", rf"\g<1>{DOCUMENTED_AWS}", text)
        for user, password in self.shows_supplied.items():
            text = re.sub(rf"(Seeded user '{user}', password: )\(from [^)]*\)", rf"\g<1>{password}", text)
        return text


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    shown = _stack_block().output
    assert shown is not None
    passwords = {m["user"]: m["password"] for m in _SEEDED.finditer(shown.code)}
    if "seeded" in inspect.signature(live_stack).parameters:
        # The stack seeds fixed dev passwords itself: run it exactly as a reader does.
        options: dict[str, Any] = {"seeded": {}}
        with live_stack(**options) as running:
            yield Stack(running, {})
    else:
        # A stack that makes up passwords unless given them: give it the documented ones
        # (through the helper's constants, which it always sets).
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(live_stack_module, "DEMO_PASSWORD", passwords["demo"])
            patch.setattr(live_stack_module, "ADMIN_PASSWORD", passwords["admin"])
            with live_stack() as running:
                yield Stack(running, passwords)


# Set when the tests run under `make test`: an example's own `make` would then act as a
# sub-make and print "Entering directory" lines that a reader's shell never shows.
_OUR_MAKE = ("MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES")


def _environment(stack: Stack, scratch: Path) -> tuple[dict[str, str], dict[str, str]]:
    """A reader's shell: no AWS or Gatehouse variables of ours, their own config directory."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "GATEHOUSE_"))
        and k not in ("PORT", "PYTHONPATH", "XDG_CONFIG_HOME", *_OUR_MAKE)
    }
    env["XDG_CONFIG_HOME"] = str(scratch / "config")
    # Where this stack records itself, for the admin CLI (a reader's `make run` uses the default place).
    state = getattr(stack.running, "env", {}).get("GATEHOUSE_LOCAL_STACK_FILE")
    if state:
        env["GATEHOUSE_LOCAL_STACK_FILE"] = state
    # The Python examples run as the README says: from the project root, with PYTHONPATH=client.
    return env, {**env, "PYTHONPATH": str(ROOT / "client")}


def test_every_fence_says_what_it_holds_and_every_skipped_example_says_why() -> None:
    problems = []
    for document in DOCUMENTS:
        try:
            markdown.blocks(document)
        except markdown.DocumentError as error:
            problems.append(str(error))
    assert not problems, "\n".join(problems)


@pytest.mark.smoke
def test_make_run_prints_what_the_readme_shows(stack: Stack) -> None:
    block = _stack_block()
    assert block.output is not None
    problem = expected.mismatch(block.output.code, stack.startup())
    assert problem is None, f"{block.where}: {problem}\n--- make run printed ---\n{stack.startup()}"


@pytest.mark.parametrize(
    "document",
    [
        # README's examples are what a newcomer runs first: part of `make smoke`.
        pytest.param(d, marks=[pytest.mark.smoke] if d.name == "README.md" else [])
        for d in DOCUMENTS
        if any(b.runs for b in _parsed(d))
    ],
    ids=lambda d: d.name,
)
def test_examples_run_and_print_what_the_document_shows(document: Path, stack: Stack, tmp_path: Path) -> None:
    env, python_env = _environment(stack, tmp_path)
    with Sessions(ROOT, env, python_env) as sessions:
        outcome = run_blocks(markdown.blocks(document), sessions, stack.running.base_url)
    assert outcome.problem is None, outcome.problem
    assert outcome.ran > 0
