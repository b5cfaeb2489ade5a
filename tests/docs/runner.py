"""Run a document's examples in order and say which one, if any, does not do what it shows."""

from __future__ import annotations

from dataclasses import dataclass

from tests.docs import expected
from tests.docs.markdown import Block
from tests.docs.sessions import Sessions

# The address every document uses, as `make run` serves it; the test's own stack may listen elsewhere.
DOCUMENTED_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Outcome:
    ran: int
    problem: str | None = None


def _describe(block: Block, why: str, output: str) -> str:
    shown = block.output.code if block.output is not None else "(no output shown)\n"
    return (
        f"{block.where}: {why}\n--- the example ---\n{block.code}--- the document shows ---\n{shown}"
        f"--- it printed ---\n{output}"
    )


def run_blocks(
    blocks: list[Block],
    sessions: Sessions,
    base_url: str = DOCUMENTED_URL,
) -> Outcome:
    """Run every block that runs; stop at the first that fails or prints something else.

    ``base_url`` replaces :data:`DOCUMENTED_URL` in the examples, and the other
    way round in what they print.  A ``<!-- stack -->`` block is not run here:
    the stack is already running, and its start-up lines are compared on their own.
    """
    ran = 0
    for block in blocks:
        if not block.runs:
            continue
        code = block.code.replace(DOCUMENTED_URL, base_url)
        result = sessions.bash(code) if block.shell else sessions.python(code, block.where)
        ran += 1
        printed = result.output.replace(base_url, DOCUMENTED_URL)
        if not result.ok:
            return Outcome(ran, _describe(block, "the example failed", printed))
        if block.output is not None:
            problem = expected.mismatch(block.output.code, printed)
            if problem:
                return Outcome(ran, _describe(block, problem, printed))
    return Outcome(ran)
