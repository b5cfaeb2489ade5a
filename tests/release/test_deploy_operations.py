"""What the deploy template gives an operator: alarms on the metrics the code really writes (on the
functions that write them), the events table, the gateway's optional access log."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from gatehouse import logs
from gatehouse.release.template import AUTH_FUNCTION
from tests.conftest import ROOT, Package
from tests.release.cfn import deployed
from tests.release.stack import AUTHORIZER, NAME_SUFFIX

pytestmark = pytest.mark.deploy

ALARMS = ("AuthorizerErrorsAlarm", "ServerErrorsAlarm", "FailedLoginsAlarm", "RefreshReuseAlarm")
TOPIC = "arn:aws:sns:us-east-1:123456789012:gatehouse-alarms"


def _alarms(package: Package, **parameters: str) -> dict[str, Any]:
    resources = deployed(package.template, parameters)["Resources"]
    return {name: resources[name]["Properties"] for name in ALARMS}


def _function_of(dimensions: list[dict[str, Any]]) -> str:
    """The logical id of the function a metric's FunctionName dimension names."""
    [dimension] = dimensions
    assert dimension["Name"] == "FunctionName"
    suffix = dimension["Value"]["Fn::Sub"].removeprefix("${AWS::StackName}-")
    return {v: k for k, v in NAME_SUFFIX.items()}[suffix]


def test_each_alarm_exists_and_notifies_the_topic_only_when_one_is_given(package: Package) -> None:
    for properties in _alarms(package).values():
        assert "AlarmActions" not in properties
        assert "OKActions" not in properties
        assert properties["TreatMissingData"] == "notBreaching"
        assert "docs/OPERATIONS.md#" in properties["AlarmDescription"]
    for properties in _alarms(package, AlarmTopicArn=TOPIC).values():
        assert properties["AlarmActions"] == [TOPIC] == properties["OKActions"]


def test_the_login_alarms_watch_the_auth_functions_metrics_under_their_code_names(package: Package) -> None:
    alarms = _alarms(package, FailedLoginsThreshold="250")
    failed, reuse = alarms["FailedLoginsAlarm"], alarms["RefreshReuseAlarm"]
    assert (failed["Namespace"], failed["MetricName"]) == (logs.NAMESPACE, logs.LOGINS_FAILED)
    assert (reuse["Namespace"], reuse["MetricName"]) == (logs.NAMESPACE, logs.REFRESH_REUSE)
    assert _function_of(failed["Dimensions"]) == _function_of(reuse["Dimensions"]) == AUTH_FUNCTION
    assert (failed["Threshold"], failed["ComparisonOperator"]) == ("250", "GreaterThanThreshold")
    assert (reuse["Threshold"], reuse["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")


def test_the_authorizer_alarm_adds_its_crashes_to_the_failures_it_caught(package: Package) -> None:
    alarm = _alarms(package)["AuthorizerErrorsAlarm"]
    stats = {m["Id"]: m["MetricStat"]["Metric"] for m in alarm["Metrics"] if "MetricStat" in m}
    assert (stats["crashes"]["Namespace"], stats["crashes"]["MetricName"]) == ("AWS/Lambda", "Errors")
    assert (stats["caught"]["Namespace"], stats["caught"]["MetricName"]) == (
        logs.NAMESPACE,
        logs.AUTHORIZER_ERRORS,
    )
    assert {_function_of(m["Dimensions"]) for m in stats.values()} == {AUTHORIZER}
    [expression] = [m for m in alarm["Metrics"] if m.get("ReturnData")]
    assert set(re.findall(r"FILL\((\w+), 0\)", expression["Expression"])) == set(stats)


def test_the_5xx_alarm_watches_the_api_named_after_the_stack(package: Package) -> None:
    alarm = _alarms(package, ServerErrorsThreshold="9")["ServerErrorsAlarm"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Threshold"]) == (
        "AWS/ApiGateway",
        "5XXError",
        "9",
    )
    assert alarm["Dimensions"] == [{"Name": "ApiName", "Value": {"Ref": "AWS::StackName"}}]
    assert package.resources["RestAPI"]["Properties"]["Name"] == {"Ref": "AWS::StackName"}


def test_every_alarm_has_a_section_in_the_operations_guide(package: Package) -> None:
    guide = (ROOT / "docs" / "OPERATIONS.md").read_text()
    for properties in _alarms(package).values():
        anchor = properties["AlarmDescription"].rsplit("#", 1)[1]
        assert re.search(rf"^## {anchor}\b", guide, re.IGNORECASE | re.MULTILINE), anchor


def test_the_events_table_keeps_each_accounts_events_for_their_retention_only(package: Package) -> None:
    properties = package.resources["EventsTable"]["Properties"]
    assert properties["KeySchema"] == [
        {"AttributeName": "account", "KeyType": "HASH"},
        {"AttributeName": "event_id", "KeyType": "RANGE"},
    ]
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_the_gateways_access_log_is_off_unless_asked_for_and_then_has_each_refusals_route(
    package: Package,
) -> None:
    resources = deployed(package.template, {})["Resources"]
    assert "AccessLogSetting" not in resources["RestAPI"]["Properties"]
    assert package.resources["ApiAccessLogGroup"]["Condition"] == "ApiAccessLogsOn"
    assert package.template["Conditions"]["ApiAccessLogsOn"] == {
        "Fn::Equals": [{"Ref": "ApiAccessLogs"}, "true"]
    }
    resources = deployed(package.template, {"ApiAccessLogs": "true"})["Resources"]
    setting = resources["RestAPI"]["Properties"]["AccessLogSetting"]
    assert setting["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    line = json.loads(setting["Format"])
    assert line["route"] == "$context.httpMethod $context.resourcePath"
    assert (line["status"], line["error"]) == ("$context.status", "$context.error.responseType")
    group = resources["ApiAccessLogGroup"]["Properties"]
    assert group["RetentionInDays"] == "30"  # LogRetentionInDays, as for the functions' logs
