"""A failed login takes the same time whether or not the account exists.

Two failures, measured in the same interleaved rounds on the same warm Services:

* a real account with a wrong password: read the user, count the attempt in
  the attempts table, argon2id verify against its hash;
* an unknown username: the read finds no account, the attempt is counted in
  the attempts table all the same, argon2id verify against the dummy hash.

Both make two DynamoDB requests and one argon2id verify with the same
parameters (tests/test_structure.py checks the requests exactly); the ratio
shows what is left.  Lockout is set out of reach so every attempt is checked.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from bench.fixtures import PASSWORD, USERNAME, Fixture, event_log_to_devnull
from bench.login import fake_runtime, moto_runtime
from bench.report import Result
from bench.timing import interleaved_calls, median, paired_ratio, summary

LIMIT = 1.05
WRONG = "Not-the-password-42"


def _failure(rt: Any, username: str) -> Callable[[], object]:
    from gatehouse.accounts import login as login_flow
    from gatehouse.errors import InvalidGrant

    def attempt() -> object:
        try:
            login_flow.password_login(rt, username, WRONG, "bench")
        except InvalidGrant:
            return None
        raise AssertionError("a wrong password was accepted")

    attempt()  # warm: argon2 ready, dummy hash made, tables touched
    return attempt


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def measure(fixture: Fixture, rounds: int) -> list[Result]:
    from gatehouse import roles
    from gatehouse.accounts import signup

    rows = []
    with ExitStack() as stack:
        stack.enter_context(event_log_to_devnull())
        fake_rt, _db = fake_runtime(fixture)
        moto_rt = stack.enter_context(moto_runtime(fixture))
        for label, rt in (("in-memory tables", fake_rt), ("moto tables", moto_rt)):
            signup.create_user(rt, USERNAME, PASSWORD, roles.DEFAULT_ROLES)
            known, unknown = f"wrong password ({label})", f"unknown user ({label})"
            samples = interleaved_calls(
                {known: _failure(rt, USERNAME), unknown: _failure(rt, "nobody-here")}, rounds
            )
            details = [summary(name, values, _ms) for name, values in samples.items()]
            details.append(f"per-round ratio {paired_ratio(samples[unknown], samples[known]):.3f}x")
            rows.append(
                Result(
                    f"failed login, unknown user vs wrong password ({label})",
                    median(samples[unknown]),
                    LIMIT,
                    fmt=_ms,
                    floor=median(samples[known]),
                    floor_label="wrong password",
                    details=details,
                )
            )
    return rows
