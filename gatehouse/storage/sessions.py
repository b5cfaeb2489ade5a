"""The sessions table: one item per login, keyed by (``account_id``, ``sid``).

Keying sessions by their account is what makes "end every session" final: one
strongly consistent Query of the base table returns every session an account
has, including one written a millisecond ago (an index would be eventually
consistent and could miss it).  The key is the account's id, never its name:
a later account of the same name has none of these rows.  The authorizer
reads one session with one GetItem, by the token's (``sub``, ``sid``).

A ``sid`` starts with its creation time in milliseconds (fixed-width hex), so
a user's sessions come back oldest first: the cap on sessions per user ends
the first ones, and listing pages in login order.

A session row holds the hash of its current refresh token and its generation
(counted up by each rotation), the hash of the token family's secret (for
reuse detection: a family token of an older generation was retired, however
long ago; see :mod:`gatehouse.accounts.refresh_tokens`), and the previous
token's hash with the sealed pair that replaced it (for the retry grace
window).  No token that works can be made from a row.  Ending a session
deletes its row: the refresh token stops working at once, and the
authorizer's check of ``sid`` fails.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from gatehouse.errors import StoreError
from gatehouse.storage.failures import all_items, store_call, transact

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.service_resource import Table

MAX_DEVICE_LENGTH = 100
# 12 hex digits of milliseconds (good until the year 10889), then 128 random bits.
SID_PATTERN = re.compile(r"[0-9a-f]{12}[A-Za-z0-9_-]{22}")


def new_sid(now_ms: int) -> str:
    return f"{now_ms:012x}{secrets.token_urlsafe(16)}"


@dataclass(frozen=True)
class Session:
    sid: str
    account_id: str
    username: str  # the key of the account's row in the users table
    device: str
    created_at: int
    last_used_at: int
    expires_at: int  # absolute end; also the table's TTL attribute
    refresh_hash: str = ""
    # The current refresh token's generation, and SHA-256 of its family's secret.
    generation: int = 0
    family_hash: str = ""
    prev_hash: str = ""
    rotated_at: int = 0
    grace_box: str = ""

    def public(self, current_sid: str) -> dict[str, Any]:
        return {
            "id": self.sid,
            "device": self.device,
            "created_at": self.created_at,
            "last_used_at": self.last_used_at,
            "expires_at": self.expires_at,
            "current": self.sid == current_sid,
        }


@dataclass(frozen=True)
class SessionKey:
    """Just enough of a session to count it and end it."""

    account_id: str
    sid: str
    expires_at: int


def _from_item(item: dict[str, Any]) -> Session:
    return Session(
        sid=str(item["sid"]),
        account_id=str(item["account_id"]),
        username=str(item.get("username", "")),
        device=str(item.get("device", "")),
        created_at=int(item["created_at"]),
        last_used_at=int(item.get("last_used_at", item["created_at"])),
        expires_at=int(item["expires_at"]),
        refresh_hash=str(item.get("refresh_hash", "")),
        # 0 and "" on a row written before families: no token matches them.
        generation=int(item.get("generation", 0)),
        family_hash=str(item.get("family_hash", "")),
        prev_hash=str(item.get("prev_hash", "")),
        rotated_at=int(item.get("rotated_at", 0)),
        grace_box=str(item.get("grace_box", "")),
    )


class SessionRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    @property
    def table_name(self) -> str:
        return self._table.name

    def create(
        self, session: Session, together_with: Mapping[str, dict[str, Any]] | None = None
    ) -> frozenset[str]:
        """Write a new session, atomically with the named transaction items ``together_with``.

        Returns the names of the items whose condition failed (nothing was
        then written); empty when the session was written.
        """
        item: dict[str, Any] = {
            "account_id": session.account_id,
            "username": session.username,
            "sid": session.sid,
            "device": session.device,
            "created_at": session.created_at,
            "last_used_at": session.last_used_at,
            "expires_at": session.expires_at,
            "refresh_hash": session.refresh_hash,
            "generation": session.generation,
            "family_hash": session.family_hash,
        }
        # A 128-bit random sid never collides; the condition makes sure a bug
        # could not silently overwrite another session.
        if not together_with:
            with store_call("sessions.create", StoreError("Session id collision.")):
                self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(sid)")
            return frozenset()
        # A resource's client converts plain Python values to DynamoDB's typed
        # form itself, as the Table methods do.
        put = {
            "Put": {
                "TableName": self._table.name,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(sid)",
            }
        }
        failed = transact(self._table.meta.client, "sessions.create", {"session": put, **together_with})
        if "session" in failed:
            raise StoreError("Session id collision.")
        return failed

    def get(self, account_id: str, sid: str) -> Session | None:
        with store_call("sessions.get"):
            item = self._table.get_item(Key={"account_id": account_id, "sid": sid}, ConsistentRead=True).get(
                "Item"
            )
        return _from_item(item) if item else None

    def rotate(self, session: Session, new_hash: str, grace_box: str, now: int) -> bool:
        """Swap the refresh hash for the next generation's, only if nobody rotated it first;
        False if they did."""
        try:
            with store_call("sessions.rotate", _Lost()):
                self._table.update_item(
                    Key={"account_id": session.account_id, "sid": session.sid},
                    UpdateExpression=(
                        "SET refresh_hash = :new, generation = :next, prev_hash = :old, rotated_at = :now, "
                        "last_used_at = :now, grace_box = :box"
                    ),
                    ConditionExpression="refresh_hash = :old AND generation = :gen AND expires_at > :now",
                    ExpressionAttributeValues={
                        ":new": new_hash,
                        ":old": session.refresh_hash,
                        ":gen": session.generation,
                        ":next": session.generation + 1,
                        ":now": now,
                        ":box": grace_box,
                    },
                )
        except _Lost:
            return False
        return True

    def delete(self, account_id: str, sid: str) -> bool:
        """End one of the account's sessions; False if there was none."""
        try:
            with store_call("sessions.delete", _Lost()):
                self._table.delete_item(
                    Key={"account_id": account_id, "sid": sid}, ConditionExpression="attribute_exists(sid)"
                )
        except _Lost:
            return False
        return True

    def delete_item(self, key: SessionKey) -> dict[str, Any]:
        """A transaction item that ends one session (no error if it already ended)."""
        return {
            "Delete": {"TableName": self._table.name, "Key": {"account_id": key.account_id, "sid": key.sid}}
        }

    def keys_for(self, account_id: str) -> list[SessionKey]:
        """Every session row of the account, oldest first, from one strongly consistent read."""
        items = all_items(
            "sessions.keys",
            self._table.query,
            KeyConditionExpression="account_id = :a",
            ExpressionAttributeValues={":a": account_id},
            ProjectionExpression="account_id, sid, expires_at",
            ConsistentRead=True,
        )
        return [SessionKey(str(i["account_id"]), str(i["sid"]), int(i["expires_at"])) for i in items]

    def list_page(
        self, account_id: str, limit: int, after: str | None = None
    ) -> tuple[list[Session], str | None]:
        """Up to ``limit`` sessions after the sid ``after``, oldest first, and the sid to continue from."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "account_id = :a",
            "ExpressionAttributeValues": {":a": account_id},
            "ConsistentRead": True,
            "Limit": limit,
        }
        if after is not None:
            kwargs["ExclusiveStartKey"] = {"account_id": account_id, "sid": after}
        with store_call("sessions.list"):
            page = self._table.query(**kwargs)
        last = page.get("LastEvaluatedKey")
        return [_from_item(i) for i in page.get("Items", [])], (str(last["sid"]) if last else None)


class _Lost(StoreError):
    """A conditional write lost to another writer (internal signal, never rendered)."""


def read_session(client: DynamoDBClient, table_name: str, account_id: str, sid: str) -> Session | None:
    """``SessionRepository.get`` through a low-level client: the authorizer's one read.

    The same strongly consistent ``GetItem``, without boto3's resource layer
    (its import and set-up are a large part of the authorizer's cold start
    when the session check is on); the typed answer is converted here.
    """
    with store_call("sessions.get"):
        answer = client.get_item(
            TableName=table_name,
            Key={"account_id": {"S": account_id}, "sid": {"S": sid}},
            ConsistentRead=True,
        )
    item = answer.get("Item")
    return _from_item({name: _plain(value) for name, value in item.items()}) if item else None


def _plain(typed: Any) -> Any:
    """One DynamoDB typed value as the resource layer returns it (numbers as ``Decimal``)."""
    [(kind, value)] = typed.items()
    if kind in ("S", "BOOL", "B"):
        return value
    if kind == "N":
        return Decimal(value)
    if kind == "NULL":
        return None
    if kind == "L":
        return [_plain(v) for v in value]
    if kind == "M":
        return {k: _plain(v) for k, v in value.items()}
    if kind == "NS":
        return {Decimal(v) for v in value}
    return set(value)  # SS, BS
