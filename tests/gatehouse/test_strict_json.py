"""Strict JSON: the depth and surrogate checks give the same answers when the text lets them be skipped."""

from __future__ import annotations

import pytest

from gatehouse.strict_json import NotStrictJson, loads_object

DEPTH = 3


@pytest.mark.parametrize(
    "text",
    [
        r'{"a":"\ud800"}',  # a lone high surrogate in a value
        r'{"\udfff":1}',  # a lone low surrogate in a key
        r'{"a":["x","\uDC00"]}',  # upper-case escape, inside a list
        r'{"a":"\ud83d"}',  # half of a pair
    ],
)
def test_escaped_lone_surrogates_are_refused_in_a_shallow_document(text: str) -> None:
    with pytest.raises(NotStrictJson, match="lone surrogate"):
        loads_object(text.encode(), max_depth=DEPTH)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r'{"a":"\ud83d\ude00"}', {"a": "\U0001f600"}),  # a whole pair is one character
        (r'{"a":"\\ud800"}', {"a": "\\ud800"}),  # an escaped backslash, then plain text
        ('{"a":"[[[[{{{{"}', {"a": "[[[[{{{{"}),  # brackets inside a string nest nothing
        ('{"a":{"b":1}}', {"a": {"b": 1}}),  # exactly the depth limit
    ],
)
def test_documents_within_the_rules_are_accepted(text: str, expected: dict[str, object]) -> None:
    assert loads_object(text.encode(), max_depth=DEPTH) == expected


@pytest.mark.parametrize("text", ['{"a":{"b":[1]}}', '{"a":[[1]]}', '{"a":{"b":{"c":1}}}'])
def test_one_level_past_the_limit_is_refused(text: str) -> None:
    with pytest.raises(NotStrictJson, match="too deep"):
        loads_object(text.encode(), max_depth=DEPTH)
