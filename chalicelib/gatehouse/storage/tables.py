"""Gatehouse's DynamoDB tables, as ``create_table`` arguments: one definition for the
local stack, the tests and the admin CLI's ``create-tables``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.gatehouse.settings import Settings
from chalicelib.gatehouse.storage.sessions import USER_INDEX

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

TTL_ATTRIBUTE = "expires_at"  # on sessions and attempts


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
            "TableName": settings.sessions_table,
            "KeySchema": [{"AttributeName": "sid", "KeyType": "HASH"}],
            "AttributeDefinitions": [
                {"AttributeName": "sid", "AttributeType": "S"},
                {"AttributeName": "username", "AttributeType": "S"},
                {"AttributeName": "created_at", "AttributeType": "N"},
            ],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": USER_INDEX,
                    "KeySchema": [
                        {"AttributeName": "username", "KeyType": "HASH"},
                        {"AttributeName": "created_at", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            **on_demand,
        },
        {
            "TableName": settings.attempts_table,
            "KeySchema": [{"AttributeName": "username", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "username", "AttributeType": "S"}],
            **on_demand,
        },
    ]


def ttl_tables(settings: Settings) -> tuple[str, ...]:
    """The tables whose rows DynamoDB's TTL removes (attribute ``TTL_ATTRIBUTE``)."""
    return (settings.sessions_table, settings.attempts_table)


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
