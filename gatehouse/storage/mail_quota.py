"""Mail counters, on the attempts table: how many mails went to an address, for an account, from a source.

One item per (subject, window): the partition is ``mail#<kind>#<subject>``
(``#`` never occurs in a username, so no counter of a login can be hit), the
sort key the window's length and number.  A mail is sent only when every
counter it touches is below its limit, and all of them are counted in one
transaction whose conditions are those limits: concurrent requests cannot
slip past a cap, and a refused mail counts nowhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gatehouse.storage.failures import transact

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

# A window's row stays this long after the window ends, then the TTL sweep may take it.
KEEP_AFTER_WINDOW = 24 * 3600


@dataclass(frozen=True)
class Cap:
    """At most ``limit`` mails per ``window`` seconds for one subject (an address, account or source)."""

    kind: str
    subject: str
    limit: int
    window: int


class MailQuotaRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def take(self, caps: list[Cap], now: int) -> bool:
        """Count one mail against every cap, or none of them if any is reached; True when counted."""
        items: dict[str, dict[str, Any]] = {}
        for n, cap in enumerate(caps):
            number = now // cap.window
            items[f"cap {n}"] = {
                "Update": {
                    "TableName": self._table.name,
                    "Key": {
                        "username": f"mail#{cap.kind}#{cap.subject}",
                        "counter": f"{cap.window}#{number}",
                    },
                    "UpdateExpression": "ADD sent :one SET expires_at = :exp",
                    "ConditionExpression": "attribute_not_exists(sent) OR sent < :limit",
                    "ExpressionAttributeValues": {
                        ":one": 1,
                        ":limit": cap.limit,
                        ":exp": (number + 1) * cap.window + KEEP_AFTER_WINDOW,
                    },
                }
            }
        return not transact(self._table.meta.client, "mail_quota.take", items)
