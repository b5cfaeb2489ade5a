"""The sessions table: one item per login (``sid``), found by user through an index.

A session row holds the hash of its current refresh token, the previous one
(for the retry grace window) and a short history of older ones (for reuse
detection).  Ending a session deletes its row: the refresh token stops
working at once, and the authorizer's check of ``sid`` fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from chalicelib.gatehouse.errors import StoreError
from chalicelib.gatehouse.storage.failures import all_items, store_call

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.service_resource import Table

USER_INDEX = "by-user"
MAX_DEVICE_LENGTH = 100
# How many retired refresh-token hashes a session remembers for reuse detection.
HISTORY_LENGTH = 20


@dataclass(frozen=True)
class Session:
    sid: str
    username: str
    device: str
    created_at: int
    last_used_at: int
    expires_at: int  # absolute end; also the table's TTL attribute
    refresh_hash: str = ""
    prev_hash: str = ""
    rotated_at: int = 0
    grace_box: str = ""
    history: tuple[str, ...] = field(default=())

    def public(self, current_sid: str) -> dict[str, Any]:
        return {
            "id": self.sid,
            "device": self.device,
            "created_at": self.created_at,
            "last_used_at": self.last_used_at,
            "expires_at": self.expires_at,
            "current": self.sid == current_sid,
        }


def _from_item(item: dict[str, Any]) -> Session:
    return Session(
        sid=str(item["sid"]),
        username=str(item["username"]),
        device=str(item.get("device", "")),
        created_at=int(item["created_at"]),
        last_used_at=int(item.get("last_used_at", item["created_at"])),
        expires_at=int(item["expires_at"]),
        refresh_hash=str(item.get("refresh_hash", "")),
        prev_hash=str(item.get("prev_hash", "")),
        rotated_at=int(item.get("rotated_at", 0)),
        grace_box=str(item.get("grace_box", "")),
        history=tuple(str(h) for h in item.get("history", ())),
    )


class SessionRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def create(self, session: Session, together_with: Sequence[dict[str, Any]] = ()) -> None:
        """Write a new session, atomically with ``together_with`` (transaction items) if any."""
        item: dict[str, Any] = {
            "sid": session.sid,
            "username": session.username,
            "device": session.device,
            "created_at": session.created_at,
            "last_used_at": session.last_used_at,
            "expires_at": session.expires_at,
            "refresh_hash": session.refresh_hash,
        }
        # A 128-bit random sid never collides; the condition makes sure a bug
        # could not silently overwrite another user's session.
        if not together_with:
            with store_call("sessions.create", StoreError("Session id collision.")):
                self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(sid)")
            return
        # A resource's client converts plain Python values to DynamoDB's typed
        # form itself, as the Table methods do.
        put = {
            "Put": {
                "TableName": self._table.name,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(sid)",
            }
        }
        with store_call("sessions.create"):
            self._table.meta.client.transact_write_items(TransactItems=[put, *together_with])  # type: ignore[list-item]

    def get(self, sid: str) -> Session | None:
        with store_call("sessions.get"):
            item = self._table.get_item(Key={"sid": sid}, ConsistentRead=True).get("Item")
        return _from_item(item) if item else None

    def rotate(self, session: Session, new_hash: str, grace_box: str, now: int) -> bool:
        """Swap the refresh hash, only if nobody rotated it first; False if they did."""
        history = ([session.prev_hash] if session.prev_hash else []) + list(session.history)
        try:
            with store_call("sessions.rotate", _Lost()):
                self._table.update_item(
                    Key={"sid": session.sid},
                    UpdateExpression=(
                        "SET refresh_hash = :new, prev_hash = :old, rotated_at = :now, "
                        "last_used_at = :now, grace_box = :box, history = :history"
                    ),
                    ConditionExpression="refresh_hash = :old AND expires_at > :now",
                    ExpressionAttributeValues={
                        ":new": new_hash,
                        ":old": session.refresh_hash,
                        ":now": now,
                        ":box": grace_box,
                        ":history": history[:HISTORY_LENGTH],
                    },
                )
        except _Lost:
            return False
        return True

    def delete(self, sid: str, username: str | None = None) -> bool:
        """End one session (only ``username``'s, when given); False if there was none."""
        condition = "attribute_exists(sid)" + (" AND username = :u" if username else "")
        kwargs: dict[str, Any] = {"Key": {"sid": sid}, "ConditionExpression": condition}
        if username:
            kwargs["ExpressionAttributeValues"] = {":u": username}
        try:
            with store_call("sessions.delete", _Lost()):
                self._table.delete_item(**kwargs)
        except _Lost:
            return False
        return True

    def list_for(self, username: str) -> list[Session]:
        items = all_items(
            "sessions.list",
            self._table.query,
            IndexName=USER_INDEX,
            KeyConditionExpression="username = :u",
            ExpressionAttributeValues={":u": username},
        )
        return [_from_item(item) for item in items]

    def delete_all_for(self, username: str, keep: str | None = None) -> int:
        ended = 0
        for session in self.list_for(username):
            if session.sid != keep and self.delete(session.sid, username):
                ended += 1
        return ended


class _Lost(StoreError):
    """A conditional write lost to another writer (internal signal, never rendered)."""


def read_session(client: DynamoDBClient, table_name: str, sid: str) -> Session | None:
    """``SessionRepository.get`` through a low-level client: the authorizer's one read.

    The same strongly consistent ``GetItem``, without boto3's resource layer
    (its import and set-up are a large part of the authorizer's cold start
    when the session check is on); the typed answer is converted here.
    """
    with store_call("sessions.get"):
        answer = client.get_item(TableName=table_name, Key={"sid": {"S": sid}}, ConsistentRead=True)
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
