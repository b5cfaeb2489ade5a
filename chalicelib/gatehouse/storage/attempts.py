"""Login attempts for usernames that have no account.

Tracking them exactly like real accounts means lockout says nothing about
whether a username exists.  Rows expire through the table's TTL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.gatehouse.accounts.lockout import LockoutRules, Refused, admission, refusal
from chalicelib.gatehouse.storage.failures import store_call

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

RECORD_LIFETIME = 24 * 3600


class AttemptRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def reserve(self, username: str, now: int, rules: LockoutRules) -> Refused | None:
        """Count one attempt, or refuse it during the back-off window."""
        condition, values = admission(rules, now)
        try:
            with store_call("attempts.reserve", reraise_conditions=True):
                self._table.update_item(
                    Key={"username": username},
                    UpdateExpression="ADD failures :one SET last_attempt_at = :now, expires_at = :exp",
                    ConditionExpression=condition,
                    ExpressionAttributeValues={
                        **values,
                        ":one": 1,
                        ":now": now,
                        ":exp": now + max(RECORD_LIFETIME, rules.max_seconds),
                    },
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except Exception as exc:
            return refusal(exc, rules, now)
        return None
