"""The rules of key rotation, as pure functions over the stored list of private JWKs.

The list is newest first.  The API handler signs with the first key that its
deployed JWKS publishes and whose ``nbf`` has passed
(:func:`gatehouse.verify.keys.choose_signing_key`), so:

* a new key is added at the front with ``nbf`` in the future, giving the
  operator time to redeploy both functions with the new JWKS before anyone
  signs with it;
* an older key stops signing at the earliest ``nbf`` of the keys before it,
  and its last token is dead ``access_token_ttl + leeway`` later: only then
  may it be retired.

Nothing here reads a clock or AWS: ``now`` and the TTLs are arguments.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from gatehouse.verify.keys import CREATED_AT, NOT_BEFORE, public_jwks, signing_key_entries

PrivateJwk = dict[str, Any]


class RotationError(Exception):
    """A key operation that would break tokens or the key store.

    Not a :class:`~gatehouse.errors.GatehouseError`: a refusal of the admin CLI, printed as its
    one line; it never reaches the HTTP edge.
    """


def parse(text: str) -> list[PrivateJwk]:
    """The stored keys, newest first; a single private JWK (the old format) is a list of one."""
    return signing_key_entries(text)  # validates every key, without quoting one in an error


def dump(keys: list[PrivateJwk]) -> str:
    """The private side: a JWKS-shaped document of private JWKs."""
    if not keys:
        raise RotationError("The key store cannot be left without a key.")
    return json.dumps({"keys": keys}, separators=(",", ":"))


def public_document(keys: list[PrivateJwk]) -> str:
    """The public JWKS for ``keys``: what GATEHOUSE_JWKS and the JWKS parameter hold."""
    # Only the thumbprint members, kid, alg and use are published: never d, iat or nbf.
    return json.dumps(public_jwks(keys), separators=(",", ":"))


def stamped(jwk: dict[str, str], *, now: int, activate_at: int) -> PrivateJwk:
    return {**jwk, CREATED_AT: now, NOT_BEFORE: activate_at}


def not_before(key: PrivateJwk) -> int:
    return int(key.get(NOT_BEFORE, 0))


def add(keys: list[PrivateJwk], new: PrivateJwk) -> list[PrivateJwk]:
    if any(k["kid"] == new["kid"] for k in keys):
        raise RotationError(f"Key {new['kid']!r} is already in the key store.")
    return [new, *keys]


def _index(keys: list[PrivateJwk], kid: str) -> int:
    for position, key in enumerate(keys):
        if key["kid"] == kid:
            return position
    raise RotationError(f"No key {kid!r} in the key store.")


def stopped_signing_at(keys: list[PrivateJwk], kid: str) -> int | None:
    """When ``kid`` stopped being the key that signs (None: it may still be signing)."""
    newer = keys[: _index(keys, kid)]
    return min((not_before(k) for k in newer), default=None)


def retirable_at(keys: list[PrivateJwk], kid: str, *, token_lifetime: int, now: int) -> int | None:
    """The earliest time ``kid`` can go without breaking a token; None: not while it is the signing key.

    ``token_lifetime`` is the access-token TTL plus the verifier's leeway.
    A key whose ``nbf`` has not come has never signed anything and can go at once.
    """
    key = keys[_index(keys, kid)]
    if not_before(key) > now:
        return now
    stopped = stopped_signing_at(keys, kid)
    if stopped is None or stopped > now:
        return None
    return stopped + token_lifetime


def retire(
    keys: list[PrivateJwk], kid: str, *, token_lifetime: int, now: int, force: bool
) -> list[PrivateJwk]:
    remaining = [k for k in keys if k["kid"] != kid]
    if len(remaining) == len(keys):
        raise RotationError(f"No key {kid!r} in the key store.")
    if not remaining:
        raise RotationError(f"Key {kid!r} is the only key; create or rotate in another one first.")
    if force:
        return remaining
    when = retirable_at(keys, kid, token_lifetime=token_lifetime, now=now)
    if when is None:
        raise RotationError(
            f"Key {kid!r} is still the signing key: rotate, redeploy, and retire it once "
            "its last tokens have expired (or pass --force to break them now)."
        )
    if when > now:
        raise RotationError(
            f"Tokens signed with key {kid!r} can be valid for {when - now} more seconds "
            f"(until {iso(when)}); retire it then, or pass --force to break them now."
        )
    return remaining


@dataclass(frozen=True)
class KeyStatus:
    kid: str
    alg: str
    created_at: int
    not_before: int
    state: str  # "pending" (nbf to come), "signing", "retiring" (tokens may live), "retirable"
    retirable_at: int | None


def describe(keys: list[PrivateJwk], *, token_lifetime: int, now: int) -> list[KeyStatus]:
    """What each key is doing now, assuming the deployed JWKS matches the store."""
    statuses = []
    signing_found = False
    for key in keys:
        kid = str(key["kid"])
        when = retirable_at(keys, kid, token_lifetime=token_lifetime, now=now)
        if not_before(key) > now:
            state = "pending"
        elif not signing_found:
            state, signing_found = "signing", True
        elif when is not None and when <= now:
            state = "retirable"
        else:
            state = "retiring"
        statuses.append(
            KeyStatus(
                kid=kid,
                alg=str(key["alg"]),
                created_at=int(key.get(CREATED_AT, 0)),
                not_before=not_before(key),
                state=state,
                retirable_at=when,
            )
        )
    return statuses


def iso(timestamp: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
