"""The machinery behind test_docs_examples: a broken example, a wrong output or an unmarked block fails."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.docs import expected, markdown
from tests.docs.runner import run_blocks
from tests.docs.sessions import Sessions

FENCE = "```"


def _doc(tmp_path: Path, text: str) -> list[markdown.Block]:
    path = tmp_path / "DOC.md"
    path.write_text(text.replace("'''", FENCE), encoding="utf-8")
    return markdown.blocks(path)


def _run(tmp_path: Path, text: str, base_url: str = "http://127.0.0.1:8000") -> str | None:
    with Sessions(tmp_path, dict(os.environ)) as sessions:
        return run_blocks(_doc(tmp_path, text), sessions, base_url).problem


def test_a_fence_without_a_language_is_refused(tmp_path: Path) -> None:
    with pytest.raises(markdown.DocumentError, match=r"DOC\.md:3: a fence without a language"):
        _doc(tmp_path, "Run this:\n\n'''\nrm -rf build\n'''\n")


def test_a_not_run_marker_needs_a_reason(tmp_path: Path) -> None:
    with pytest.raises(markdown.DocumentError, match="needs a reason"):
        _doc(tmp_path, "<!-- not-run: -->\n'''sh\nexit 1\n'''\n")


def test_an_output_block_belongs_to_the_block_right_before_it(tmp_path: Path) -> None:
    blocks = _doc(
        tmp_path, "'''sh\necho hi\n'''\n\n'''text\nhi\n'''\n\nProse.\n\n'''text\nnot an output\n'''\n"
    )
    assert [(b.lang, b.output is not None) for b in blocks] == [("sh", True), ("text", False)]


def test_indented_fences_in_a_list_are_found(tmp_path: Path) -> None:
    blocks = _doc(tmp_path, "* a step:\n\n  '''sh\n  echo indented\n  '''\n")
    assert blocks[0].code == "echo indented\n"


def test_a_failing_command_fails_its_example_and_names_its_line(tmp_path: Path) -> None:
    problem = _run(tmp_path, "'''sh\necho fine\n'''\n\n'''sh\nfalse\necho never\n'''\n")
    assert problem is not None
    assert problem.startswith("DOC.md:5: the example failed")


def test_a_failing_python_example_fails(tmp_path: Path) -> None:
    problem = _run(tmp_path, "'''python\nraise ValueError('broken example')\n'''\n")
    assert problem is not None
    assert "broken example" in problem


def test_a_block_marked_not_run_is_not_run(tmp_path: Path) -> None:
    assert _run(tmp_path, "<!-- not-run: needs AWS -->\n'''sh\nexit 1\n'''\n") is None


def test_variables_and_functions_carry_over_to_the_next_block(tmp_path: Path) -> None:
    text = (
        "'''sh\nNAME=gatehouse\ngreet() { echo \"hello $1\"; }\n'''\n\n"
        "'''sh\ngreet $NAME\n'''\n'''text\nhello gatehouse\n'''\n"
        "'''python\nanswer = 6 * 7\n'''\n\n'''python\nprint(answer)\n'''\n'''text\n42\n'''\n"
    )
    assert _run(tmp_path, text) is None


def test_output_other_than_shown_fails(tmp_path: Path) -> None:
    problem = _run(tmp_path, "'''sh\necho 'the truth'\n'''\n'''text\nsomething else\n'''\n")
    assert problem is not None
    assert "the output differs" in problem


def test_the_documented_address_is_the_stacks_in_the_example_and_the_documents_in_its_output(
    tmp_path: Path,
) -> None:
    text = "'''sh\necho http://127.0.0.1:8000/me\n'''\n'''text\nhttp://127.0.0.1:8000/me\n'''\n"
    with Sessions(tmp_path, dict(os.environ)) as sessions:
        blocks = _doc(tmp_path, text)
        assert run_blocks(blocks, sessions, "http://127.0.0.1:40001").problem is None
    assert (
        _run(tmp_path, text.replace("echo http://127.0.0.1:8000/me", "echo http://127.0.0.1:8001/me"))
        is not None
    )


@pytest.mark.parametrize(
    ("shown", "printed"),
    [
        ('{"id":"...","text":"hi"}', '{"id":"01a2","text":"hi"}'),
        ("first\n...\nlast", "first\nsecond\nthird\nlast"),
        ("first\n...\nlast", "first\nlast"),
    ],
)
def test_placeholders_stand_for_what_changes(shown: str, printed: str) -> None:
    assert expected.mismatch(shown, printed) is None


def test_placeholders_do_not_hide_a_different_value() -> None:
    assert expected.mismatch('{"id":"...","text":"hi"}', '{"id":"01a2","text":"bye"}') is not None
    assert expected.mismatch("first\n...\nlast", "first\nsecond") is not None


ANSWER = (
    "HTTP/1.1 401 Unauthorized\r\nServer: x\r\nWWW-Authenticate: Bearer\r\n"
    "Content-Type: application/json\r\n\r\n{}"
)


def test_http_answers_compare_status_shown_headers_and_body() -> None:
    assert expected.mismatch("HTTP/1.1 401 Unauthorized\nwww-authenticate: Bearer\n\n{}", ANSWER) is None
    wrong_header = expected.mismatch(
        'HTTP/1.1 401 Unauthorized\nWWW-Authenticate: Bearer error="x"\n\n{}', ANSWER
    )
    assert wrong_header is not None
    assert "www-authenticate" in wrong_header
    assert expected.mismatch("HTTP/1.1 403 Forbidden\n\n{}", ANSWER) is not None
    assert expected.mismatch('HTTP/1.1 401 Unauthorized\n\n{"error":1}', ANSWER) is not None


def test_two_answers_printed_without_a_newline_between_are_two_answers() -> None:
    assert (
        expected.mismatch(
            "HTTP/1.1 200 OK\n\n{}\nHTTP/1.1 200 OK\n\n{}",
            "HTTP/1.1 200 OK\r\n\r\n{}HTTP/1.1 200 OK\r\n\r\n{}",
        )
        is None
    )
    assert (
        expected.mismatch("HTTP/1.1 200 OK\n\n{}", "HTTP/1.1 200 OK\r\n\r\n{}HTTP/1.1 200 OK\r\n\r\n{}")
        is not None
    )
