"""Comparing what an example prints with the output its document shows.

* ``...`` inside a line stands for any text (an id, a token, a time).
* A line that is only ``...`` stands for any number of lines.
* HTTP answers (``curl -i``): each answer's status line must match; the
  headers shown must be there with the values shown (any order, names in any
  case), and headers not shown are not compared; the body must match.
* Leading and trailing blank lines and trailing spaces do not count.

:func:`mismatch` returns ``None`` when the output matches, else a message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

ANY = "..."
_STATUS = re.compile(r"HTTP/\d(?:\.\d)? \d{3}\b")


def normalise(output: str) -> str:
    """Line ends as ``\\n``, and each HTTP answer on a line of its own (curl -i prints none after a body)."""
    output = output.replace("\r\n", "\n").replace("\r", "\n")
    return re.sub(r"(?<=[^\n])(?=HTTP/\d(?:\.\d)? \d{3} )", "\n", output)


def _lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _pattern(expected: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in expected.split(ANY)), re.DOTALL)


def line_matches(expected: str, actual: str) -> bool:
    return _pattern(expected).fullmatch(actual) is not None


def lines_match(expected: list[str], actual: list[str]) -> bool:
    """``expected`` against ``actual`` line by line; a ``...`` line takes any number of lines."""
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head == ANY:
        return any(lines_match(rest, actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and line_matches(head, actual[0]) and lines_match(rest, actual[1:])


@dataclass
class Answer:
    status: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: list[str] = field(default_factory=list)


def _answers(lines: list[str]) -> tuple[list[str], list[Answer]]:
    """The lines before the first HTTP answer, and the answers."""
    before: list[str] = []
    answers: list[Answer] = []
    in_headers = False
    for line in lines:
        if _STATUS.match(line):
            answers.append(Answer(line))
            in_headers = True
        elif not answers:
            before.append(line)
        elif in_headers and not line:
            in_headers = False
        elif in_headers and ":" in line:
            name, value = line.split(":", 1)
            answers[-1].headers.append((name.strip().lower(), value.strip()))
        else:
            answers[-1].body.append(line)
    return before, answers


def _answer_mismatch(number: int, expected: Answer, actual: Answer) -> str | None:
    if not line_matches(expected.status, actual.status):
        return f"answer {number}: status {actual.status!r}, the document shows {expected.status!r}"
    for name, value in expected.headers:
        values = [v for n, v in actual.headers if n == name]
        if not any(line_matches(value, v) for v in values):
            return f"answer {number}: header {name}: {values or 'absent'}, the document shows {value!r}"
    if not lines_match(_lines("\n".join(expected.body)), _lines("\n".join(actual.body))):
        return f"answer {number}: the body differs"
    return None


def mismatch(expected_text: str, actual_text: str) -> str | None:
    expected = _lines(normalise(expected_text))
    actual = _lines(normalise(actual_text))
    expected_before, expected_answers = _answers(expected)
    actual_before, actual_answers = _answers(actual)
    if not expected_answers:
        return None if lines_match(expected, actual) else "the output differs"
    if not lines_match(expected_before, actual_before):
        return "the output before the HTTP answers differs"
    if len(expected_answers) != len(actual_answers):
        return f"{len(actual_answers)} HTTP answers, the document shows {len(expected_answers)}"
    for number, (want, got) in enumerate(zip(expected_answers, actual_answers, strict=True), 1):
        problem = _answer_mismatch(number, want, got)
        if problem:
            return problem
    return None
