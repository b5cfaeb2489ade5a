"""The authorizer's DynamoDB-only session reads DynamoDB's part of botocore's endpoint data.

The shipped file must be exactly what ``tools/dynamodb_endpoints.py`` makes
from the installed botocore, and a client made with it must resolve every
region as botocore's own data does.
"""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest
from botocore.loaders import JSONFileLoader

from gatehouse.storage import aws
from tools import dynamodb_endpoints

# One region of each partition botocore knows, a FIPS one, and one no data names.
REGIONS = ["us-east-1", "eu-central-1", "cn-north-1", "us-gov-west-1", "us-iso-east-1", "ap-southeast-5"]


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aws, "_session", None)
    monkeypatch.setattr(aws, "_core", None)
    monkeypatch.setattr(aws, "_dynamodb_only", None)
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def test_the_shipped_data_is_botocores_with_dynamodb_alone() -> None:
    with open(aws.DYNAMODB_ENDPOINTS, encoding="utf-8") as shipped:
        text = shipped.read()
    assert text == dynamodb_endpoints.text_of(dynamodb_endpoints.botocore_endpoints()), (
        "botocore changed: run .venv/bin/python tools/dynamodb_endpoints.py"
    )
    partitions = json.loads(text)["partitions"]
    assert {p["partition"] for p in partitions} >= {"aws", "aws-cn", "aws-us-gov"}
    assert all(set(p["services"]) <= {"dynamodb"} for p in partitions)
    assert len(text) < len(json.dumps(dynamodb_endpoints.botocore_endpoints())) / 50


def _endpoint(client: Any) -> tuple[str, str]:
    return client.meta.endpoint_url, client.meta.region_name


@pytest.mark.parametrize("region", REGIONS)
def test_a_client_resolves_each_region_as_botocores_own_data_does(
    fresh: None, monkeypatch: pytest.MonkeyPatch, region: str
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", region)
    ours = aws.dynamodb_only_client()
    theirs = botocore.session.get_session().create_client("dynamodb")
    assert _endpoint(ours) == _endpoint(theirs)
    assert ours.meta.config.signature_version == theirs.meta.config.signature_version


def test_the_session_never_parses_botocores_endpoint_file(
    fresh: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    loaded: list[str] = []
    load_file = JSONFileLoader.load_file

    def recording(self: JSONFileLoader, file_path: str) -> Any:
        loaded.append(file_path)
        return load_file(self, file_path)

    monkeypatch.setattr(JSONFileLoader, "load_file", recording)
    aws.dynamodb_only_client()
    assert loaded, "the recorder saw botocore load nothing: it no longer loads files this way"
    assert not [path for path in loaded if path.endswith("/endpoints")]


def test_without_the_shipped_file_the_session_uses_botocores_own(
    fresh: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setattr(aws, "DYNAMODB_ENDPOINTS", "/nonexistent/endpoints.json")
    client = aws.dynamodb_only_client()
    assert _endpoint(client) == ("https://dynamodb.eu-west-1.amazonaws.com", "eu-west-1")
