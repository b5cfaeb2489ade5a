"""Read a packaged template as CloudFormation would deploy it for given parameter values.

Enough of CloudFormation's intrinsic functions to evaluate what the
template decides from its parameters: ``Conditions`` (``Fn::Equals``,
``Fn::Not``, ``Fn::And``, ``Fn::Or``, ``Condition``), ``Fn::If`` with
``AWS::NoValue`` (the key or list item disappears), and, with
``substitute=True``, ``Ref`` to a parameter, ``Fn::Sub``, ``Fn::Join``,
``Fn::Split`` and ``Fn::Select``.  What only exists once deployed (``Ref`` to
a resource, ``Fn::GetAtt``, pseudo parameters such as ``AWS::Region``) is
left as written, and so is an ``Fn::Sub`` that names any of it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

NO_VALUE = {"Ref": "AWS::NoValue"}
_SUB_NAME = re.compile(r"\$\{([^}!]+)\}")


class Resolver:
    def __init__(self, template: Mapping[str, Any], values: Mapping[str, str], *, substitute: bool) -> None:
        parameters = template.get("Parameters", {})
        unknown = set(values) - set(parameters)
        assert not unknown, f"no such template parameters: {unknown}"
        self.parameters = {
            name: str(values.get(name, spec.get("Default", ""))) for name, spec in parameters.items()
        }
        self.conditions: Mapping[str, Any] = template.get("Conditions", {})
        self.substitute = substitute

    def condition(self, name: str) -> bool:
        return self._truth(self.conditions[name])

    def _truth(self, node: Any) -> bool:
        [(function, args)] = node.items()
        if function == "Condition":
            return self.condition(args)
        if function == "Fn::Equals":
            left, right = (self._scalar(a) for a in args)
            return left == right
        if function == "Fn::Not":
            return not self._truth(args[0])
        if function == "Fn::And":
            return all(self._truth(a) for a in args)
        if function == "Fn::Or":
            return any(self._truth(a) for a in args)
        raise AssertionError(f"not a condition function: {function}")

    def _scalar(self, value: Any) -> str:
        if isinstance(value, dict) and set(value) == {"Ref"}:
            return self.parameters[value["Ref"]]
        resolved = Resolver.resolve(self, value) if isinstance(value, dict) else value
        assert isinstance(resolved, str), value
        return resolved

    def resolve(self, value: Any) -> Any:
        """``value`` with what the parameters decide worked out; ``NO_VALUE`` where it disappears."""
        if isinstance(value, list):
            resolved = [self.resolve(item) for item in value]
            return [item for item in resolved if item != NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            [(function, args)] = value.items()
            if function == "Fn::If":
                name, if_true, if_false = args
                return self.resolve(if_true if self.condition(name) else if_false)
            if self.substitute:
                resolved = self._function(function, args)
                if resolved is not None:
                    return resolved
        items = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in items.items() if item != NO_VALUE}

    def _function(self, function: str, args: Any) -> Any:
        if function == "Ref" and args in self.parameters:
            return self.parameters[args]
        if function == "Fn::Sub":
            text, names = (args, {}) if isinstance(args, str) else (args[0], self.resolve(args[1]))
            known = {**self.parameters, **{k: v for k, v in names.items() if isinstance(v, str)}}
            if all(name in known for name in _SUB_NAME.findall(text)):
                return _SUB_NAME.sub(lambda match: known[match.group(1)], text)
            return None
        if function == "Fn::Join":
            separator, items = args
            return separator.join(self._strings(items))
        if function == "Fn::Split":
            separator, source = args
            return self._scalar(source).split(separator)
        if function == "Fn::Select":
            index, items = args
            return self._strings(items)[int(index)]
        return None

    def _strings(self, items: Any) -> list[str]:
        resolved = self.resolve(items)
        assert isinstance(resolved, list), items
        assert all(isinstance(i, str) for i in resolved), items
        return resolved


def deployed(
    template: Mapping[str, Any], values: Mapping[str, str] | None = None, *, substitute: bool = True
) -> dict[str, Any]:
    """``template`` as deployed with these parameter values (the rest at their defaults)."""
    resolver = Resolver(template, values or {}, substitute=substitute)
    body = {key: value for key, value in template.items() if key not in ("Conditions", "Rules")}
    resolved: dict[str, Any] = resolver.resolve(body)
    return resolved


def rules_hold(template: Mapping[str, Any], values: Mapping[str, str] | None = None) -> dict[str, bool]:
    """Rule name -> whether its assertions hold for these parameter values (True when it does not apply)."""
    resolver = Resolver(template, values or {}, substitute=True)
    outcome = {}
    for name, rule in template.get("Rules", {}).items():
        applies = resolver._truth(rule["RuleCondition"]) if "RuleCondition" in rule else True
        outcome[name] = not applies or all(resolver._truth(a["Assert"]) for a in rule["Assertions"])
    return outcome
