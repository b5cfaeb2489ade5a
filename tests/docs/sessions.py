"""One bash and one Python session per document, kept open so the blocks share their state.

A shell block runs with ``set -eo pipefail`` in the session's own shell
(``source``): a failing command fails the block, and the variables and
functions it defines are there for the next block.  A Python block runs with
``exec`` in one namespace per document.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

BLOCK_TIMEOUT = 60.0
_DONE = "__gatehouse_docs_block_done__"

# The Python session: reads one JSON request per line, answers one JSON line.
_PYTHON_DRIVER = r"""
import contextlib, io, json, sys, traceback
out = sys.stdout
namespace = {"__name__": "__doc_example__"}
for request in sys.stdin:
    code = json.loads(request)
    printed = io.StringIO()
    ok = True
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        try:
            exec(compile(code["source"], code["name"], "exec"), namespace)
        except BaseException:
            ok = False
            traceback.print_exc()
    out.write(json.dumps({"ok": ok, "output": printed.getvalue()}) + "\n")
    out.flush()
"""


@dataclass(frozen=True)
class Result:
    ok: bool
    output: str


class _Session:
    def __init__(self, command: list[str], cwd: Path, env: Mapping[str, str]) -> None:
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,  # its own process group: a stuck example is stopped with it
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def send(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text)
        self.process.stdin.flush()

    def read_line(self) -> str | None:
        """The session's next line; None when it ended.  A block that hangs is stopped."""
        try:
            return self.lines.get(timeout=BLOCK_TIMEOUT)
        except queue.Empty:
            self.close()
            raise TimeoutError(f"no answer within {BLOCK_TIMEOUT:.0f} s") from None

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


class BashSession(_Session):
    def __init__(self, cwd: Path, env: Mapping[str, str]) -> None:
        super().__init__(["bash", "--noprofile", "--norc"], cwd, env)
        self.scratch = tempfile.TemporaryDirectory(prefix="gatehouse-docs-")
        self.count = 0

    def run(self, code: str) -> Result:
        self.count += 1
        script = Path(self.scratch.name) / f"block{self.count}.sh"
        output = Path(self.scratch.name) / f"block{self.count}.out"
        script.write_text(code, encoding="utf-8")
        # errexit ends this shell on a failing command: the missing marker says the block failed.
        self.send(f"set -eo pipefail; source {script} >{output} 2>&1 </dev/null; set +e; echo {_DONE}\n")
        line = self.read_line()
        printed = output.read_text(encoding="utf-8", errors="replace") if output.exists() else ""
        return Result(line is not None and line.strip() == _DONE, printed)

    def close(self) -> None:
        super().close()
        self.scratch.cleanup()


class PythonSession(_Session):
    def __init__(self, cwd: Path, env: Mapping[str, str]) -> None:
        super().__init__([sys.executable, "-u", "-c", _PYTHON_DRIVER], cwd, env)

    def run(self, code: str, name: str) -> Result:
        self.send(json.dumps({"source": code, "name": name}) + "\n")
        line = self.read_line()
        if line is None:
            return Result(False, "the Python session ended")
        answer = json.loads(line)
        return Result(bool(answer["ok"]), str(answer["output"]))


class Sessions:
    """The bash and Python sessions of one document, started when first needed."""

    def __init__(
        self, cwd: Path, env: Mapping[str, str], python_env: Mapping[str, str] | None = None
    ) -> None:
        self.cwd = cwd
        self.env = env
        self.python_env = env if python_env is None else python_env
        self._bash: BashSession | None = None
        self._python: PythonSession | None = None

    def bash(self, code: str) -> Result:
        if self._bash is None:
            self._bash = BashSession(self.cwd, self.env)
        return self._bash.run(code)

    def python(self, code: str, name: str) -> Result:
        if self._python is None:
            self._python = PythonSession(self.cwd, self.python_env)
        return self._python.run(code, name)

    def __enter__(self) -> Sessions:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        for session in (self._bash, self._python):
            if session is not None:
                session.close()
