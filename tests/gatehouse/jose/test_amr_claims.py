"""The ``amr`` and ``aal`` claims: issued together, checked together, absent means a password login."""

from __future__ import annotations

from typing import Any

import pytest

from gatehouse.jose.access_tokens import issue_access_token
from gatehouse.jose.errors import InvalidClaim
from tests.gatehouse.jose.token_cases import ED, NOW, RULES, claims, make, verify


@pytest.mark.parametrize(("amr", "aal"), [(("pwd",), 1), (("pwd", "otp", "mfa"), 2), (("pwd", "mfa"), 2)])
def test_issued_methods_and_level_round_trip(amr: tuple[str, ...], aal: int) -> None:
    token, issued = issue_access_token(
        ED, RULES, subject="0" * 32, username="alice", session_id="s", roles=["user"], now=NOW, amr=amr
    )
    verified = verify(token)
    assert (verified.amr, verified.aal) == (amr, aal) == (issued.amr, issued.aal)


def test_a_token_without_either_claim_reads_as_a_password_login() -> None:
    verified = verify(make(claims()))
    assert (verified.amr, verified.aal) == (("pwd",), 1)


@pytest.mark.parametrize(
    "overrides",
    [
        {"amr": ["pwd"], "aal": 2},  # a level the methods do not make
        {"amr": ["pwd", "mfa"], "aal": 1},
        {"aal": 2},  # one without the other
        {"amr": ["pwd", "mfa"]},
        {"amr": [], "aal": 1},
        {"amr": "pwd", "aal": 1},
        {"amr": ["pwd", "face"], "aal": 1},
        {"amr": ["pwd"], "aal": "1"},
        {"amr": ["pwd"], "aal": True},
        {"amr": ["pwd", "mfa"], "aal": 2.0},
    ],
)
def test_inconsistent_or_malformed_claims_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(InvalidClaim):
        verify(make(claims(**overrides)))
