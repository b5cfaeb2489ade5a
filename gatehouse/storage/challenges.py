"""Pending second-factor challenges (the ``mfa_token`` of a password grant), in the sessions table.

A challenge is a login half done: the password was right, the second factor
is still owed.  Its row lives in the sessions table (whose TTL sweeps the ones
nobody finished) under a partition no account id can be, ``mfa-token#<digest>``:
only the SHA-256 of the token is stored, so a copy of the table opens no
login.  Finishing the login deletes the row in the same transaction that
opens the session, on the condition that it still exists and has not
expired: a token is used once, however many requests carry it at once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gatehouse.storage.failures import store_call, transact

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

PREFIX = "mfa-token#"
SORT = "challenge"
MAX_MFA_TOKEN_INPUT = 64
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


@dataclass(frozen=True)
class Challenge:
    username: str
    account_id: str  # the account incarnation the password was checked for
    device: str
    counter: str  # the failure counter the password attempt was charged to
    device_id: str  # the valid device token's id, or ""
    expires_at: int
    # The account's credential version when the password was checked: a credential or factor
    # change since (it moves the version) ends this half-done login too.
    cred_version: int


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _key(token: str) -> dict[str, str]:
    return {"account_id": PREFIX + hashlib.sha256(token.encode("ascii")).hexdigest(), "sid": SORT}


class ChallengeRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def create(self, token: str, challenge: Challenge, together_with: dict[str, Any] | None = None) -> bool:
        """Keep ``challenge`` under ``token``'s digest; with ``together_with`` (a transaction item:
        the user's hash upgrade, conditioned on the credentials read), atomically with it.  False
        (and nothing written) when that item's condition fails: the credentials changed meanwhile."""
        item: dict[str, Any] = {
            **_key(token),
            "owner": challenge.username,
            "account": challenge.account_id,
            "device": challenge.device,
            "counter": challenge.counter,
            "device_id": challenge.device_id,
            "expires_at": challenge.expires_at,
            "cred_version": challenge.cred_version,
        }
        if together_with is None:
            with store_call("challenges.create"):
                self._table.put_item(Item=item)
            return True
        put = {"Put": {"TableName": self._table.name, "Item": item}}
        return not transact(
            self._table.meta.client, "challenges.create", {"challenge": put, "user": together_with}
        )

    def get(self, token: str, now: int) -> Challenge | None:
        """The live challenge ``token`` names, else None (malformed, unknown, used or expired)."""
        if not _TOKEN.fullmatch(token):
            return None
        with store_call("challenges.get"):
            item: dict[str, Any] | None = self._table.get_item(Key=_key(token), ConsistentRead=True).get(
                "Item"
            )
        if item is None or int(item["expires_at"]) <= now:
            return None
        return Challenge(
            username=str(item["owner"]),
            account_id=str(item["account"]),
            device=str(item.get("device", "")),
            counter=str(item["counter"]),
            device_id=str(item.get("device_id", "")),
            expires_at=int(item["expires_at"]),
            cred_version=int(item.get("cred_version", -1)),  # none: made before versions were kept
        )

    def consume_item(self, token: str, now: int) -> dict[str, Any]:
        """A transaction item that uses the challenge up: it fails if another request did first."""
        return {
            "Delete": {
                "TableName": self._table.name,
                "Key": _key(token),
                "ConditionExpression": "attribute_exists(sid) AND expires_at > :now",
                "ExpressionAttributeValues": {":now": now},
            }
        }
