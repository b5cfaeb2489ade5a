"""Refresh-token reuse is detected however many rotations ago the reused token was retired: a
family secret and a generation count, not a memory of retired tokens."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest

from gatehouse.accounts import sessions as lifecycle
from gatehouse.accounts.refresh_tokens import parse_refresh_token
from gatehouse.errors import InvalidGrant
from gatehouse.services import Services
from tests.conftest import Credentials, FakeClock, json_body, post_json

ROTATIONS = 50
Rotated = Callable[[], tuple[Credentials, list[str]]]


@pytest.fixture
def rotated(client, rt: Services, make_user, clock: FakeClock) -> Rotated:
    """A login whose refresh token was then rotated ``ROTATIONS`` times, a minute apart: every
    token it had, oldest first."""

    def do() -> tuple[Credentials, list[str]]:
        creds = make_user()
        body = {"grant_type": "password", "username": creds.username, "password": creds.password}
        tokens = [json_body(post_json(client, "/auth/token", body))["refresh_token"]]
        for _ in range(ROTATIONS):
            clock.advance(60)
            tokens.append(lifecycle.refresh(rt, tokens[-1]).refresh_token)
        return creds, tokens

    return do


def _session_of(rt: Services, token: str):
    parsed = parse_refresh_token(token)
    return rt.sessions.get(parsed.account_id, parsed.sid)


def test_reusing_the_first_token_after_fifty_rotations_ends_the_session(rt, rotated):
    _, tokens = rotated()
    with pytest.raises(InvalidGrant, match="already used"):
        lifecycle.refresh(rt, tokens[0])
    assert _session_of(rt, tokens[-1]) is None
    with pytest.raises(InvalidGrant):  # the holder's newest token died with it
        lifecycle.refresh(rt, tokens[-1])


@pytest.mark.parametrize("retired", [1, 17, ROTATIONS - 2, ROTATIONS - 1])
def test_reusing_any_retired_token_past_the_grace_ends_the_session(rt, rotated, clock, retired):
    _, tokens = rotated()
    clock.advance(rt.settings.refresh_grace + 1)
    with pytest.raises(InvalidGrant, match="already used"):
        lifecycle.refresh(rt, tokens[retired])
    assert _session_of(rt, tokens[-1]) is None


def test_a_retry_of_the_just_rotated_token_within_the_grace_still_gets_the_same_pair(rt, rotated, clock):
    _, tokens = rotated()
    again = lifecycle.refresh(rt, tokens[-2])  # tokens[-1] came from it a moment ago
    assert again.refresh_token == tokens[-1]
    assert _session_of(rt, tokens[-1]) is not None
    clock.advance(60)
    assert lifecycle.refresh(rt, tokens[-1]).refresh_token != tokens[-1]


def test_the_row_counts_generations_and_holds_no_token_family_or_secret(rt, rotated):
    _, tokens = rotated()
    parsed = [parse_refresh_token(t) for t in tokens]
    assert [p.generation for p in parsed] == list(range(1, ROTATIONS + 2))
    assert {p.family for p in parsed} == {parsed[0].family}
    row = rt.sessions._table.get_item(Key={"account_id": parsed[0].account_id, "sid": parsed[0].sid})["Item"]
    assert row["generation"] == ROTATIONS + 1
    assert row["family_hash"] == hashlib.sha256(parsed[0].family.encode()).hexdigest()
    assert row["refresh_hash"] == hashlib.sha256(tokens[-1].encode()).hexdigest()
    stored = repr(row)
    assert parsed[0].family not in stored
    assert not any(token.split(".")[-1] in stored for token in tokens)


def test_a_token_of_another_family_ends_nothing_whatever_its_generation(rt, rotated):
    _, tokens = rotated()
    other = parse_refresh_token(tokens[0])
    for generation in (1, ROTATIONS, ROTATIONS + 1, ROTATIONS + 2):
        forged = f"{other.account_id}~{other.sid}.{generation}.{'F' * 22}.{'A' * 43}"
        with pytest.raises(InvalidGrant, match="not valid"):
            lifecycle.refresh(rt, forged)
        lifecycle.revoke(rt, forged)
    assert _session_of(rt, tokens[-1]) is not None


def test_a_generation_not_yet_issued_or_a_wrong_secret_for_the_current_one_ends_nothing(rt, rotated):
    _, tokens = rotated()
    current = parse_refresh_token(tokens[-1])
    names = f"{current.account_id}~{current.sid}"
    for forged in (
        f"{names}.{current.generation + 1}.{current.family}.{'A' * 43}",
        f"{names}.{current.generation}.{current.family}.{'A' * 43}",
    ):
        with pytest.raises(InvalidGrant, match="not valid"):
            lifecycle.refresh(rt, forged)
    assert _session_of(rt, tokens[-1]) is not None


def test_revoking_with_a_token_retired_fifty_rotations_ago_ends_the_session(client, rt, rotated):
    _, tokens = rotated()
    assert post_json(client, "/auth/revoke", {"token": tokens[0]}).status_code == 200
    assert _session_of(rt, tokens[-1]) is None
