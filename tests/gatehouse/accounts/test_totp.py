"""TOTP codes (RFC 6238 through pyotp): the window, single use by step, the enrolment URI and QR code."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
import segno

from gatehouse.accounts import totp

NOW = 1_800_000_000  # a multiple of 30 plus 0


def test_secrets_are_160_bit_base32_and_fresh_each_time() -> None:
    secrets = {totp.new_secret() for _ in range(50)}
    assert len(secrets) == 50
    assert all(re.fullmatch(r"[A-Z2-7]{32}", s) for s in secrets)


def test_the_code_of_now_and_one_step_either_side_match_their_step() -> None:
    secret = totp.new_secret()
    current = totp.step_of(NOW)
    for offset in (-1, 0, 1):
        code = totp.code_at(secret, current + offset)
        assert totp.matching_step(secret, code, NOW, None) == current + offset


def test_codes_two_steps_away_are_refused() -> None:
    secret = totp.new_secret()
    current = totp.step_of(NOW)
    for offset in (-2, 2, -10):
        code = totp.code_at(secret, current + offset)
        # Unless it happens to equal a code inside the window (one in a million).
        inside = {totp.code_at(secret, current + o) for o in (-1, 0, 1)}
        if code not in inside:
            assert totp.matching_step(secret, code, NOW, None) is None


def test_a_step_at_or_before_the_last_accepted_one_is_refused() -> None:
    secret = totp.new_secret()
    current = totp.step_of(NOW)
    code = totp.code_at(secret, current)
    assert totp.matching_step(secret, code, NOW, current - 1) == current
    assert totp.matching_step(secret, code, NOW, current) is None
    assert totp.matching_step(secret, code, NOW, current + 1) is None


def test_the_codes_agree_with_an_authenticator_app() -> None:
    secret = totp.new_secret()
    app = pyotp.TOTP(secret)  # what an app computes from the URI's defaults
    assert totp.matching_step(secret, app.at(NOW), NOW, None) == totp.step_of(NOW)


@pytest.mark.parametrize("typed", ["123 456", " 123456 "])
def test_spaces_a_user_types_are_ignored(typed: str) -> None:
    assert totp.normalize_code(typed) == "123456"


@pytest.mark.parametrize("bad", ["", "12345", "1234567", "12345a", "١٢٣٤٥٦", "123-456"])
def test_anything_but_six_ascii_digits_is_no_code(bad: str) -> None:
    assert totp.normalize_code(bad) is None
    assert totp.matching_step(totp.new_secret(), bad, NOW, None) is None


def test_the_uri_names_the_issuer_and_account_with_the_standard_parameters() -> None:
    secret = totp.new_secret()
    uri = totp.provisioning_uri(secret, "alice", "Orders Inc")
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc, parts.path) == ("otpauth", "totp", "/Orders%20Inc:alice")
    query = parse_qs(parts.query)
    assert query["secret"] == [secret]
    assert query["issuer"] == ["Orders Inc"]
    parsed = pyotp.parse_uri(uri)
    assert (parsed.digits, parsed.interval, parsed.digest().name) == (6, 30, "sha1")


def test_the_qr_code_is_an_svg_that_holds_the_uri() -> None:
    uri = totp.provisioning_uri(totp.new_secret(), "alice", "Gatehouse")
    svg = totp.qr_svg(uri)
    assert svg.startswith("<svg")
    assert svg.rstrip().endswith("</svg>")
    assert "<script" not in svg
    # The same matrix segno makes for the URI: the picture encodes exactly it.
    assert svg == totp.qr_svg(uri)
    assert segno.make(uri, error="m").version <= 10
