"""Recovery codes: ten, at least 64 bits each from ``secrets``, typed forgivingly, stored as digests."""

from __future__ import annotations

import math
import re

from gatehouse.accounts import recovery_codes


def test_ten_distinct_codes_in_groups_of_four() -> None:
    codes = recovery_codes.new_codes()
    assert len(codes) == 10 == len(set(codes))
    assert all(re.fullmatch(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){3}", c) for c in codes)


def test_each_code_carries_at_least_64_bits() -> None:
    letters = recovery_codes.normalize(recovery_codes.new_codes(1)[0])
    assert letters is not None
    assert len(letters) * math.log2(32) >= 64
    assert recovery_codes.CODE_BYTES * 8 >= 64


def test_case_spaces_and_dashes_as_typed_do_not_matter() -> None:
    code = recovery_codes.new_codes(1)[0]
    typed = " " + code.lower().replace("-", " ") + " "
    assert recovery_codes.digest(typed) == recovery_codes.digest(code)


def test_the_digest_is_not_the_code_and_differs_per_code() -> None:
    a, b = recovery_codes.new_codes(2)
    digest = recovery_codes.digest(a)
    assert digest is not None
    assert a.replace("-", "") not in digest
    assert digest != recovery_codes.digest(b)


def test_input_that_cannot_be_a_code_has_no_digest() -> None:
    for bad in ["", "ABCD", "ABCD-EFGH-IJKL-MNO1", "ÄBCD-EFGH-IJKL-MNOP", "A" * 64]:
        assert recovery_codes.digest(bad) is None
