"""The notes table, keyed by (owner, note_id): a user can only ever address their own notes.

The repository takes its table and raises the example's own :class:`NoSuchNote`;
the app maps that to 404 once, where it composes Gatehouse.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

NOTE_ID_PATTERN = re.compile(r"^[0-9a-f]{28}$")


class NoSuchNote(Exception):
    """No note with that id belongs to the caller (another user's note included)."""

    def __init__(self, message: str = "No such note.") -> None:
        super().__init__(message)


def _condition_failed(error: Exception) -> bool:
    response = getattr(error, "response", None)
    return (
        isinstance(response, dict)
        and response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
    )


def new_note_id(now_ms: int) -> str:
    """Time-ordered (12 hex digits of milliseconds) then 64 random bits: sorts by creation."""
    return f"{now_ms:012x}{secrets.token_hex(8)}"


@dataclass(frozen=True)
class Note:
    owner: str
    note_id: str
    text: str
    created_at: int
    updated_at: int

    def public(self) -> dict[str, Any]:
        return {
            "id": self.note_id,
            "text": self.text,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


def _from_item(item: dict[str, Any]) -> Note:
    return Note(
        owner=str(item["owner"]),
        note_id=str(item["note_id"]),
        text=str(item["text"]),
        created_at=int(item["created_at"]),
        updated_at=int(item.get("updated_at", item["created_at"])),
    )


class NoteRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def create(self, note: Note) -> None:
        item: dict[str, Any] = {
            "owner": note.owner,
            "note_id": note.note_id,
            "text": note.text,
            "created_at": note.created_at,
            "updated_at": note.updated_at,
        }
        self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(note_id)")

    def list_page(self, owner: str, limit: int, after: str | None = None) -> tuple[list[Note], str | None]:
        """Up to ``limit`` notes after the note id ``after``, and the id to continue from (or None)."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "#o = :o",
            "ExpressionAttributeNames": {"#o": "owner"},
            "ExpressionAttributeValues": {":o": owner},
            "Limit": limit,
        }
        if after is not None:
            kwargs["ExclusiveStartKey"] = {"owner": owner, "note_id": after}
        page = self._table.query(**kwargs)
        notes = [_from_item(item) for item in page.get("Items", [])]
        last = page.get("LastEvaluatedKey")
        return notes, (str(last["note_id"]) if last else None)

    def get(self, owner: str, note_id: str) -> Note:
        item = self._table.get_item(Key={"owner": owner, "note_id": note_id}).get("Item")
        if not item:
            raise NoSuchNote()
        return _from_item(item)

    def update(self, owner: str, note_id: str, text: str, now: int) -> Note:
        try:
            result = self._table.update_item(
                Key={"owner": owner, "note_id": note_id},
                UpdateExpression="SET #t = :t, updated_at = :u",
                ConditionExpression="attribute_exists(note_id)",
                ExpressionAttributeNames={"#t": "text"},
                ExpressionAttributeValues={":t": text, ":u": now},
                ReturnValues="ALL_NEW",
            )
        except Exception as error:
            if _condition_failed(error):
                raise NoSuchNote() from None
            raise
        return _from_item(result["Attributes"])

    def delete(self, owner: str, note_id: str) -> None:
        try:
            self._table.delete_item(
                Key={"owner": owner, "note_id": note_id},
                ConditionExpression="attribute_exists(note_id)",
            )
        except Exception as error:
            if _condition_failed(error):
                raise NoSuchNote() from None
            raise

    def delete_all_for(self, owner: str) -> int:
        """Delete every note of ``owner`` (the account is gone); safe to run again. Returns how many."""
        deleted = 0
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "#o = :o",
            "ExpressionAttributeNames": {"#o": "owner"},
            "ExpressionAttributeValues": {":o": owner},
            "ProjectionExpression": "#o, note_id",
        }
        with self._table.batch_writer() as batch:
            while True:
                page = self._table.query(**kwargs)
                for item in page.get("Items", []):
                    batch.delete_item(Key={"owner": item["owner"], "note_id": item["note_id"]})
                    deleted += 1
                if "LastEvaluatedKey" not in page:
                    return deleted
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
