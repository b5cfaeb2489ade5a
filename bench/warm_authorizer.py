"""One warm authorizer invocation against a bare ``jwt.decode`` of the same token.

The invocation is the whole Lambda entry point,
``gatehouse.handlers.gatehouse_auth(event, None)``: event to
AuthRequest, bearer parsing, the strict JWS layer and signature check with
``cryptography``, the claim checks, the session check, the JSON log line and
the IAM policy dict.  The session
check is on and answered from its cache: the session is read once through
the fake DynamoDB (first call), and the clock is frozen so the cache never
expires; the bench checks afterwards that no further read happened.

The floor is what any PyJWT authorizer must do at least: verify the EdDSA
signature and the registered claims.  Gatehouse checks more (header, types,
sizes, the session) and should still cost no more.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jwt
from chalice.app import AuthRequest

from bench.fake_dynamodb import FakeDynamoDB
from bench.fixtures import ACCOUNT_ID, USERNAME, Fixture, event_log_to_devnull
from bench.report import Result
from bench.timing import Samples, interleaved_loops, median, paired_ratio, summary

LIMIT = 1.0
FLOOR = "jwt.decode"
WHOLE = "gatehouse_auth(event, None)"


def _runtime(fixture: Fixture, db: FakeDynamoDB) -> Any:
    from gatehouse.runtime import Runtime
    from gatehouse.storage.sessions import Session

    frozen = float(fixture.now)
    rt = Runtime(fixture.settings, clock=lambda: frozen, table=db.table_factory())
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
    import app
    from gatehouse.component import component_of
    from gatehouse.handlers import gatehouse_auth
    from gatehouse.verify.policy import auth_response
    from gatehouse.verify.tokens import REQUIRED_CLAIMS, verify_access_token

    event, token, settings = fixture.event(), fixture.token, fixture.settings
    public_key = fixture.public_key.key
    options: Any = {"require": list(REQUIRED_CLAIMS)}
    claims = verify_access_token(token, rt.keyset, rt.rules, now=fixture.now)
    routes = component_of(app.app).protected_routes()
    request = AuthRequest(event["type"], event["authorizationToken"], event["methodArn"])
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
        "policy dict": lambda: auth_response(claims, routes).to_dict(request),
    }


def _check_allowed(policy: dict[str, Any]) -> None:
    effect = policy["policyDocument"]["Statement"][0]["Effect"]
    if effect != "Allow" or policy["principalId"] != USERNAME:
        raise RuntimeError(f"the bench token was not allowed: {policy}")


def _details(samples: Samples, reads: int) -> list[str]:
    lines = [summary(name, values, _us) for name, values in samples.items()]
    lines.append(f"median of per-repeat ratios: {paired_ratio(samples[WHOLE], samples[FLOOR]):.2f}x")
    parts = zip(samples[WHOLE], samples["verify_access_token"], samples["policy dict"], strict=True)
    rest = median([whole - verify - policy for whole, verify, policy in parts])
    lines.append(f"rest of the invocation (event, session cache, log line), per repeat: {_us(rest)}")
    if reads:
        lines.append(f"WARNING: the session cache missed: {reads} DynamoDB reads during the loops")
    return lines


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} µs"


def measure(fixture: Fixture, repeats: int, seconds_per_repeat: float) -> Result:
    from gatehouse import runtime
    from gatehouse.handlers import gatehouse_auth
    from gatehouse.storage.tables import table_definitions

    db = FakeDynamoDB.from_definitions(table_definitions(fixture.settings))
    rt = _runtime(fixture, db)
    runtime.install(rt)
    try:
        with event_log_to_devnull():
            _check_allowed(gatehouse_auth(fixture.event(), None))  # loads keys, reads the session once
            db.calls.clear()
            samples = interleaved_loops(_candidates(fixture, rt), repeats, seconds_per_repeat)
    finally:
        runtime.install(None)
    return Result(
        "warm authorizer call (EdDSA, session check cached)",
        median(samples[WHOLE]),
        LIMIT,
        floor=median(samples[FLOOR]),
        floor_label=FLOOR,
        details=_details(samples, sum(db.calls.values())),
    )
