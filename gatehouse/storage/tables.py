"""Gatehouse's DynamoDB tables, as ``create_table`` arguments: one definition for the
local stack, the tests and the admin CLI's ``create-tables``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatehouse.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

TTL_ATTRIBUTE = "expires_at"  # on sessions, attempts and events


def table_definitions(settings: Settings) -> list[dict[str, Any]]:
    on_demand = {"BillingMode": "PAY_PER_REQUEST"}
    return [
        {
            "TableName": settings.users_table,
            "KeySchema": [{"AttributeName": "username", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "username", "AttributeType": "S"}],
            **on_demand,
        },
        {
            # Keyed by account id, so that one strongly consistent query finds all
            # of an account's sessions (storage/sessions.py); no index to lag behind.
            "TableName": settings.sessions_table,
            "KeySchema": [
                {"AttributeName": "account_id", "KeyType": "HASH"},
                {"AttributeName": "sid", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [
                {"AttributeName": "account_id", "AttributeType": "S"},
                {"AttributeName": "sid", "AttributeType": "S"},
            ],
            **on_demand,
        },
        {
            # Failed-attempt counters per name, counter and observation window (storage/attempts.py).
            "TableName": settings.attempts_table,
            "KeySchema": [
                {"AttributeName": "username", "KeyType": "HASH"},
                {"AttributeName": "counter", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [
                {"AttributeName": "username", "AttributeType": "S"},
                {"AttributeName": "counter", "AttributeType": "S"},
            ],
            **on_demand,
        },
        {
            # Security events per account, newest last in the sort key (storage/events.py):
            # one strongly consistent query pages a user's activity, newest first.
            "TableName": settings.events_table,
            "KeySchema": [
                {"AttributeName": "account", "KeyType": "HASH"},
                {"AttributeName": "event_id", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [
                {"AttributeName": "account", "AttributeType": "S"},
                {"AttributeName": "event_id", "AttributeType": "S"},
            ],
            **on_demand,
        },
    ]


def ttl_tables(settings: Settings) -> tuple[str, ...]:
    """The tables whose rows DynamoDB's TTL removes (attribute ``TTL_ATTRIBUTE``)."""
    return (settings.sessions_table, settings.attempts_table, settings.events_table)


def create_tables(
    client: DynamoDBClient,
    settings: Settings,
    *,
    wait: bool = False,
    extra: list[dict[str, Any]] | None = None,
) -> None:
    """Create every table (and an app's ``extra`` ones) and turn TTL on.

    ``wait`` for real DynamoDB, where tables start CREATING.
    """
    definitions = table_definitions(settings) + list(extra or [])
    for definition in definitions:
        client.create_table(**definition)
    if wait:
        for definition in definitions:
            client.get_waiter("table_exists").wait(TableName=definition["TableName"])
    for table in ttl_tables(settings):
        client.update_time_to_live(
            TableName=table,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
        )
