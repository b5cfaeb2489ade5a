"""One successful password login against one argon2id verify.

The login is ``gatehouse.accounts.login.password_login`` on a warm Services (key
loaded, argon2 ready, tables created): admission / lockout bookkeeping,
the argon2id verify, signing the access token and writing the session.
Two table back-ends, measured in the same rounds:

* the in-memory fake (bench/fake_dynamodb.py): what is left beyond argon2
  is Gatehouse's own work;
* moto in-process: adds botocore request building and moto's parsing, an
  upper bound nearer to what the tests see.

The floor is ``PasswordHasher.verify`` with the configured parameters
(argon2id m=19456 KiB, t=2, p=1 by default) on the user's stored hash.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from bench.fake_dynamodb import FakeDynamoDB
from bench.fixtures import PASSWORD, USERNAME, Fixture, event_log_to_devnull
from bench.report import Result
from bench.timing import Samples, interleaved_calls, median, paired_ratio, summary

LIMIT = 1.2
FLOOR = "argon2id verify"
FAKE = "login, fake tables"
MOTO = "login, moto tables"
WARM_UP_LOGINS = 2


@contextmanager
def aws_test_env() -> Iterator[None]:
    """Fake credentials and no endpoint override, restored afterwards: moto must catch every call."""
    saved = dict(os.environ)
    for name in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")] + ["AWS_PROFILE"]:
        os.environ.pop(name, None)
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106 (moto's placeholder)
        AWS_SESSION_TOKEN="testing",  # noqa: S106
        AWS_DEFAULT_REGION="us-east-1",
    )
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def moto_runtime(fixture: Fixture) -> Iterator[Any]:
    """A Services over moto in-process tables, as the test suite builds it."""
    import boto3
    from moto import mock_aws

    from gatehouse.services import Services
    from gatehouse.storage import aws
    from gatehouse.storage.tables import create_tables

    with aws_test_env(), mock_aws():
        # One shared session: clients from it are cheap (see gatehouse/storage/aws.py).
        session = boto3.Session(region_name="us-east-1")
        aws.use_session(session)
        try:
            create_tables(session.client("dynamodb"), fixture.settings)
            yield Services(fixture.settings, signing_key_source=fixture.signing_key_source)
        finally:
            aws.use_session(None)


def fake_runtime(fixture: Fixture) -> tuple[Any, FakeDynamoDB]:
    from gatehouse.services import Services
    from gatehouse.storage.tables import table_definitions

    db = FakeDynamoDB.from_definitions(table_definitions(fixture.settings))
    return Services(
        fixture.settings, table=db.table_factory(), signing_key_source=fixture.signing_key_source
    ), db


def _ready_login(rt: Any) -> Callable[[], object]:
    """Create the user, log in until everything lazy is loaded, and return one more login."""
    from gatehouse import roles
    from gatehouse.accounts import login as login_flow
    from gatehouse.accounts import signup

    signup.create_user(rt, USERNAME, PASSWORD, roles.DEFAULT_ROLES)

    def login() -> object:
        return login_flow.password_login(rt, USERNAME, PASSWORD, "bench")

    for _ in range(WARM_UP_LOGINS):
        login()
    return login


def _argon2_verify(rt: Any) -> Callable[[], object]:
    from argon2 import PasswordHasher, Type

    s = rt.settings
    hasher = PasswordHasher(
        time_cost=s.argon2_time_cost,
        memory_cost=s.argon2_memory_kib,
        parallelism=s.argon2_parallelism,
        type=Type.ID,
    )
    stored = rt.users.get(USERNAME).password_hash
    hasher.verify(stored, PASSWORD)
    return lambda: hasher.verify(stored, PASSWORD)


def _params(rt: Any) -> str:
    s = rt.settings
    return f"m={s.argon2_memory_kib},t={s.argon2_time_cost},p={s.argon2_parallelism}"


def _row(figure: str, samples: Samples, name: str, details: list[str]) -> Result:
    floor = median(samples[FLOOR])
    return Result(
        figure, median(samples[name]), LIMIT, fmt=_ms, floor=floor, floor_label=FLOOR, details=details
    )


def _details(samples: Samples, params: str, requests: dict[str, float]) -> list[str]:
    floor = median(samples[FLOOR])
    lines = [summary(name, values, _ms) for name, values in samples.items()]
    lines.append(f"argon2id parameters: {params}")
    lines.append(
        "fake-table requests per login: " + ", ".join(f"{op} {n:g}" for op, n in sorted(requests.items()))
    )
    for name in (FAKE, MOTO):
        ratio = paired_ratio(samples[name], samples[FLOOR])
        lines.append(
            f"{name}: {_ms(median(samples[name]) - floor)} beyond argon2; per-round ratio {ratio:.2f}x"
        )
    return lines


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def measure(fixture: Fixture, rounds: int) -> list[Result]:
    with ExitStack() as stack:
        stack.enter_context(event_log_to_devnull())
        fake_rt, db = fake_runtime(fixture)
        moto_rt = stack.enter_context(moto_runtime(fixture))
        fake_login = _ready_login(fake_rt)  # first: the floor verifies this user's stored hash
        candidates = {FLOOR: _argon2_verify(fake_rt), FAKE: fake_login, MOTO: _ready_login(moto_rt)}
        db.calls.clear()
        samples = interleaved_calls(candidates, rounds)
    requests = {op: n / rounds for op, n in db.calls.items()}
    return [
        _row(
            "password login (in-memory tables)", samples, FAKE, _details(samples, _params(fake_rt), requests)
        ),
        _row("password login (moto tables, in-process)", samples, MOTO, []),
    ]
