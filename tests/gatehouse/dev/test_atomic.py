"""The embedded DynamoDB keeps the guarantees the code relies on: atomic items, idempotent transactions.

A client retries a transaction with the same ``ClientRequestToken`` when an
answer is lost (a read timeout under load); DynamoDB applies it once.  moto
applied the retry again, so a login whose transaction had committed failed
its own "no such session yet" condition and answered 500.
"""

from __future__ import annotations

from typing import Any

from gatehouse.accounts import login as login_flow
from gatehouse.services import Services
from tests.conftest import Credentials


def _retry_each_transaction_once(client: Any) -> list[int]:
    """Make botocore send every transaction a second time after its answer, as after a lost one."""
    retried: list[int] = []

    def once_more(attempts: int, **_: Any) -> int | None:
        if attempts == 1:
            retried.append(attempts)
            return 0  # retry at once
        return None

    client.meta.events.register("needs-retry.dynamodb.TransactWriteItems", once_more)
    return retried


def _put_new(rt: Services, sid: str) -> dict[str, Any]:
    item = {"account_id": "a" * 32, "sid": sid, "created_at": 1, "expires_at": 2}
    put = {
        "TableName": rt.sessions.table_name,
        "Item": item,
        "ConditionExpression": "attribute_not_exists(sid)",
    }
    return {"Put": put}


def test_a_transaction_sent_again_with_its_token_is_applied_once_and_answers_alike(
    rt: Services, atomic_conditional_writes: None
) -> None:
    client = rt.sessions._table.meta.client
    client.transact_write_items(TransactItems=[_put_new(rt, "s1")], ClientRequestToken="t-1")
    client.transact_write_items(TransactItems=[_put_new(rt, "s1")], ClientRequestToken="t-1")
    try:  # another token is another transaction: its condition fails
        client.transact_write_items(TransactItems=[_put_new(rt, "s1")], ClientRequestToken="t-2")
    except client.exceptions.TransactionCanceledException:
        pass
    else:
        raise AssertionError("a new token wrote the session again")


def test_a_login_whose_committed_transaction_is_retried_succeeds_with_one_session(
    rt: Services, make_user: Any, atomic_conditional_writes: None
) -> None:
    creds: Credentials = make_user()
    retried = _retry_each_transaction_once(rt.sessions._table.meta.client)
    grant = login_flow.password_login(rt, creds.username, creds.password, "")
    assert retried == [1]
    assert grant.access_token
    assert len(rt.sessions.keys_for(creds.account_id)) == 1
