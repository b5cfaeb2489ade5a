"""The local stack under concurrent load behaves like API Gateway and DynamoDB, over real HTTP.

``make run``'s server must take a burst of connections without resetting any,
and its embedded DynamoDB must keep conditional writes and transactions atomic
per item (gatehouse.dev.atomic), or the race protection of refresh rotation
and of login cannot be tested against it.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config

from tests.live_stack import LiveStack, live_stack

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef, WriteRequestTypeDef

pytestmark = pytest.mark.e2e

T = TypeVar("T")
BURST = 64
REFRESHES = 20
LOGINS = 100
PER_ACCOUNT = 10  # twice the default GATEHOUSE_LOCKOUT_THRESHOLD
# A bound on each request, not a timing assert: 100 argon2 logins share two cores.
REQUEST_TIMEOUT = 120.0
# moto's transactions deep-copy whole tables: with this many items the copy is
# slow enough that concurrent writes reliably land in the middle of it.
FILLER_ITEMS = 2000


@pytest.fixture(scope="module")
def stack() -> Iterator[LiveStack]:
    with live_stack() as running:
        yield running


def _all_at_once(count: int, work: Callable[[], T]) -> list[T | BaseException]:
    """Run ``work`` in ``count`` threads released together; its results, or what each raised."""
    barrier = threading.Barrier(count)

    def one() -> T | BaseException:
        barrier.wait()
        try:
            return work()
        except Exception as failure:
            return failure

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda _: one(), range(count)))


def _post(stack: LiveStack, path: str, body: dict[str, str]) -> tuple[int, Any]:
    """One request on a fresh connection of its own."""
    address = urlsplit(stack.base_url)
    connection = http.client.HTTPConnection(str(address.hostname), address.port, timeout=REQUEST_TIMEOUT)
    try:
        connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


def test_a_burst_of_64_simultaneous_connections_gets_no_reset(stack: LiveStack) -> None:
    # POSTs, as a client sends them: with a listen backlog of 5 most of these were reset.
    unsupported = {"grant_type": "urn:example:no-such-grant"}
    results = _all_at_once(BURST, lambda: _post(stack, "/auth/token", unsupported))
    answers = [r if isinstance(r, BaseException) else (r[0], r[1]["error"]) for r in results]
    assert answers == [(400, "unsupported_grant_type")] * BURST


def test_parallel_refreshes_of_one_token_rotate_it_exactly_once(stack: LiveStack) -> None:
    username, password = stack.new_user("refresh")
    status, grant = _post(
        stack, "/auth/token", {"grant_type": "password", "username": username, "password": password}
    )
    assert status == 200, grant
    refresh = {"grant_type": "refresh_token", "refresh_token": grant["refresh_token"]}

    results = _all_at_once(REFRESHES, lambda: _post(stack, "/auth/token", refresh))

    assert not [r for r in results if isinstance(r, BaseException) or r[0] >= 500], results
    answers = [r for r in results if not isinstance(r, BaseException)]
    pairs = {(body["access_token"], body["refresh_token"]) for status, body in answers if status == 200}
    assert len(pairs) == 1, answers  # one new pair; retries within the grace window get that same pair
    assert all(body["error"] == "invalid_grant" for status, body in answers if status != 200), answers
    [(_, new_refresh)] = pairs
    assert new_refresh != grant["refresh_token"]
    # The pair handed out is the one the session holds: it rotates again.
    status, body = _post(stack, "/auth/token", {"grant_type": "refresh_token", "refresh_token": new_refresh})
    assert status == 200, body


def test_a_hundred_parallel_logins_get_no_server_error(stack: LiveStack) -> None:
    # Ten at a time per account, twice the lockout threshold: a right password is
    # checked before its attempt is settled and is never counted as a failure, so
    # none of them is refused.  Under this load a transaction can outlive the
    # client's read timeout; its retry carries the same ClientRequestToken and
    # must not be applied twice (it used to fail as "Session id collision", a 500).
    accounts = [stack.new_user("login") for _ in range(LOGINS // PER_ACCOUNT)]
    logins = iter(
        {"grant_type": "password", "username": username, "password": password}
        for username, password in accounts * PER_ACCOUNT
    )
    lock = threading.Lock()

    def login() -> int:
        with lock:
            body = next(logins)
        return _post(stack, "/auth/token", body)[0]

    assert _all_at_once(LOGINS, login) == [200] * LOGINS


def test_a_cancelled_transaction_never_breaks_or_undoes_a_concurrent_write(stack: LiveStack) -> None:
    """Straight at the embedded DynamoDB: what moto alone gets wrong under load.

    A transaction copies the tables, and on cancellation puts the copies back:
    a write that landed meanwhile was lost, or the copy failed with 500
    ("dictionary changed size during iteration").
    """
    recorded = json.loads(stack.state_file.read_text())
    dynamodb = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=recorded["region"]
    ).client(
        "dynamodb",
        endpoint_url=recorded["endpoint"],
        # No retry: a 500 must show, not be retried away.
        config=Config(max_pool_connections=BURST, retries={"mode": "standard", "max_attempts": 1}),
    )
    table = "concurrency-scratch"
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for start in range(0, FILLER_ITEMS, 25):
        batch: list[WriteRequestTypeDef] = [
            {"PutRequest": {"Item": {"k": {"S": f"filler-{n}"}}}} for n in range(start, start + 25)
        ]
        dynamodb.batch_write_item(RequestItems={table: batch})
    cancelled: list[TransactWriteItemTypeDef] = [
        {
            "ConditionCheck": {
                "TableName": table,
                "Key": {"k": {"S": "absent"}},
                "ConditionExpression": "attribute_exists(k)",
            }
        }
    ]
    turns = iter(range(3 * 32))
    lock = threading.Lock()

    def write_or_cancel() -> str | None:
        """Every other caller writes a new item; the rest run a transaction that is cancelled."""
        with lock:
            turn = next(turns)
        key = f"written-{turn}"
        if turn % 2:
            try:
                dynamodb.transact_write_items(TransactItems=cancelled)
            except dynamodb.exceptions.TransactionCanceledException:
                return None
            raise AssertionError("the condition check should have cancelled the transaction")
        dynamodb.put_item(TableName=table, Item={"k": {"S": key}})
        return key

    for _ in range(3):
        results = _all_at_once(32, write_or_cancel)
        assert not [r for r in results if isinstance(r, BaseException)], results
        written = [r for r in results if isinstance(r, str)]
        assert len(written) == 16
        missing = [
            k for k in written if "Item" not in dynamodb.get_item(TableName=table, Key={"k": {"S": k}})
        ]
        assert missing == []
