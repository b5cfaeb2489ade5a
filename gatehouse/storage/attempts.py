"""Failed-attempt counters, for every name alike: real accounts, unknown names, devices.

One item per (name, counter, observation window): the partition is the
normalised name as typed, whether or not an account has it, so lockout says
nothing about whether a name exists, at any time, the TTL sweep included
(old windows are never read again, so when the sweep removes them changes
nothing).  Counters of one name share its partition, so an administrator's
unlock finds them all with one strongly consistent query.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatehouse.accounts.lockout import LockoutRules, Refused, admission, refusal
from gatehouse.storage.failures import all_items, store_call

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

# The counters a name has (a device's is DEVICE + its id).
LOGIN = "login"
PASSWORD_CHANGE = "password"  # noqa: S105 (a counter's name, not a password)
DEVICE = "device:"
# A window's row stays this long after the window ends, then the TTL sweep may take it.
KEEP_AFTER_WINDOW = 24 * 3600


def _key(username: str, counter: str, window: int) -> dict[str, str]:
    return {"username": username, "counter": f"{counter}#{window}"}


class AttemptRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def reserve(self, username: str, counter: str, now: int, rules: LockoutRules) -> Refused | int:
        """Count one attempt on ``counter`` in the current window, or refuse it during the back-off.

        Admitted, the answer is how many attempts the window has counted, this
        one included (from the same write): the one that reaches the threshold
        is the one that starts a lockout.
        """
        condition, values = admission(rules, now)
        try:
            with store_call("attempts.reserve", reraise_conditions=True):
                answer = self._table.update_item(
                    Key=_key(username, counter, rules.window(now)),
                    UpdateExpression="ADD failures :one SET last_attempt_at = :now, expires_at = :exp",
                    ConditionExpression=condition,
                    ExpressionAttributeValues={
                        **values,
                        ":one": 1,
                        ":now": now,
                        ":exp": rules.window_end(now) + KEEP_AFTER_WINDOW,
                    },
                    ReturnValues="UPDATED_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except Exception as exc:
            return refusal(exc, rules, now)
        counted: Any = answer.get("Attributes", {}).get("failures", 1)
        return int(counted)

    def reset_item(self, username: str, counter: str, now: int, rules: LockoutRules) -> dict[str, Any]:
        """A transaction item that clears ``counter``'s current window (a successful login)."""
        return {"Delete": {"TableName": self._table.name, "Key": _key(username, counter, rules.window(now))}}

    def reset(self, username: str, counter: str, now: int, rules: LockoutRules) -> None:
        """Clear ``counter``'s current window: the attempt it counted succeeded."""
        with store_call("attempts.reset"):
            self._table.delete_item(Key=_key(username, counter, rules.window(now)))

    def clear(self, username: str) -> int:
        """Remove every counter of ``username`` (an administrator's unlock); how many there were."""
        items = list(
            all_items(
                "attempts.list",
                self._table.query,
                KeyConditionExpression="username = :u",
                ExpressionAttributeValues={":u": username},
                ProjectionExpression="username, #c",
                ExpressionAttributeNames={"#c": "counter"},
                ConsistentRead=True,
            )
        )
        for item in items:
            with store_call("attempts.clear"):
                self._table.delete_item(Key={"username": item["username"], "counter": item["counter"]})
        return len(items)
