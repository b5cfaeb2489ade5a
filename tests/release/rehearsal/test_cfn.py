"""The template resolved as CloudFormation would deploy it: parameters, names, ARNs, conditions."""

from __future__ import annotations

from typing import Any

import pytest

from gatehouse.release.rehearsal.cfn import Pseudo, Resolver, TemplateError

PSEUDO = Pseudo("eu-west-1", "111122223333", "stack")
TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "Origins": {"Type": "String", "Default": ""},
        "Jwks": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/app/jwks"},
        "Mail": {"Type": "String", "Default": ""},
    },
    "Conditions": {
        "MailOn": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Mail"}, ""]}]},
        "Both": {"Fn::And": [{"Condition": "MailOn"}, {"Fn::Equals": [{"Ref": "Origins"}, "*"]}]},
    },
    "Rules": {
        "MailNeedsOrigins": {
            "RuleCondition": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Mail"}, ""]}]},
            "Assertions": [
                {
                    "Assert": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Origins"}, ""]}]},
                    "AssertDescription": "set Origins",
                }
            ],
        }
    },
    "Resources": {
        "Users": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
        "Named": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {"TableName": {"Fn::Sub": "${AWS::StackName}-named"}},
        },
        "Fn": {
            "Type": "AWS::Serverless::Function",
            "Properties": {"FunctionName": {"Fn::Sub": "${AWS::StackName}-fn"}},
        },
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "alarms"}},
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
    },
}


def resolver(**values: str) -> Resolver:
    return Resolver.for_template(TEMPLATE, PSEUDO, values, lambda name: f"value-of:{name}")


def test_parameters_take_values_defaults_and_ssm_typed_ones_are_read_from_ssm() -> None:
    r = resolver(Origins="https://a.example")
    assert r.resolve({"Ref": "Origins"}) == "https://a.example"
    assert r.resolve({"Ref": "Mail"}) == ""
    assert r.resolve({"Ref": "Jwks"}) == "value-of:/app/jwks"


def test_an_unknown_parameter_value_is_refused() -> None:
    with pytest.raises(TemplateError, match="Nope"):
        resolver(Nope="x")


def test_resources_get_physical_names_and_arns() -> None:
    r = resolver()
    assert r.resolve({"Ref": "Named"}) == "stack-named"
    generated = r.resolve({"Ref": "Users"})
    assert generated.startswith("stack-Users-")
    assert (
        r.resolve({"Fn::GetAtt": ["Users", "Arn"]})
        == f"arn:aws:dynamodb:eu-west-1:111122223333:table/{generated}"
    )
    assert r.resolve({"Fn::GetAtt": "Fn.Arn"}) == "arn:aws:lambda:eu-west-1:111122223333:function:stack-fn"
    assert (
        r.resolve({"Ref": "Topic"}) == "arn:aws:sns:eu-west-1:111122223333:alarms"
    )  # a topic's Ref is its ARN


def test_sub_join_select_split_and_if_with_no_value() -> None:
    r = resolver(Mail="m.example")
    assert r.resolve({"Fn::Sub": "arn:${AWS::Partition}:x:${AWS::Region}:${Fn.Arn}:${!Literal}"}) == (
        "arn:aws:x:eu-west-1:arn:aws:lambda:eu-west-1:111122223333:function:stack-fn:${Literal}"
    )
    assert r.resolve({"Fn::Sub": ["${A}-${Mail}", {"A": {"Ref": "Named"}}]}) == "stack-named-m.example"
    assert r.resolve({"Fn::Join": ["/", ["a", {"Ref": "Mail"}]]}) == "a/m.example"
    assert r.resolve({"Fn::Select": [1, {"Fn::Split": [",", "x,y,z"]}]}) == "y"
    value = {"k": {"Fn::If": ["Both", "yes", {"Ref": "AWS::NoValue"}]}, "l": [{"Fn::If": ["MailOn", 1, 2]}]}
    assert r.resolve(value) == {"l": [1]}


def test_template_rules_report_what_the_values_break() -> None:
    assert resolver().rules_broken() == []
    assert resolver(Mail="m.example").rules_broken() == ["MailNeedsOrigins: set Origins"]
    assert resolver(Mail="m.example", Origins="*").rules_broken() == []


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ({"Fn::ImportValue": "shared"}, "Fn::ImportValue"),
        ({"Fn::GetAtt": ["Users", "StreamArn"]}, "Users.StreamArn"),
        ({"Fn::GetAtt": ["Queue", "Arn"]}, "AWS::SQS::Queue"),
        ({"Ref": "AWS::NotificationARNs"}, "AWS::NotificationARNs"),
        ({"Ref": "Missing"}, "Missing"),
        ({"Fn::If": ["NoSuchCondition", 1, 2]}, "NoSuchCondition"),
    ],
)
def test_what_it_cannot_resolve_stops_with_a_line_naming_it_and_where(value: Any, named: str) -> None:
    with pytest.raises(TemplateError, match=named) as raised:
        resolver().resolve({"Properties": {"X": value}})
    assert "Properties.X" in str(raised.value)
