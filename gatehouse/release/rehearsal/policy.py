"""Does an IAM policy allow one action on one resource ARN?

The rehearsal's own evaluator, because moto 5's IAM enforcement checks a
call's action but not its resource ARN (a role granted ``dynamodb:GetItem``
on one table is refused on every table, or, granted on ``*``, allowed on
all of them).  It follows IAM's evaluation logic for identity policies:

* an explicit ``Deny`` that matches wins;
* else an ``Allow`` that matches allows;
* else the call is refused (implicit deny).

A statement matches when its ``Action`` (or ``NotAction``) and its
``Resource`` (or ``NotResource``) match.  Wildcards ``*`` and ``?`` work as
in IAM: actions compare case-insensitively, resource ARNs case-sensitively.

Out of scope, and documented in docs/DEPLOY.md: ``Condition`` blocks (a
statement with conditions is taken as if they held, as moto does), policy
variables (``${aws:username}``), resource policies, permission boundaries,
SCPs and session policies.

This module uses the standard library alone: the rehearsal's Lambda runtime
shim (``bootstrap.py``) carries a copy of it into each function's process,
where only the extracted zip and boto3/botocore are importable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

ALLOW, DENY = "Allow", "Deny"


class PolicyError(ValueError):
    """A statement the evaluator cannot read (no Effect, no Action, no Resource...).

    Not a :class:`~gatehouse.errors.GatehouseError`: a build step's refusal, never a request's.
    """


@dataclass(frozen=True)
class Decision:
    allowed: bool
    # The Sid (or index) of the statement that decided, None for an implicit deny.
    statement: str | None
    explicit_deny: bool = False


@lru_cache(maxsize=1024)
def _pattern(glob: str, ignore_case: bool) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def matches(glob: str, value: str, *, ignore_case: bool = False) -> bool:
    """``value`` matches the IAM wildcard pattern ``glob`` (``*`` any run, ``?`` one character)."""
    return _pattern(glob, ignore_case).fullmatch(value) is not None


def _as_list(value: Any, field: str) -> list[str]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise PolicyError(f"{field} must be a string or a list of strings, not {value!r}")
    return values


def _element(statement: Mapping[str, Any], name: str) -> tuple[list[str], bool]:
    """The patterns of ``name`` or ``Not<name>``, and whether it is the negated one."""
    has, has_not = name in statement, f"Not{name}" in statement
    if has == has_not:
        raise PolicyError(f"a statement needs exactly one of {name} and Not{name}: {dict(statement)!r}")
    if has:
        return _as_list(statement[name], name), False
    return _as_list(statement[f"Not{name}"], f"Not{name}"), True


def statement_matches(statement: Mapping[str, Any], action: str, resource: str) -> bool:
    actions, not_action = _element(statement, "Action")
    resources, not_resource = _element(statement, "Resource")
    action_hit = any(matches(p, action, ignore_case=True) for p in actions)
    resource_hit = any(matches(p, resource) for p in resources)
    return action_hit != not_action and resource_hit != not_resource


def evaluate(statements: Sequence[Mapping[str, Any]], action: str, resource: str) -> Decision:
    """IAM's decision for ``action`` on ``resource`` under these identity-policy statements."""
    allowed_by: str | None = None
    for index, statement in enumerate(statements):
        effect = statement.get("Effect")
        if effect not in (ALLOW, DENY):
            raise PolicyError(f"Effect must be Allow or Deny, not {effect!r}")
        if not statement_matches(statement, action, resource):
            continue
        sid = str(statement.get("Sid", f"#{index}"))
        if effect == DENY:
            return Decision(False, sid, explicit_deny=True)
        allowed_by = allowed_by or sid
    return Decision(allowed_by is not None, allowed_by)


def statements_of(documents: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every statement of these policy documents (``Statement`` may be one object or a list)."""
    found: list[dict[str, Any]] = []
    for document in documents:
        statement = document.get("Statement", [])
        found.extend([statement] if isinstance(statement, dict) else statement)
    return found
