"""Refresh tokens and the grace-window seal, directly (not through HTTP)."""

from __future__ import annotations

import base64
import json

import pytest

from gatehouse.accounts.refresh_tokens import (
    MalformedRefreshToken,
    looks_like_refresh_token,
    new_refresh_token,
    next_refresh_token,
    parse_refresh_token,
    seal,
    token_digest,
    unseal,
)

ALICE = "0123456789abcdef0123456789abcdef"  # an account id
GRANT: dict[str, str | int] = {"access_token": "a.b.c", "expires_in": 900, "refresh_token": "sid.secret"}


def test_a_new_token_names_its_session_and_carries_256_random_bits() -> None:
    token = new_refresh_token(ALICE, "session-id-0123456789")
    names, generation, family, secret = token.value.split(".")
    assert names == f"{ALICE}~session-id-0123456789"
    assert (token.account_id, token.sid, token.generation, token.family) == (
        ALICE,
        "session-id-0123456789",
        1,
        family,
    )
    assert generation == "1"
    assert len(base64.urlsafe_b64decode(family + "==")) == 16
    assert len(base64.urlsafe_b64decode(secret + "=")) == 32
    other = new_refresh_token(ALICE, "session-id-0123456789")
    assert (other.value, other.family) != (token.value, token.family)


def test_the_next_token_is_the_next_generation_of_the_same_family_with_a_new_secret() -> None:
    first = new_refresh_token(ALICE, "session-id-0123456789")
    second = next_refresh_token(first)
    assert (second.account_id, second.sid, second.generation, second.family) == (
        ALICE,
        "session-id-0123456789",
        2,
        first.family,
    )
    assert second.value.split(".")[-1] != first.value.split(".")[-1]
    assert second.family_digest == first.family_digest
    assert first.family not in second.family_digest


def test_the_digest_is_sha256_of_the_whole_token_never_the_token() -> None:
    token = new_refresh_token(ALICE, "session-id-0123456789")
    assert token.digest == token_digest(token.value)
    assert len(token.digest) == 64
    assert token.value not in token.digest


def test_parsing_gives_back_the_session_id() -> None:
    token = new_refresh_token(ALICE, "session-id-0123456789")
    assert parse_refresh_token(token.value) == token
    assert looks_like_refresh_token(token.value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "no-dot-at-all",
        "short.secret",
        f"{ALICE}~session-id-0123456789.1." + "F" * 22 + "." + "A" * 42,
        f"{ALICE}~session-id-0123456789.1." + "F" * 21 + "." + "A" * 43,
        f"{ALICE}~session-id-0123456789.0." + "F" * 22 + "." + "A" * 43,
        f"{ALICE}~session-id-0123456789.01." + "F" * 22 + "." + "A" * 43,
        f"{ALICE}~session-id-0123456789.x." + "F" * 22 + "." + "A" * 43,
        f"{ALICE}~session-id-0123456789." + "A" * 43,
        "alice~session-id-0123456789.1." + "F" * 22 + "." + "A" * 43,
        "session-id-0123456789.1." + "F" * 22 + "." + "A" * 43,
        "a b.c",
        "x" * 70 + "." + "A" * 43,
    ],
)
def test_anything_else_is_malformed(value: str) -> None:
    assert not looks_like_refresh_token(value)
    with pytest.raises(MalformedRefreshToken):
        parse_refresh_token(value)


def test_only_the_old_token_opens_the_seal() -> None:
    old = new_refresh_token(ALICE, "session-id-0123456789")
    box = seal(old, GRANT)
    assert unseal(old, box) == GRANT
    assert unseal(new_refresh_token(ALICE, "session-id-0123456789"), box) is None
    assert json.dumps(GRANT) not in base64.b64decode(box).decode("latin-1")


def test_a_seal_is_bound_to_its_session_id() -> None:
    old = new_refresh_token(ALICE, "session-id-0123456789")
    rest = old.value.split(".", 1)[1]
    other_sid = parse_refresh_token(f"{ALICE}~session-id-9876543210.{rest}")
    assert unseal(other_sid, seal(old, GRANT)) is None


@pytest.mark.parametrize("box", ["", "not base64!", base64.b64encode(b"short").decode()])
def test_a_damaged_seal_opens_to_nothing(box: str) -> None:
    assert unseal(new_refresh_token(ALICE, "session-id-0123456789"), box) is None


def test_a_flipped_bit_in_the_seal_opens_to_nothing() -> None:
    old = new_refresh_token(ALICE, "session-id-0123456789")
    raw = bytearray(base64.b64decode(seal(old, GRANT)))
    raw[-1] ^= 1
    assert unseal(old, base64.b64encode(bytes(raw)).decode()) is None
