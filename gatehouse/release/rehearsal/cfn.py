"""``build/sam.json`` resolved as CloudFormation would deploy it.

The rehearsal deploys nothing, but everything it runs (role statements,
environment variables, the API definition) is read from the template after
its intrinsic functions are worked out for one set of parameter values and
the physical names the rehearsal gives each resource:

* ``Ref``: a parameter (``AWS::SSM::Parameter::Value<...>`` parameters are
  read from SSM, as CloudFormation does at deploy time), a pseudo parameter
  (``AWS::Region``, ``AWS::AccountId``, ``AWS::StackName``,
  ``AWS::Partition``, ``AWS::URLSuffix``, ``AWS::NoValue``) or a resource
  (its physical id);
* ``Fn::GetAtt`` ``Arn`` of a resource type the rehearsal knows, and
  ``Fn::Sub`` (both forms, ``${Name}``, ``${Name.Attr}``, ``${!Literal}``),
  ``Fn::Join``, ``Fn::Select``, ``Fn::Split``, ``Fn::If`` and the condition
  functions (``Fn::Equals``, ``Fn::Not``, ``Fn::And``, ``Fn::Or``,
  ``Condition``).

Anything else (``Fn::ImportValue``, ``Fn::GetAZs``, another attribute...)
stops the rehearsal with one line naming it and where it is, rather than
being guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

NO_VALUE = object()  # what AWS::NoValue (and an Fn::If branch naming it) resolves to
_SUB = re.compile(r"\$\{([^}]*)\}")


class TemplateError(Exception):
    """The template uses something the rehearsal cannot resolve; the message names it.

    Not a :class:`~gatehouse.errors.GatehouseError`: a build step's refusal, never a request's.
    """


@dataclass(frozen=True)
class Pseudo:
    region: str
    account_id: str
    stack_name: str
    partition: str = "aws"
    url_suffix: str = "amazonaws.com"

    def values(self) -> dict[str, str]:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.stack_name,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": self.url_suffix,
        }


def physical_name(pseudo: Pseudo, logical: str, resource: Mapping[str, Any]) -> str:
    """The name CloudFormation would generate for a resource the template does not name."""
    return f"{pseudo.stack_name}-{logical}-REHEARSAL"


# Resource type -> (the property holding its name, ARN of that name).
_ARNS: dict[str, tuple[str | None, Callable[[Pseudo, str], str]]] = {
    "AWS::DynamoDB::Table": (
        "TableName",
        lambda p, name: f"arn:{p.partition}:dynamodb:{p.region}:{p.account_id}:table/{name}",
    ),
    "AWS::IAM::Role": ("RoleName", lambda p, name: f"arn:{p.partition}:iam::{p.account_id}:role/{name}"),
    "AWS::Serverless::Function": (
        "FunctionName",
        lambda p, name: f"arn:{p.partition}:lambda:{p.region}:{p.account_id}:function:{name}",
    ),
    "AWS::Lambda::Function": (
        "FunctionName",
        lambda p, name: f"arn:{p.partition}:lambda:{p.region}:{p.account_id}:function:{name}",
    ),
    "AWS::Logs::LogGroup": (
        "LogGroupName",
        lambda p, name: f"arn:{p.partition}:logs:{p.region}:{p.account_id}:log-group:{name}:*",
    ),
    "AWS::SNS::Topic": (
        "TopicName",
        lambda p, name: f"arn:{p.partition}:sns:{p.region}:{p.account_id}:{name}",
    ),
    "AWS::Serverless::Api": (None, lambda p, name: ""),
    "AWS::Lambda::Permission": (None, lambda p, name: ""),
}


# Resource types whose Ref is their ARN rather than their name.
_REF_IS_ARN = frozenset({"AWS::SNS::Topic"})


@dataclass
class Resolver:
    """Resolves values of one template for one set of parameter values."""

    template: Mapping[str, Any]
    pseudo: Pseudo
    parameters: dict[str, str]
    # Resource ids the rehearsal chose where the template names none (the API's id...).
    ids: dict[str, str] = field(default_factory=dict)
    _names: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_template(
        cls,
        template: Mapping[str, Any],
        pseudo: Pseudo,
        values: Mapping[str, str],
        ssm_value: Callable[[str], str],
        ids: Mapping[str, str] | None = None,
    ) -> Resolver:
        """Parameters at ``values`` (the rest at their defaults); SSM-typed ones read via ``ssm_value``."""
        declared = template.get("Parameters", {})
        unknown = sorted(set(values) - set(declared))
        if unknown:
            raise TemplateError(f"no such template parameter(s): {', '.join(unknown)}")
        parameters: dict[str, str] = {}
        for name, spec in declared.items():
            if name not in values and "Default" not in spec:
                raise TemplateError(f"template parameter {name} has no default: give it a value")
            value = str(values.get(name, spec.get("Default")))
            if str(spec.get("Type", "")).startswith("AWS::SSM::Parameter::Value<"):
                value = ssm_value(value)
            parameters[name] = value
        return cls(template, pseudo, parameters, dict(ids or {}))

    # -- names ------------------------------------------------------------------------------

    def _resource(self, logical: str, where: str) -> Mapping[str, Any]:
        resource = self.template.get("Resources", {}).get(logical)
        if resource is None:
            raise TemplateError(f"{where}: no resource or parameter named {logical}")
        return dict(resource)

    def physical_id(self, logical: str, where: str = "Ref") -> str:
        if logical in self.ids:
            return self.ids[logical]
        if logical not in self._names:
            resource = self._resource(logical, where)
            kind = resource.get("Type", "")
            if kind not in _ARNS:
                raise TemplateError(f"{where}: the rehearsal cannot make a {kind} ({logical})")
            name_property, _ = _ARNS[kind]
            given = resource.get("Properties", {}).get(name_property) if name_property else None
            name = self.resolve(given, f"{logical}.{name_property}") if given is not None else None
            self._names[logical] = (
                name if isinstance(name, str) else physical_name(self.pseudo, logical, resource)
            )
        return self._names[logical]

    def arn(self, logical: str, where: str) -> str:
        kind = self._resource(logical, where).get("Type", "")
        if kind not in _ARNS or _ARNS[kind][0] is None:
            raise TemplateError(f"{where}: Fn::GetAtt {logical}.Arn of a {kind} is not supported")
        return _ARNS[kind][1](self.pseudo, self.physical_id(logical, where))

    def get_att(self, logical: str, attribute: str, where: str) -> str:
        if attribute != "Arn":
            raise TemplateError(f"{where}: Fn::GetAtt {logical}.{attribute} is not supported (only .Arn)")
        return self.arn(logical, where)

    def ref(self, name: str, where: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.parameters:
            return self.parameters[name]
        pseudo = self.pseudo.values()
        if name in pseudo:
            return pseudo[name]
        if name.startswith("AWS::"):
            raise TemplateError(f"{where}: pseudo parameter {name} is not supported")
        if self._resource(name, where).get("Type") in _REF_IS_ARN:
            return self.arn(name, where)
        return self.physical_id(name, where)

    # -- conditions -------------------------------------------------------------------------

    def condition(self, name: str, where: str = "Condition") -> bool:
        conditions = self.template.get("Conditions", {})
        if name not in conditions:
            raise TemplateError(f"{where}: no condition named {name}")
        return self._truth(conditions[name], f"Conditions.{name}")

    def _truth(self, node: Any, where: str) -> bool:
        if not (isinstance(node, dict) and len(node) == 1):
            raise TemplateError(f"{where}: not a condition: {node!r}")
        [(function, args)] = node.items()
        if function == "Condition":
            return self.condition(args, where)
        if function == "Fn::Equals":
            left, right = (self.resolve(a, where) for a in args)
            return bool(str(left) == str(right))
        if function == "Fn::Not":
            return not self._truth(args[0], where)
        if function == "Fn::And":
            return all(self._truth(a, where) for a in args)
        if function == "Fn::Or":
            return any(self._truth(a, where) for a in args)
        raise TemplateError(f"{where}: condition function {function} is not supported")

    # -- values -----------------------------------------------------------------------------

    def resolve(self, value: Any, where: str = "") -> Any:
        """``value`` with every intrinsic function worked out (``NO_VALUE`` where it disappears)."""
        if isinstance(value, list):
            items = [self.resolve(item, f"{where}[{i}]") for i, item in enumerate(value)]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            [(key, args)] = value.items()
            if key == "Ref" or key.startswith("Fn::"):
                return self._function(key, args, where)
        resolved = {
            key: self.resolve(item, f"{where}.{key}" if where else key) for key, item in value.items()
        }
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def _function(self, function: str, args: Any, where: str) -> Any:
        if function == "Ref":
            return self.ref(args, where)
        if function == "Fn::GetAtt":
            logical, attribute = args.split(".", 1) if isinstance(args, str) else args
            return self.get_att(logical, attribute, where)
        if function == "Fn::If":
            name, if_true, if_false = args
            return self.resolve(if_true if self.condition(name, where) else if_false, where)
        if function == "Fn::Sub":
            return self._sub(args, where)
        if function == "Fn::Join":
            separator, items = args
            return separator.join(self._strings(items, where))
        if function == "Fn::Select":
            index, items = args
            return self._strings(items, where)[int(self.resolve(index, where))]
        if function == "Fn::Split":
            separator, source = args
            text = self.resolve(source, where)
            if not isinstance(text, str):
                raise TemplateError(f"{where}: Fn::Split of a non-string")
            return text.split(separator)
        if function in ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or"):
            return self._truth({function: args}, where)
        raise TemplateError(f"{where}: {function} is not supported by the rehearsal")

    def _sub(self, args: Any, where: str) -> str:
        if isinstance(args, str):
            text, names = args, {}
        else:
            text, variables = args
            names = {key: self.resolve(item, f"{where}.{key}") for key, item in variables.items()}

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in names:
                return str(names[name])
            if "." in name and not name.startswith("AWS::"):
                logical, attribute = name.split(".", 1)
                return self.get_att(logical, attribute, where)
            resolved = self.ref(name, where)
            if resolved is NO_VALUE:
                raise TemplateError(f"{where}: Fn::Sub of AWS::NoValue")
            return str(resolved)

        return _SUB.sub(one, text)

    def _strings(self, items: Any, where: str) -> list[str]:
        resolved = self.resolve(items, where)
        if not isinstance(resolved, list) or not all(isinstance(i, str) for i in resolved):
            raise TemplateError(f"{where}: expected a list of strings, got {resolved!r}")
        return resolved

    def rules_broken(self) -> list[str]:
        """The ``AssertDescription`` of every template rule these parameter values break."""
        broken = []
        for name, rule in self.template.get("Rules", {}).items():
            where = f"Rules.{name}"
            if "RuleCondition" in rule and not self._truth(rule["RuleCondition"], where):
                continue
            for assertion in rule.get("Assertions", []):
                if not self._truth(assertion["Assert"], where):
                    broken.append(f"{name}: {assertion.get('AssertDescription', 'assertion failed')}")
        return broken


def resources_of(template: Mapping[str, Any], *types: str) -> dict[str, dict[str, Any]]:
    """Logical id -> resource, for resources of these types."""
    return {
        logical: dict(resource)
        for logical, resource in template.get("Resources", {}).items()
        if resource.get("Type") in types
    }
