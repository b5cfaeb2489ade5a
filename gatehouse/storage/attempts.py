"""Failed-attempt counters with exponential back-off and a hard cap, for every name alike.

One item per (name, counter): the partition is the normalised name as typed,
whether or not an account has it, so lockout says nothing about whether a
name exists, at any time, the TTL sweep included.  Counters of one name
share its partition, so an administrator's unlock (or a password reset)
finds them all with one strongly consistent query.  Which counter an attempt
is charged to (the name's, the account's device budget, the password
change's) is the caller's choice; see :mod:`gatehouse.accounts.login`.

The admission rule (OWASP ASVS 2.2.1; NIST SP 800-63B's rate limiting) is
the condition of the one write that settles an attempt, so DynamoDB itself
evaluates it against every concurrent attempt:

* **Back-off.**  Up to ``threshold`` failures are admitted freely; after that
  one attempt per back-off window, and the window doubles with each further
  failure (capped at ``max_seconds``).  These failures live in fixed
  observation windows (``window_seconds``, aligned to multiples of it): each
  window has its own attribute (``w<number>``), and a new window starts from
  zero, so no back-off outlasts its window.
* **Hard cap.**  ``streak`` counts the consecutive failures across windows;
  at ``max_consecutive`` (100, NIST's bound) the counter admits nothing more,
  right password included, until a password reset or an administrator's
  unlock clears it, or the TTL sweep takes the row at the earliest
  :data:`KEEP_AFTER_LAST_FAILURE` after its last failure.  A success before
  the cap deletes the row, streak and all.

A refused attempt changes nothing.  A success deletes the counter's row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gatehouse.storage.failures import CONDITION_FAILED, all_items, store_call

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

# The counters a name has.
LOGIN = "login"
PASSWORD_CHANGE = "password"  # noqa: S105 (a counter's name, not a password)
# The second factor's codes typed on the bearer routes: a counter of their own, so that a right
# current password (which clears PASSWORD_CHANGE) never clears the wrong codes counted.
FACTOR_CODES = "factor-codes"
DEVICES = "devices:"  # + account id and credential version: one budget for all the account's device tokens
# A counter's row stays this long after its last failure, then the TTL sweep may take it
# (and with it the streak): the hard cap holds for at least this long after the last guess.
KEEP_AFTER_LAST_FAILURE = 30 * 86400
# NIST SP 800-63B: no more than 100 consecutive failed attempts on one account.
NIST_MAX_CONSECUTIVE = 100


def devices_counter(account_id: str, cred_version: int) -> str:
    """The one counter every device token of this account incarnation and credential version
    shares: it lives exactly as long as those tokens do (a credential change kills both)."""
    return f"{DEVICES}{account_id}.{cred_version}"


@dataclass(frozen=True)
class LockoutRules:
    threshold: int
    base_seconds: int
    max_seconds: int
    window_seconds: int = 900
    max_consecutive: int = NIST_MAX_CONSECUTIVE

    def backoff(self, level: int) -> int:
        return min(self.base_seconds * (1 << level), self.max_seconds)

    def window(self, now: int) -> int:
        """The observation window ``now`` falls in (its number)."""
        return now // self.window_seconds

    def window_end(self, now: int) -> int:
        return (self.window(now) + 1) * self.window_seconds


@dataclass(frozen=True)
class Refused:
    """The attempt was not admitted: the counter is in its back-off window, or at its hard cap."""

    retry_after: int


def retry_after(rules: LockoutRules, failures: int, last_attempt_at: int, now: int, streak: int = 0) -> int:
    """Seconds until a counter with this record admits another attempt (a new window always does,
    unless the hard cap is reached: then the advice is the longest back-off)."""
    if streak >= rules.max_consecutive:
        return rules.max_seconds
    if failures < rules.threshold:
        return 0
    wait = last_attempt_at + rules.backoff(failures - rules.threshold) - now
    return max(1, min(wait, rules.window_end(now) - now))


def admission(rules: LockoutRules, now: int) -> tuple[str, dict[str, str], dict[str, Any]]:
    """A condition expression (its names and values) that admits one more attempt at ``now``.

    The back-off is exponential in the window's failures, which an expression
    cannot compute, so each level until the cap is spelled out (at most ~18
    clauses).
    """
    clauses = ["attribute_not_exists(#w)", "#w < :lk_t"]
    values: dict[str, Any] = {":lk_t": rules.threshold, ":lk_cap": rules.max_consecutive}
    level = 0
    while True:
        wait = rules.backoff(level)
        last = wait >= rules.max_seconds
        op = ">=" if last else "="
        clauses.append(f"(#w {op} :lk_f{level} AND last_attempt_at <= :lk_c{level})")
        values[f":lk_f{level}"] = rules.threshold + level
        values[f":lk_c{level}"] = now - wait
        if last:
            break
        level += 1
    back_off = "(" + " OR ".join(clauses) + ")"
    cap = "(attribute_not_exists(streak) OR streak < :lk_cap)"
    return f"{back_off} AND {cap}", {"#w": _window_attribute(rules, now)}, values


def _window_attribute(rules: LockoutRules, now: int) -> str:
    return f"w{rules.window(now)}"


def _key(username: str, counter: str) -> dict[str, str]:
    return {"username": username, "counter": counter}


class AttemptRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def count_failure(self, username: str, counter: str, now: int, rules: LockoutRules) -> Refused | int:
        """Count one failed attempt on ``counter``, or refuse it during the back-off or at the cap.

        Counted, the answer is how many failures the window holds, this one
        included (from the same write): the one that reaches the threshold is
        the one that starts a lockout.  Refused, nothing is written.
        """
        answer = self._admitted(
            "attempts.count",
            self._table.update_item,
            username,
            counter,
            now,
            rules,
            UpdateExpression="ADD #w :one, streak :one SET last_attempt_at = :now, expires_at = :exp",
            values={":one": 1, ":now": now, ":exp": now + KEEP_AFTER_LAST_FAILURE},
            ReturnValues="UPDATED_NEW",
        )
        if isinstance(answer, Refused):
            return answer
        counted: Any = answer.get("Attributes", {}).get(_window_attribute(rules, now), 1)
        return int(counted)

    def admit(self, username: str, counter: str, now: int, rules: LockoutRules) -> Refused | None:
        """Check that ``counter`` admits an attempt now, counting nothing: a right password.

        The same one conditional write as :meth:`count_failure`, so a refused
        right password and a refused wrong one cannot be told apart by their
        requests.  The row it may create is deleted by the login's
        transaction (:meth:`reset_item`).
        """
        answer = self._admitted(
            "attempts.admit",
            self._table.update_item,
            username,
            counter,
            now,
            rules,
            UpdateExpression="SET expires_at = :exp",
            values={":exp": now + KEEP_AFTER_LAST_FAILURE},
        )
        return answer if isinstance(answer, Refused) else None

    def admit_and_reset(self, username: str, counter: str, now: int, rules: LockoutRules) -> Refused | None:
        """A right password outside a login: clear ``counter`` if it admits an attempt now (one
        conditional write, as :meth:`count_failure` makes for a wrong one)."""
        answer = self._admitted("attempts.reset", self._table.delete_item, username, counter, now, rules)
        return answer if isinstance(answer, Refused) else None

    @staticmethod
    def _admitted(
        operation: str,
        call: Any,
        username: str,
        counter: str,
        now: int,
        rules: LockoutRules,
        *,
        values: dict[str, Any] | None = None,
        **request: Any,
    ) -> Refused | dict[str, Any]:
        """One write of ``counter`` under the admission condition; refused, the back-off its row
        reveals (nothing is written)."""
        condition, names, admission_values = admission(rules, now)
        try:
            with store_call(operation, reraise_conditions=True):
                answer: dict[str, Any] = call(
                    Key=_key(username, counter),
                    ConditionExpression=condition,
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues={**admission_values, **(values or {})},
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                    **request,
                )
        except Exception as exc:
            response: dict[str, Any] = getattr(exc, "response", {})
            if response.get("Error", {}).get("Code") != CONDITION_FAILED:
                raise
            row: dict[str, Any] = response.get("Item", {})

            def number(name: str, default: int) -> int:
                return int(row.get(name, {}).get("N", default))

            failures, last = number(names["#w"], 0), number("last_attempt_at", now)
            return Refused(retry_after(rules, failures, last, now, number("streak", 0)))
        return answer

    def reset_item(self, username: str, counter: str) -> dict[str, Any]:
        """A transaction item that clears ``counter`` (a successful login)."""
        return {"Delete": {"TableName": self._table.name, "Key": _key(username, counter)}}

    def clear(self, username: str) -> int:
        """Remove every counter of ``username`` (an administrator's unlock, a password reset);
        how many there were."""
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
