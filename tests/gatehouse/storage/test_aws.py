"""The one botocore session: the session check's client and boto3's objects come from it."""

from __future__ import annotations

from typing import Any

import pytest

from gatehouse.storage import aws


@pytest.fixture
def fresh_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """No shared session yet, as on a cold start (the test run's shared one comes back after)."""
    monkeypatch.setattr(aws, "_session", None)
    monkeypatch.setattr(aws, "_core", None)
    monkeypatch.setattr(aws, "_dynamodb_only", None)


def _create_table(client: Any, name: str) -> None:
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "sid", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "sid", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def test_session_check_client_from_a_cold_session_reads_a_table(fresh_aws: None, aws_mock: None) -> None:
    client = aws.dynamodb_client()
    _create_table(client, "cold")
    client.put_item(TableName="cold", Item={"sid": {"S": "a"}, "username": {"S": "alice"}})

    item = client.get_item(TableName="cold", Key={"sid": {"S": "a"}}, ConsistentRead=True)["Item"]
    assert item == {"sid": {"S": "a"}, "username": {"S": "alice"}}


def test_boto3_session_wraps_the_same_botocore_session_and_serves_other_services(
    fresh_aws: None, aws_mock: None
) -> None:
    aws.dynamodb_client()
    boto3_session = aws.session()
    assert boto3_session._session is aws._core

    aws.ssm().put_parameter(Name="/cold/key", Value="v", Type="SecureString")
    assert aws.ssm().get_parameter(Name="/cold/key", WithDecryption=True)["Parameter"]["Value"] == "v"
    aws.dynamodb().create_table(
        TableName="cold-resource",
        KeySchema=[{"AttributeName": "sid", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "sid", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    table = aws.dynamodb().Table("cold-resource")
    table.put_item(Item={"sid": "b", "n": 3})
    assert table.get_item(Key={"sid": "b"})["Item"] == {"sid": "b", "n": 3}


def test_a_session_given_by_the_tests_is_the_one_every_client_comes_from(fresh_aws: None) -> None:
    import boto3

    given = boto3.Session(region_name="us-east-1")
    aws.use_session(given)
    assert aws.session() is given
    assert aws._core is given._session
    aws.use_session(None)
    assert aws._core is None


def test_a_process_that_talks_to_dynamodb_alone_gets_a_session_that_knows_only_dynamodb(
    fresh_aws: None, aws_mock: None
) -> None:
    # The authorizer function: botocore never lists the hundreds of services it ships.
    client = aws.dynamodb_only_client()
    _create_table(client, "alone")
    client.put_item(TableName="alone", Item={"sid": {"S": "a"}})
    assert client.get_item(TableName="alone", Key={"sid": {"S": "a"}}, ConsistentRead=True)["Item"]
    assert aws._core is None
    assert aws._dynamodb_only is not None
    assert aws._dynamodb_only.get_available_services() == ["dynamodb"]


def test_a_process_with_the_shared_session_uses_it_for_dynamodb_alone_too(
    fresh_aws: None, aws_mock: None
) -> None:
    aws.dynamodb_client()
    aws.dynamodb_only_client().list_tables()
    assert aws._dynamodb_only is None
