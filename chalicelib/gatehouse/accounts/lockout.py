"""Per-account brute-force lockout with exponential back-off (OWASP ASVS 2.2.1).

Every login attempt is *counted before* the password is checked, with one
atomic conditional update whose condition is the admission rule itself: up
to ``threshold`` failures are admitted freely; after that one attempt is
admitted per back-off window, and the window doubles with each further
failure (capped).  Because the rule is evaluated by DynamoDB on the same
write that counts the attempt, concurrent guesses cannot slip past it, and a
refused attempt changes nothing.  A successful login resets the count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.gatehouse.storage.failures import CONDITION_FAILED


@dataclass(frozen=True)
class LockoutRules:
    threshold: int
    base_seconds: int
    max_seconds: int

    def backoff(self, level: int) -> int:
        return min(self.base_seconds * (1 << level), self.max_seconds)


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
    """Seconds until an account with this record admits another attempt."""
    if failures < rules.threshold:
        return 0
    return max(1, last_attempt_at + rules.backoff(failures - rules.threshold) - now)


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
