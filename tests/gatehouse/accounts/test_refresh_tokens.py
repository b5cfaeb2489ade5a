"""Refresh tokens and the grace-window seal, directly (not through HTTP)."""

from __future__ import annotations

import base64
import json

import pytest

from gatehouse.accounts.refresh_tokens import (
    MalformedRefreshToken,
    looks_like_refresh_token,
    new_refresh_token,
    parse_refresh_token,
    seal,
    token_digest,
    unseal,
)

ALICE = "0123456789abcdef0123456789abcdef"  # an account id
GRANT: dict[str, str | int] = {"access_token": "a.b.c", "expires_in": 900, "refresh_token": "sid.secret"}


def test_a_new_token_names_its_session_and_carries_256_random_bits() -> None:
    token = new_refresh_token(ALICE, "session-id-0123456789")
    names, _, secret = token.value.partition(".")
    assert names == f"{ALICE}~session-id-0123456789"
    assert (token.account_id, token.sid) == (ALICE, "session-id-0123456789")
    assert len(base64.urlsafe_b64decode(secret + "=")) == 32
    assert new_refresh_token(ALICE, "session-id-0123456789").value != token.value


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
        f"{ALICE}~session-id-0123456789." + "A" * 42,
        "alice~session-id-0123456789." + "A" * 43,
        "session-id-0123456789." + "A" * 43,
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
    secret = old.value.split(".", 1)[1]
    other_sid = parse_refresh_token(f"{ALICE}~session-id-9876543210.{secret}")
    assert unseal(other_sid, seal(old, GRANT)) is None


@pytest.mark.parametrize("box", ["", "not base64!", base64.b64encode(b"short").decode()])
def test_a_damaged_seal_opens_to_nothing(box: str) -> None:
    assert unseal(new_refresh_token(ALICE, "session-id-0123456789"), box) is None


def test_a_flipped_bit_in_the_seal_opens_to_nothing() -> None:
    old = new_refresh_token(ALICE, "session-id-0123456789")
    raw = bytearray(base64.b64decode(seal(old, GRANT)))
    raw[-1] ^= 1
    assert unseal(old, base64.b64encode(bytes(raw)).decode()) is None
