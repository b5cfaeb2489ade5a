"""The embedded DynamoDB keeps the guarantees the code relies on: atomic items, idempotent transactions.

A client retries a transaction with the same ``ClientRequestToken`` when an
answer is lost (a read timeout under load); DynamoDB applies it once.  moto
applied the retry again, so a login whose transaction had committed failed
its own "no such session yet" condition and answered 500.
"""

from __future__ import annotations

from typing import Any

import pytest

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


def _user_row(rt: Services, username: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = rt.users._table.get_item(Key={"username": username}).get("Item")
    return item


def _sessions(rt: Services) -> list[dict[str, Any]]:
    return sorted(rt.sessions._table.scan()["Items"], key=lambda item: str(item["sid"]))


def test_a_cancelled_transaction_leaves_every_item_as_it_was_and_a_committed_one_writes_them_all(
    rt: Services, make_user: Any
) -> None:
    creds: Credentials = make_user("kept-user")
    row = _user_row(rt, "kept-user")
    client = rt.sessions._table.meta.client
    client.transact_write_items(TransactItems=[_put_new(rt, "s0")])
    sessions = _sessions(rt)
    users, key = rt.users.table_name, {"username": "kept-user"}
    session_key = {"account_id": "a" * 32, "sid": "s0"}
    writes: list[dict[str, Any]] = [
        _put_new(rt, "s1"),  # a new item in a table with a range key
        {
            "Update": {
                "TableName": users,
                "Key": key,
                "UpdateExpression": "SET #r = :r",
                "ExpressionAttributeNames": {"#r": "roles"},
                "ExpressionAttributeValues": {":r": []},
            }
        },
        {"Delete": {"TableName": rt.sessions.table_name, "Key": session_key}},
        {"Put": {"TableName": users, "Item": {"username": "new-user"}}},
    ]
    failing = {
        "ConditionCheck": {
            "TableName": users,
            "Key": {"username": "nobody"},
            "ConditionExpression": "attribute_exists(username)",
        }
    }
    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(TransactItems=[*writes, failing])
    assert _user_row(rt, "kept-user") == row
    assert _user_row(rt, "new-user") is None
    assert _sessions(rt) == sessions
    client.transact_write_items(TransactItems=writes)
    assert _user_row(rt, creds.username) == {**(row or {}), "roles": []}
    assert _user_row(rt, "new-user") == {"username": "new-user"}
    assert [item["sid"] for item in _sessions(rt)] == ["s1"]


def test_a_transaction_on_an_unknown_table_gets_dynamodbs_error(rt: Services) -> None:
    client = rt.sessions._table.meta.client
    put = {"Put": {"TableName": "no-such-table", "Item": {"username": {"S": "x"}}}}
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.transact_write_items(TransactItems=[put])
