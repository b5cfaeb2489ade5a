"""What a username may be, and its one canonical spelling."""

from __future__ import annotations

import re
import unicodedata

from gatehouse.accounts.confusables import PROTOTYPES
from gatehouse.errors import InvalidRequest, NoSuchUser

# Any name an account may have (accounts made before the rule below included).
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,63}$")
# What a new name must be: it also begins AND ends with a letter or digit.  So
# no new name differs from another only by punctuation at its ends ("admin."
# or "admin-" beside "admin"; "_admin" never passed), the look-alike a reader
# is most likely to miss.  One pattern, no extra item to keep in step.
NEW_USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,62}[a-z0-9]$")
# Longer input is refused before any normalising work is done on it.
MAX_USERNAME_INPUT = 256


def normalize_username(raw: str) -> str:
    return raw.strip().lower()


def check_username(raw: str) -> str:
    """The canonical form of ``raw``, or ``InvalidRequest``."""
    username = normalize_username(raw)
    if not NEW_USERNAME_PATTERN.fullmatch(username):
        raise InvalidRequest(
            "The username must be 3 to 64 characters: lower-case letters, digits, and _ . -, "
            "starting and ending with a letter or digit."
        )
    return username


# Left out of a skeleton: "ad.min", "ad-min" and "ad_min" read as "admin".
_SEPARATORS = str.maketrans("", "", "_.-")


def skeleton(username: str) -> str:
    """What ``username`` looks like: equal skeletons, names a reader can take one for the other.

    Unicode TS #39 section 4 (NFD, each character to its prototype in
    confusables.txt, NFD again: "m" becomes "rn", "0" becomes "O", "1"
    becomes "l"), then two steps of Gatehouse's own, because a name is read
    without regard to case or to its separators: lower case ("0" and "o"
    then agree) and no ``_ . -``.  A new name whose skeleton is another
    account's is refused (:class:`LookAlikeName`).
    """
    decomposed = unicodedata.normalize("NFD", username)
    mapped = unicodedata.normalize("NFD", "".join(PROTOTYPES.get(c, c) for c in decomposed))
    return mapped.lower().translate(_SEPARATORS)


def account_name(raw: str) -> str:
    """The canonical name of an account ``raw`` may name, else ``NoSuchUser``.

    A name no account can have is never sent to DynamoDB (an empty or an
    overlong key is the store's error, and would be a 500).
    """
    username = normalize_username(raw)
    if not USERNAME_PATTERN.fullmatch(username):
        raise NoSuchUser()
    return username


def lookup_name(raw: str) -> str | None:
    """The canonical name ``raw`` may be of an account, or None when no account can have it."""
    username = normalize_username(raw)
    return username if USERNAME_PATTERN.fullmatch(username) else None
