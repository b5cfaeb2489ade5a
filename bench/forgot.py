"""Forgot-password timing: an account that gets a code mailed vs a name that has no account.

Both answer 202 ``{}``.  The known account (a verified address) reads its
item, stores a new code hash and sends the mail through SES (moto's, in
process); the unknown name reads nothing and stores nothing, with the same
two DynamoDB requests (tests/gatehouse/accounts/test_password_reset.py counts them).  What is
left, mostly the mail, is covered by ``GATEHOUSE_FORGOT_MIN_MS``: every
answer takes at least that long.

Two rows, the same interleaved rounds on one warm Services each:

* with the default floor (what is deployed): the known path must take at
  most 20% longer than the unknown one (the target);
* with the floor off: what the floor hides, for information.

The ratio is known / unknown: an unknown name answering *faster* is what
would tell an attacker that the account does not exist.  The per-account
rate limit is kept out of the way by moving the Services's clock an hour on
before each known request.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from bench.fixtures import PASSWORD, USERNAME, Fixture, event_log_to_devnull, make_fixture
from bench.login import moto_runtime
from bench.report import Result
from bench.timing import interleaved_calls, median, paired_ratio, summary

LIMIT = 1.2
SENDER = "bench@example.com"
ADDRESS = "bench-user@example.com"


class SteppedClock:
    """Wall-clock time plus an offset the bench moves by hand."""

    def __init__(self) -> None:
        import time

        self._time = time.time
        self.offset = 0.0

    def __call__(self) -> float:
        return self._time() + self.offset


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def _measure_one(fixture: Fixture, rounds: int, label: str, limit: float | None) -> Result:
    from gatehouse import roles
    from gatehouse.accounts import recovery, signup
    from gatehouse.services import Services
    from gatehouse.storage import aws

    with ExitStack() as stack:
        stack.enter_context(event_log_to_devnull())
        base = stack.enter_context(moto_runtime(fixture))
        clock = SteppedClock()
        rt = Services(fixture.settings, clock=clock, signing_key_source=fixture.signing_key_source)
        aws.session().client("sesv2").create_email_identity(EmailIdentity=SENDER)
        signup.create_user(base, USERNAME, PASSWORD, roles.DEFAULT_ROLES, ADDRESS)
        item = rt.table(fixture.settings.users_table)
        item.update_item(
            Key={"username": USERNAME},
            UpdateExpression="SET email_verified = :t",
            ExpressionAttributeValues={":t": True},
        )

        def known() -> object:
            clock.offset += 3600  # a new hour: the rate limit never refuses
            recovery.forgot_password(rt, USERNAME, None)
            return None

        def unknown() -> object:
            recovery.forgot_password(rt, "nobody-here", None)
            return None

        calls: dict[str, Callable[[], object]] = {
            f"code mailed ({label})": known,
            f"no account ({label})": unknown,
        }
        for call in calls.values():
            call()  # warm: clients made, templates read
        samples = interleaved_calls(calls, rounds)
        mailed, nobody = samples[f"code mailed ({label})"], samples[f"no account ({label})"]
        details = [summary(name, values, _ms) for name, values in samples.items()]
        details.append(f"per-round ratio {paired_ratio(mailed, nobody):.3f}x")
        return Result(
            f"forgot password, mailed vs no account ({label})",
            median(mailed),
            limit,
            fmt=_ms,
            floor=median(nobody),
            floor_label="no account",
            details=details,
        )


def measure(now: int, rounds: int) -> list[Result]:
    common: dict[str, Any] = {"mail_from": SENDER}
    with_floor = make_fixture(now, **common)
    without = make_fixture(now, **common, forgot_min_ms=0)
    return [
        _measure_one(with_floor, rounds, f"floor {with_floor.settings.forgot_min_ms} ms", LIMIT),
        _measure_one(without, rounds, "floor off", None),
    ]
