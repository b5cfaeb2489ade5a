"""What a username may be, and its one canonical spelling."""

from __future__ import annotations

import re

from chalicelib.gatehouse.errors import InvalidRequest

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,63}$")
# Longer input is refused before any normalising work is done on it.
MAX_USERNAME_INPUT = 256


def normalize_username(raw: str) -> str:
    return raw.strip().lower()


def check_username(raw: str) -> str:
    """The canonical form of ``raw``, or ``InvalidRequest``."""
    username = normalize_username(raw)
    if not USERNAME_PATTERN.fullmatch(username):
        raise InvalidRequest(
            "The username must be 3 to 64 characters: lower-case letters, digits, and _ . -, "
            "starting with a letter or digit."
        )
    return username
