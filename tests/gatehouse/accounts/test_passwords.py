"""The argon2id hasher and the password policy, directly (not through HTTP)."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from gatehouse.accounts.passwords import Hasher, HashParams, check_password_policy
from gatehouse.errors import InvalidRequest

# The OWASP minimum for argon2id, as the settings enforce.
PARAMS = HashParams(time_cost=2, memory_kib=19 * 1024, parallelism=1)


@pytest.fixture(scope="module")
def hasher() -> Hasher:
    return Hasher(PARAMS)


def test_a_hash_is_argon2id_with_the_configured_parameters(hasher: Hasher) -> None:
    stored = hasher.hash("Lantern-Quiet-Orbit-7")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert "Lantern-Quiet-Orbit-7" not in stored


def test_the_right_password_verifies_and_a_wrong_one_does_not(hasher: Hasher) -> None:
    stored = hasher.hash("Lantern-Quiet-Orbit-7")
    assert hasher.verify(stored, "Lantern-Quiet-Orbit-7")
    assert not hasher.verify(stored, "Lantern-Quiet-Orbit-8")


def test_no_stored_hash_still_runs_a_verification_and_says_no(hasher: Hasher) -> None:
    # The dummy hash makes "no such user" cost what "wrong password" costs.
    assert not hasher.verify(None, "anything at all")
    assert hasher._dummy_hash.startswith("$argon2id$")


def test_a_corrupt_stored_hash_is_a_no_not_an_exception(hasher: Hasher) -> None:
    assert not hasher.verify("$argon2id$not-a-hash", "Lantern-Quiet-Orbit-7")
    assert not hasher.verify("plain text", "plain text")


def test_a_hash_made_with_weaker_parameters_needs_a_rehash(hasher: Hasher) -> None:
    weaker = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash("Lantern-Quiet-Orbit-7")
    assert hasher.verify(weaker, "Lantern-Quiet-Orbit-7")
    assert hasher.needs_rehash(weaker)
    assert not hasher.needs_rehash(hasher.hash("Lantern-Quiet-Orbit-7"))


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short7!", "8 to 128"),
        ("x" * 129, "8 to 128"),
        ("password1", "too common"),
        ("Password1", "too common"),
        ("alice-in-chains", "must not be the username"),
    ],
)
def test_the_policy_refuses_with_a_reason(password: str, why: str) -> None:
    with pytest.raises(InvalidRequest, match=why):
        check_password_policy(password, "alice-in-chains")


def test_the_policy_accepts_a_long_uncommon_password() -> None:
    check_password_policy("Lantern-Quiet-Orbit-7", "alice")
