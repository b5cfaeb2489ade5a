"""The events table: one item per security event, keyed by (``account``, ``event_id``).

``account`` is the account id, never the username: an account's events can
never be read by a later account that takes the same name.  An ``event_id``
starts with the event's time in milliseconds (fixed-width hex), so one
strongly consistent Query, read backwards, pages an account's activity newest
first.  Every item carries ``expires_at`` (the table's TTL attribute): the
retention period is the TTL, and reads skip an item past it, since the TTL
sweep runs late.

An item holds what happened, when, and where from (device name, user agent,
source address, session id, the admin who acted): never a password, a code,
a token or a hash.  Writing one is a single ``PutItem``, or an item of a
transaction the caller already makes (a login's).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gatehouse.storage.aws import error_code
from gatehouse.storage.failures import CONDITION_FAILED, store_call

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

# 12 hex digits of milliseconds, then 48 random bits.
EVENT_ID_PATTERN = re.compile(r"[0-9a-f]{12}[A-Za-z0-9_-]{8}")
# Where a write meant to change nothing aims: no account has this key.
_NOWHERE = {"account": "-", "event_id": "-"}
# The text fields, each cut to this many characters (a user agent can be long).
MAX_FIELD = 200
TEXT_FIELDS = ("username", "device", "user_agent", "source_ip", "session", "actor", "detail")


def new_event_id(now_ms: int) -> str:
    return f"{now_ms:012x}{secrets.token_urlsafe(6)}"


@dataclass(frozen=True)
class Event:
    account: str
    event_id: str
    kind: str
    at: int
    expires_at: int
    username: str = ""  # the account's name when it happened
    device: str = ""  # the device name a login gave
    user_agent: str = ""
    source_ip: str = ""
    session: str = ""  # the session it happened in, or the session it ended
    actor: str = ""  # who acted, when not the account's owner (an admin's name, "admin-cli")
    detail: str = ""  # one word more: how a session ended, which factor, the new roles

    def public(self) -> dict[str, Any]:
        """What the account's owner and admins are shown (every field, null when empty)."""
        answer: dict[str, Any] = {"id": self.event_id, "kind": self.kind, "at": self.at}
        for name in TEXT_FIELDS:
            answer[name] = getattr(self, name) or None
        return answer


def _item(event: Event) -> dict[str, Any]:
    item: dict[str, Any] = {
        "account": event.account,
        "event_id": event.event_id,
        "kind": event.kind,
        "at": event.at,
        "expires_at": event.expires_at,
    }
    for name in TEXT_FIELDS:
        value = getattr(event, name)
        if value:
            item[name] = value[:MAX_FIELD]
    return item


def _from_item(item: dict[str, Any]) -> Event:
    return Event(
        account=str(item["account"]),
        event_id=str(item["event_id"]),
        kind=str(item.get("kind", "")),
        at=int(item.get("at", 0)),
        expires_at=int(item.get("expires_at", 0)),
        **{name: str(item.get(name, "")) for name in TEXT_FIELDS},
    )


class EventRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def put_item(self, event: Event) -> dict[str, Any]:
        """A transaction item that writes ``event`` (folded into a write the caller makes anyway)."""
        return {"Put": {"TableName": self._table.name, "Item": _item(event)}}

    def put(self, event: Event) -> None:
        with store_call("events.put"):
            self._table.put_item(Item=_item(event))

    def put_nothing(self) -> None:
        """The same request as :meth:`put`, with a condition that never holds: nothing is written.

        A failed login for a name without an account makes it, so that a
        wrong password and an unknown name cost the same DynamoDB requests.
        """
        try:
            with store_call("events.put", reraise_conditions=True):
                self._table.put_item(Item=dict(_NOWHERE), ConditionExpression="attribute_exists(account)")
        except Exception as exc:
            if error_code(exc) != CONDITION_FAILED:
                raise

    def page(
        self, account: str, limit: int, now: int, before: str | None = None
    ) -> tuple[list[Event], str | None]:
        """Up to ``limit`` of ``account``'s events older than the event id ``before``, newest first,
        and the event id to continue from (None on the last page)."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "account = :a",
            "ExpressionAttributeValues": {":a": account},
            "ScanIndexForward": False,
            "ConsistentRead": True,
            "Limit": limit,
        }
        if before is not None:
            kwargs["ExclusiveStartKey"] = {"account": account, "event_id": before}
        with store_call("events.page"):
            answer = self._table.query(**kwargs)
        last = answer.get("LastEvaluatedKey")
        events = [_from_item(i) for i in answer.get("Items", [])]
        # The TTL sweep runs late: an event past its retention is not shown.
        return [e for e in events if e.expires_at > now], (str(last["event_id"]) if last else None)
