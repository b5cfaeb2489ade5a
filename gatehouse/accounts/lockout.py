"""Brute-force lockout with exponential back-off (OWASP ASVS 2.2.1), per name or per device.

Every attempt is *counted before* the password is checked, with one atomic
conditional update whose condition is the admission rule itself: up to
``threshold`` failures are admitted freely; after that one attempt is
admitted per back-off window, and the window doubles with each further
failure (capped).  Because the rule is evaluated by DynamoDB on the same
write that counts the attempt, concurrent guesses cannot slip past it, and a
refused attempt changes nothing.  A successful login resets the count.

Failures decay: each counter lives in a fixed observation window
(``window_seconds``, aligned to multiples of it) and a new window starts
from zero, so a failure stops counting at most one window after it
happened, and no back-off outlasts its window.  Which counter an attempt
uses (the name's, a device's, the password change's) is the caller's
choice; see :mod:`gatehouse.accounts.login`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gatehouse.storage.failures import CONDITION_FAILED


@dataclass(frozen=True)
class LockoutRules:
    threshold: int
    base_seconds: int
    max_seconds: int
    window_seconds: int = 900

    def backoff(self, level: int) -> int:
        return min(self.base_seconds * (1 << level), self.max_seconds)

    def window(self, now: int) -> int:
        """The observation window ``now`` falls in (its number)."""
        return now // self.window_seconds

    def window_end(self, now: int) -> int:
        return (self.window(now) + 1) * self.window_seconds


def admission(rules: LockoutRules, now: int) -> tuple[str, dict[str, Any]]:
    """A condition expression (and its values) that admits one more attempt at ``now``.

    The back-off is exponential in ``failures``, which an expression cannot
    compute, so each level until the cap is spelled out (at most ~18 clauses).
    """
    clauses = ["attribute_not_exists(failures)", "failures < :lk_t"]
    values: dict[str, Any] = {":lk_t": rules.threshold}
    level = 0
    while True:
        wait = rules.backoff(level)
        last = wait >= rules.max_seconds
        op = ">=" if last else "="
        clauses.append(f"(failures {op} :lk_f{level} AND last_attempt_at <= :lk_c{level})")
        values[f":lk_f{level}"] = rules.threshold + level
        values[f":lk_c{level}"] = now - wait
        if last:
            break
        level += 1
    return "(" + " OR ".join(clauses) + ")", values


def retry_after(rules: LockoutRules, failures: int, last_attempt_at: int, now: int) -> int:
    """Seconds until a counter with this record admits another attempt (a new window always does)."""
    if failures < rules.threshold:
        return 0
    wait = last_attempt_at + rules.backoff(failures - rules.threshold) - now
    return max(1, min(wait, rules.window_end(now) - now))


@dataclass(frozen=True)
class Refused:
    """The attempt was not admitted: the account is in its back-off window."""

    retry_after: int


def refusal(exc: Exception, rules: LockoutRules, now: int) -> Refused:
    """The back-off a failed admission condition reveals (re-raise anything else)."""
    response: dict[str, Any] = getattr(exc, "response", {})
    if response.get("Error", {}).get("Code") != CONDITION_FAILED:
        raise exc
    old = response.get("Item", {})
    failures = int(old.get("failures", {}).get("N", 0))
    last = int(old.get("last_attempt_at", {}).get("N", now))
    return Refused(retry_after(rules, failures, last, now))
