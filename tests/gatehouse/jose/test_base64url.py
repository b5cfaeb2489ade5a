"""The package's one base64url: canonical unpadded spellings only, both ways."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatehouse.jose import base64url


@given(st.binary(max_size=200))
def test_every_byte_string_round_trips_through_its_one_spelling(raw: bytes) -> None:
    text = base64url.encode(raw)
    assert "=" not in text
    assert text == base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert base64url.decode(text) == raw


@pytest.mark.parametrize(
    "text",
    [
        "QQ==",  # padding
        "QR",  # non-zero unused bits: a second spelling of b"A"
        "QUF",  # the same for b"AA"
        "A",  # a length no byte string has
        "QU+B",  # the other alphabet
        "QU/B",
        "QU B",
        "QUFB\n",
        "ÀÀ",
    ],
)
def test_other_spellings_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="base64url"):
        base64url.decode(text)


def test_the_empty_string_is_the_empty_byte_string() -> None:
    assert base64url.decode("") == b""
    assert base64url.encode(b"") == ""
