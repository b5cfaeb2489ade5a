"""The one botocore session: its lean data loader answers as botocore's own, and serves every client."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import UnknownServiceError
from botocore.loaders import Loader

from chalicelib.gatehouse.storage import aws

TYPES = ("service-2", "endpoint-rule-set-1", "waiters-2", "paginators-1")


@pytest.fixture
def fresh_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """No shared session yet, as on a cold start (the test run's shared one comes back after)."""
    monkeypatch.setattr(aws, "_session", None)
    monkeypatch.setattr(aws, "_core", None)


@pytest.mark.parametrize("type_name", TYPES)
def test_lean_loader_lists_exactly_the_services_botocore_lists(type_name: str) -> None:
    lean, plain = aws._lean_loader(None), Loader()
    expected = plain.list_available_services(type_name)

    listing = lean.list_available_services(type_name)
    assert list(listing) == expected
    assert len(listing) == len(expected)
    assert listing[0] == expected[0]


@pytest.mark.parametrize("type_name", TYPES)
def test_lean_loader_membership_matches_botocore_for_every_service(type_name: str) -> None:
    plain = Loader()
    every = set(plain.list_available_services("service-2"))
    listed = set(plain.list_available_services(type_name))
    listing = aws._lean_loader(None).list_available_services(type_name)

    assert {name for name in every if name in listing} == listed
    for odd in ("no-such-service", "", ".", "..", "../dynamodb", "dynamodb/2012-08-10", 3):
        assert odd not in listing


def test_lean_loader_keeps_extra_data_paths(tmp_path: Any) -> None:
    model = tmp_path / "example" / "2020-01-01"
    model.mkdir(parents=True)
    (model / "service-2.json").write_text("{}")

    listing = aws._lean_loader(str(tmp_path)).list_available_services("service-2")
    assert "example" in listing
    assert "example" in list(listing)


def test_session_check_client_from_a_cold_session_reads_a_table(fresh_aws: None, aws_mock: None) -> None:
    client = aws.dynamodb_client()
    client.create_table(
        TableName="cold",
        KeySchema=[{"AttributeName": "sid", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "sid", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
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


def test_unknown_service_is_still_refused_by_name(fresh_aws: None) -> None:
    with pytest.raises(UnknownServiceError, match="no-such-service"):
        aws._core_session().create_client("no-such-service", region_name="us-east-1")
