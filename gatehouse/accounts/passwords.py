"""Password hashing with argon2id, and the password policy.

Passwords are normalised to Unicode NFKC before they are hashed, checked or
measured (NIST SP 800-63B 5.1.1.2), so the same password typed on keyboards
that compose characters differently (NFC "é" vs NFD "e" + U+0301) matches.
Hashes made before normalisation still verify: when the normalised form
does not match and differs from what was typed, the typed form is tried,
and a match is re-hashed in the normalised form at that login.

Unknown users are verified against a dummy hash made with the same
parameters, so "no such user" and "wrong password" cost the same time.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from functools import cache, cached_property
from typing import TYPE_CHECKING

from gatehouse.errors import InvalidRequest

if TYPE_CHECKING:
    from argon2 import PasswordHasher

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128


@dataclass(frozen=True)
class HashParams:
    time_cost: int
    memory_kib: int
    parallelism: int


def normalize_password(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


@dataclass(frozen=True)
class Check:
    matched: bool
    # The stored hash should be replaced (older parameters, or made before normalisation).
    rehash: bool = False


class Hasher:
    def __init__(self, params: HashParams) -> None:
        self.params = params

    @cached_property
    def _argon2(self) -> PasswordHasher:
        # argon2-cffi loads a C extension: only views that hash pay for it,
        # never the authorizer.
        from argon2 import PasswordHasher, Type

        return PasswordHasher(
            time_cost=self.params.time_cost,
            memory_cost=self.params.memory_kib,
            parallelism=self.params.parallelism,
            type=Type.ID,
        )

    @cached_property
    def _dummy_hash(self) -> str:
        return self.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self._argon2.hash(normalize_password(password))

    def _verify(self, stored_hash: str | None, password: str) -> bool:
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            matched = self._argon2.verify(stored_hash or self._dummy_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        return bool(matched) and stored_hash is not None

    def check(self, stored_hash: str | None, password: str) -> Check:
        """Whether ``password`` matches; with no hash, burn the same time and say no.

        The raw form is tried second only when it differs from the NFKC form,
        for an unknown user too, so the cost depends on the input only.
        """
        normal = normalize_password(password)
        if self._verify(stored_hash, normal):
            return Check(True, self.needs_rehash(str(stored_hash)))
        if normal != password and self._verify(stored_hash, password):
            return Check(True, rehash=True)
        return Check(False)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        return self.check(stored_hash, password).matched

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._argon2.check_needs_rehash(stored_hash)


@cache
def _common_passwords() -> frozenset[str]:
    # zxcvbn ships the 30,000 most common passwords from real breaches; loaded
    # only when a password is being set, never at import.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def check_password_policy(password: str, username: str) -> None:
    """Raise ``InvalidRequest`` unless ``password`` (in its NFKC form) is acceptable for ``username``."""
    password = normalize_password(password)
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidRequest(
            f"The password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long."
        )
    lowered = password.lower()
    if lowered in _common_passwords():
        raise InvalidRequest("That password is too common; choose another.")
    if lowered == username.lower():
        raise InvalidRequest("The password must not be the username.")
