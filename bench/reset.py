"""Wrong-code password reset timing: an account with pending reset codes vs one without.

A wrong code must cost the same whether or not the account has codes
pending; otherwise its timing tells who has a verified address (and has
just asked for a code).  Both accounts here have a verified address; one
holds three live codes (the most the hourly cap mails), the other none.
Each round sends both the same wrong, well-formed code, from a source
address not used before (so the per-source attempt cap never refuses), and
the answer is ``invalid_code`` for both.  The path is the same for both by
construction: count the attempt, one GetItem of the same projection, one
SHA-256, and one comparison with each of ``MAX_LIVE_RESET_CODES`` entries
(tests/gatehouse/accounts/test_recovery_denial.py checks the requests and
the comparisons); this measures what is left (a bigger item to read and
parse).

The ratio is pending / none; a name with no account is measured as well,
for information.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from itertools import count

from bench.fixtures import PASSWORD, Fixture, event_log_to_devnull, make_fixture
from bench.login import moto_runtime
from bench.report import Result
from bench.timing import interleaved_calls, median, paired_ratio, summary

LIMIT = 1.1
SENDER = "bench@example.com"
WRONG = "0000-0000-0000"
NEW_PASSWORD = "Orchid-Canyon-31-harbor"  # noqa: S105 (a fixture, not a secret)


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def _verified(base: object, name: str) -> None:
    from gatehouse import roles
    from gatehouse.accounts import signup
    from gatehouse.services import Services

    assert isinstance(base, Services)
    signup.create_user(base, name, PASSWORD, roles.DEFAULT_ROLES, f"{name}@example.com")
    base.table(base.settings.users_table).update_item(
        Key={"username": name},
        UpdateExpression="SET email_verified = :t",
        ExpressionAttributeValues={":t": True},
    )


def measure(now: int, rounds: int) -> list[Result]:
    from gatehouse.accounts import recovery
    from gatehouse.errors import InvalidCode
    from gatehouse.storage import aws

    fixture: Fixture = make_fixture(now, mail_from=SENDER)
    with ExitStack() as stack:
        stack.enter_context(event_log_to_devnull())
        rt = stack.enter_context(moto_runtime(fixture))
        aws.session().client("sesv2").create_email_identity(EmailIdentity=SENDER)
        _verified(rt, "pending-codes")
        _verified(rt, "no-codes")
        for n in range(3):
            recovery.forgot_password(rt, "pending-codes", None, source=f"198.51.100.{n}")
        sources = count()

        def wrong(name: str) -> Callable[[], object]:
            def call() -> object:
                try:
                    recovery.reset_password(rt, name, WRONG, NEW_PASSWORD, source=f"s{next(sources)}")
                except InvalidCode:
                    return None
                raise AssertionError("a wrong code was accepted")

            return call

        calls = {
            "pending codes": wrong("pending-codes"),
            "no pending code": wrong("no-codes"),
            "no account": wrong("nobody-here"),
        }
        for call in calls.values():
            call()  # warm: clients made, the password policy's lists read
        samples = interleaved_calls(calls, rounds)
    pending, none = samples["pending codes"], samples["no pending code"]
    details = [summary(name, values, _ms) for name, values in samples.items()]
    details.append(f"per-round ratio {paired_ratio(pending, none):.3f}x")
    return [
        Result(
            "wrong-code reset, pending codes vs none",
            median(pending),
            LIMIT,
            fmt=_ms,
            floor=median(none),
            floor_label="no pending code",
            details=details,
        )
    ]
