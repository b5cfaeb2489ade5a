"""The authorizer's decision: a verified token and a live session give an IAM policy.

Fails closed: any failure, expected or not, is the same 401 to the caller
and a reason in the log.  The same function decides for the deployed
function (:mod:`gatehouse.authorizer.handler`, its parts built once from the
environment) and for ``chalice local`` and the tests (the component builds
them from its runtime); only where the parts come from differs, and where
the log line goes: the deployed function writes it to its standard output
(no ``logging`` import on its cold start), everything else logs it through
:func:`gatehouse.logs.event`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from gatehouse import log_lines
from gatehouse.authorizer.bearer import Unauthorized, bearer_token
from gatehouse.authorizer.policy import Opened, RouteTable, answer, opened_pattern
from gatehouse.authorizer.session_check import SessionCheck
from gatehouse.jose.access_tokens import AccessClaims, TokenRules, verify_access_token
from gatehouse.jose.errors import TokenError
from gatehouse.jose.keys import KeySet


class Verifier(NamedTuple):
    """Everything a decision needs: keys, rules, the route table, a clock, the session check."""

    keys: KeySet
    rules: TokenRules
    routes: RouteTable
    clock: Callable[[], float]
    session_check: SessionCheck | None  # None: the session check is off


def route_of(method_arn: str) -> str | None:
    """``GET /notes/abc`` from ``arn:aws:execute-api:region:acct:api/stage/GET/notes/abc``."""
    parts = str(method_arn).split(":", 5)[-1].split("/", 3)
    if len(parts) < 3:
        return None
    return f"{parts[2]} /{parts[3] if len(parts) > 3 else ''}"[:256]


Log = Callable[..., None]  # log_lines.to_stdout or logs.event: (kind, metrics=..., **fields)


def authorize(
    header: str | None, method_arn: str, verifier: Callable[[], Verifier], log: Log | None = None
) -> dict[str, Any]:
    """The TOKEN authorizer's answer for an ``Authorization`` value, or :class:`Unauthorized`.

    Its one log line goes to ``log``; by default through the ``logging`` module.
    """
    log = log or _through_logging
    where = route_of(method_arn)
    try:
        token = bearer_token(header)
        parts = verifier()
        now = int(parts.clock())
        claims = verify_access_token(token, parts.keys, parts.rules, now=now)
        if parts.session_check is not None and not _session_is_live(parts.session_check, claims, now):
            raise Unauthorized("session_ended")
        granted = answer(claims, parts.routes, method_arn)
        opened = parts.routes.opened(claims.roles)
    except Unauthorized as denied:
        log("authorizer", outcome="deny", reason=denied.reason, route=where, metrics=DENIED)
        raise
    except TokenError as invalid:
        log("authorizer", outcome="deny", reason=invalid.reason, route=where, metrics=DENIED)
        raise Unauthorized(invalid.reason) from None
    except Exception as failure:  # fail closed, whatever went wrong
        log(
            "authorizer",
            outcome="deny",
            reason="authorizer_error",
            error=type(failure).__name__,
            route=where,
            metrics=FAILED,
        )
        raise Unauthorized("authorizer_error") from None
    log_allowed(log, claims, where, opened)
    return granted


def log_allowed(log: Log, claims: AccessClaims, where: str | None, opened: Opened) -> None:
    """The line of an allowed token.

    The policy is cached per token and reused on every route: the line says which routes
    it opens and whether the one asked for is among them (if not, the gateway answers 403);
    both are made once per role set and container.
    """
    log(
        "authorizer",
        outcome="allow",
        account=claims.sub,
        user=claims.username,
        route=where,
        route_allowed=int(where is not None and opened.pattern.fullmatch(where) is not None),
        policy_covers=opened.covers,
        metrics=ALLOWED,
    )


ALLOWED = {log_lines.AUTHORIZER_ALLOW: 1}
DENIED = {log_lines.AUTHORIZER_DENY: 1}
FAILED = {log_lines.AUTHORIZER_DENY: 1, log_lines.AUTHORIZER_ERRORS: 1}


def _through_logging(kind: str, **fields: Any) -> None:
    # Imported when first used: the deployed function, which logs to stdout, never imports logging.
    from gatehouse import logs

    logs.event(kind, **fields)


def covered(where: str, opened: Iterable[tuple[str, list[str]]]) -> bool:
    """Whether ``GET /notes/abc`` is among the policy's ``(glob, methods)`` (``*`` matches any
    characters, as it does in the policy's resource ARNs)."""
    return opened_pattern(opened).fullmatch(where) is not None


def _session_is_live(check: SessionCheck, claims: AccessClaims, now: int) -> bool:
    try:
        return check.is_live(claims, now)
    except Exception:
        # Fail closed: if the session store cannot be read, nobody gets in.
        raise Unauthorized("session_check_failed") from None
