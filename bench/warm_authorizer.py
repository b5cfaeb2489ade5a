"""One warm authorizer invocation against a bare ``jwt.decode`` of the same token.

The invocation is the whole Lambda entry point,
``gatehouse.authorizer.handler.gatehouse_auth(event, None)``, with the parts a
deployed container builds once (key set, rules, the route table as the merge
template delivers it): bearer parsing, the strict JWS layer and signature
check with ``cryptography``, the claim checks, the session check, the JSON
log line and the answer around the policy document built once per role set.
The session check is on and answered from its cache: the session is read
once through the fake DynamoDB (first call), and the clock is frozen so the
cache never expires; the bench checks afterwards that no further read
happened.  The parts are timed too, with the API's request log line beside
the authorizer's own (it must cost no more).

The floor is what any PyJWT authorizer must do at least: verify the EdDSA
signature and the registered claims.  Gatehouse checks more (header, types,
sizes, the session) and should still cost no more.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jwt

from bench.fake_dynamodb import FakeDynamoDB
from bench.fixtures import ACCOUNT_ID, METHOD_ARN, USERNAME, Fixture, event_log_to_devnull, route_table_json
from bench.report import Result
from bench.timing import Samples, interleaved_loops, median, paired_ratio, summary

LIMIT = 1.0
# JSON [signing JWK, now, jti] for child(): the token every child verifies.
SAME_TOKEN_VARIABLE = "BENCH_SAME_TOKEN"  # noqa: S105 (a variable name, not a secret)
FLOOR = "jwt.decode"
WHOLE = "gatehouse_auth(event, None)"
LOG_LINE = "the authorizer's log line"
REQUEST_LOG = "the API's request log line"


def _runtime(fixture: Fixture, db: FakeDynamoDB) -> Any:
    from gatehouse.services import Services
    from gatehouse.storage.sessions import Session

    frozen = float(fixture.now)
    rt = Services(fixture.settings, clock=lambda: frozen, table=db.table_factory())
    # Written by Gatehouse's own repository, so the row has whatever shape it reads back.
    rt.sessions.create(
        Session(
            sid=fixture.session_id,
            account_id=ACCOUNT_ID,
            username=USERNAME,
            device="bench",
            created_at=fixture.now,
            last_used_at=fixture.now,
            expires_at=fixture.now + 3600,
        )
    )
    return rt


def _candidates(fixture: Fixture, rt: Any) -> dict[str, Callable[[], object]]:
    from gatehouse import log_lines, logs
    from gatehouse.authorizer.decision import log_allowed, route_of
    from gatehouse.authorizer.handler import gatehouse_auth
    from gatehouse.authorizer.policy import RouteTable, answer
    from gatehouse.jose.access_tokens import REQUIRED_CLAIMS, verify_access_token

    event, token, settings = fixture.event(), fixture.token, fixture.settings
    public_key = fixture.public_key.key
    options: Any = {"require": list(REQUIRED_CLAIMS)}
    claims = verify_access_token(token, rt.keyset, rt.rules, now=fixture.now)
    routes = RouteTable.decode(route_table_json())
    where = route_of(METHOD_ARN)
    opened = routes.opened(claims.roles)
    return {
        FLOOR: lambda: jwt.decode(
            token,
            public_key,
            algorithms=["EdDSA"],
            audience=settings.audience,
            issuer=settings.issuer,
            options=options,
        ),
        WHOLE: lambda: gatehouse_auth(event, None),
        # The parts, to say where the time goes when the target is missed.
        "verify_access_token": lambda: verify_access_token(token, rt.keyset, rt.rules, now=fixture.now),
        "policy answer": lambda: answer(claims, routes, METHOD_ARN),
        # The deployed function's line, as it writes it: to stdout, with its metric.
        LOG_LINE: lambda: log_allowed(log_lines.to_stdout, claims, where, opened),
        REQUEST_LOG: lambda: logs.event(
            "request",
            method="GET",
            route="/notes",
            status=200,
            user=claims.sub,
            error=None,
            detail=None,
            request_id="c0ffee00-0000-4000-8000-000000000000",
        ),
    }


def _check_allowed(policy: dict[str, Any]) -> None:
    effect = policy["policyDocument"]["Statement"][0]["Effect"]
    if effect != "Allow" or policy["principalId"] != ACCOUNT_ID:
        raise RuntimeError(f"the bench token was not allowed: {policy}")


def _details(samples: Samples, reads: int) -> list[str]:
    lines = [summary(name, values, _us) for name, values in samples.items()]
    lines.append(f"median of per-repeat ratios: {paired_ratio(samples[WHOLE], samples[FLOOR]):.2f}x")
    parts = zip(
        samples[WHOLE],
        samples["verify_access_token"],
        samples["policy answer"],
        samples[LOG_LINE],
        strict=True,
    )
    rest = median([whole - verify - policy - log for whole, verify, policy, log in parts])
    lines.append(f"rest of the invocation (event, bearer, session cache), per repeat: {_us(rest)}")
    lines.append(
        f"log lines, per-repeat ratio authorizer / request: "
        f"{paired_ratio(samples[LOG_LINE], samples[REQUEST_LOG]):.2f}x"
    )
    if reads:
        lines.append(f"WARNING: the session cache missed: {reads} DynamoDB reads during the loops")
    return lines


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} µs"


def measure(fixture: Fixture, repeats: int, seconds_per_repeat: float) -> Result:
    from gatehouse.authorizer import handler
    from gatehouse.authorizer.decision import Verifier
    from gatehouse.authorizer.policy import RouteTable
    from gatehouse.storage.tables import table_definitions

    db = FakeDynamoDB.from_definitions(table_definitions(fixture.settings))
    rt = _runtime(fixture, db)
    # What a warm container holds: the parts built once, with the session read through the fake.
    handler._built = Verifier(
        rt.keyset, rt.rules, RouteTable.decode(route_table_json()), rt.clock, rt.session_check
    )
    try:
        with event_log_to_devnull():
            _check_allowed(handler.gatehouse_auth(fixture.event(), None))  # reads the session once
            db.calls.clear()
            samples = interleaved_loops(_candidates(fixture, rt), repeats, seconds_per_repeat)
    finally:
        handler.reset()
    return Result(
        "warm authorizer call (EdDSA, session check cached)",
        median(samples[WHOLE]),
        LIMIT,
        floor=median(samples[FLOOR]),
        floor_label=FLOOR,
        details=_details(samples, sum(db.calls.values())),
    )


def child(candidate: str, calls: int) -> None:
    """``python -m bench.warm_authorizer auth|jwt CALLS``: warm up, then make CALLS calls.

    The instruction-count figure (:mod:`bench.warm_instructions`) runs this under
    callgrind and counts only the CALLS calls.
    """
    import gc
    import json
    import os
    import time

    from bench.fixtures import fixture_of, make_fixture
    from gatehouse.authorizer import handler
    from gatehouse.authorizer.decision import Verifier
    from gatehouse.authorizer.policy import RouteTable
    from gatehouse.storage.tables import table_definitions

    # The parent's key, time and jti when it gives them: Ed25519 verification is variable-time,
    # so children counting instructions must verify the very same token.
    given = os.environ.get(SAME_TOKEN_VARIABLE)
    if given:
        jwk, now, jti = json.loads(given)
        fixture = fixture_of(jwk, now, jti)
    else:
        fixture = make_fixture(int(time.time()))
    db = FakeDynamoDB.from_definitions(table_definitions(fixture.settings))
    rt = _runtime(fixture, db)
    handler._built = Verifier(
        rt.keyset, rt.rules, RouteTable.decode(route_table_json()), rt.clock, rt.session_check
    )
    with event_log_to_devnull():
        call = _candidates(fixture, rt)[{"auth": WHOLE, "jwt": FLOOR}[candidate]]
        _check_allowed(handler.gatehouse_auth(fixture.event(), None))  # reads the session once
        db.calls.clear()
        for _ in range(3):  # every cache the timed loops would find warm
            call()
        # As timeit does: no collection lands in the counted part.
        gc.collect()
        gc.disable()
        # The counted part is between these two calls (bench.callgrind's markers).
        os.getppid()
        for _ in range(calls):
            call()
        os.getpgrp()
        gc.enable()
    if sum(db.calls.values()):
        raise SystemExit("the session cache missed: the calls read DynamoDB again")


if __name__ == "__main__":
    import sys

    child(sys.argv[1], int(sys.argv[2]))
