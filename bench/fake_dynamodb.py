"""A minimal in-memory DynamoDB: boto3 ``Table`` look-alikes with no SDK and no HTTP.

The login figure runs against this so that what it measures beyond argon2
is Gatehouse's own work, not moto's request parsing.  It keeps real state
and evaluates real condition expressions, so a lockout or a lost race
behaves as it would against DynamoDB.

What is covered is what Gatehouse calls today: ``get_item``, ``put_item``,
``update_item``, ``delete_item``, ``query``, ``scan`` on a table and
``transact_write_items`` on ``table.meta.client`` (with plain Python values,
which boto3 serializes on a resource's client); ``SET`` / ``ADD`` /
``REMOVE`` / ``DELETE`` updates; ``AND`` / ``OR`` / ``NOT``, comparisons,
``attribute_exists``, ``attribute_not_exists`` and ``begins_with`` in
conditions; ``ReturnValues`` ``NONE`` / ``ALL_NEW`` / ``ALL_OLD`` / ``UPDATED_NEW`` and
``ReturnValuesOnConditionCheckFailure``.  Anything else raises
``NotImplementedError`` naming the construct: to extend, add a method to
:class:`FakeTable` (or a branch to the small parsers below) and, for a new
client call, a method to :class:`FakeClient`.
"""

# The Table API's own spellings (Table, Key, Item, UpdateExpression ...) are kept on purpose.
# ruff: noqa: N802, N803

from __future__ import annotations

import copy
import functools
import operator
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

Item = dict[str, Any]
CONDITION_FAILED = "ConditionalCheckFailedException"


class FakeClientError(Exception):
    """Shaped like botocore's ``ClientError``: Gatehouse only reads ``.response``."""

    def __init__(self, code: str, operation: str, old_item: Item | None = None) -> None:
        super().__init__(f"An error occurred ({code}) when calling the {operation} operation")
        self.response: dict[str, Any] = {"Error": {"Code": code, "Message": code}}
        if old_item is not None:
            # DynamoDB returns it in the low-level (typed) form even to a Table.
            self.response["Item"] = {k: to_typed(v) for k, v in old_item.items()}


# -- typed (low-level) values, as in error responses -----------------------------------


def to_typed(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | Decimal):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, set | frozenset):
        return (
            {"NS": sorted(map(str, value))}
            if all(isinstance(v, int) for v in value)
            else {"SS": sorted(value)}
        )
    if isinstance(value, list | tuple):
        return {"L": [to_typed(v) for v in value]}
    if isinstance(value, dict):
        return {"M": {k: to_typed(v) for k, v in value.items()}}
    if value is None:
        return {"NULL": True}
    raise NotImplementedError(f"fake DynamoDB: cannot store a {type(value).__name__}")


# -- expressions ------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(<=|>=|<>|[=<>(),]|[#:]?[A-Za-z_][A-Za-z0-9_.]*)")
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "<>": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_MISSING = object()


@functools.lru_cache(maxsize=256)
def _tokens(expression: str) -> tuple[str, ...]:
    # Cached: the same few expressions come back on every login, and the
    # fake should cost as little as possible next to the code it serves.
    tokens, pos = [], 0
    while pos < len(expression.rstrip()):
        match = _TOKEN.match(expression, pos)
        if match is None:
            raise NotImplementedError(f"fake DynamoDB: cannot read {expression[pos:]!r}")
        tokens.append(match.group(1))
        pos = match.end()
    return tuple(tokens)


@dataclass
class _Context:
    item: Item
    names: Mapping[str, str]
    values: Mapping[str, Any]

    def name(self, token: str) -> str:
        return self.names[token] if token.startswith("#") else token

    def operand(self, token: str) -> Any:
        if token.startswith(":"):
            return self.values[token]
        return self.item.get(self.name(token), _MISSING)


@dataclass
class _Condition:
    """Recursive descent over the condition grammar: or := and (OR and)*, and so on."""

    tokens: tuple[str, ...]
    ctx: _Context
    pos: int = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.tokens[self.pos]
        if expected is not None and token.upper() != expected:
            raise NotImplementedError(f"fake DynamoDB: expected {expected}, found {token!r}")
        self.pos += 1
        return token

    def parse(self) -> bool:
        result = self.or_()
        if self.peek() is not None:
            raise NotImplementedError(f"fake DynamoDB: unexpected {self.peek()!r}")
        return result

    def or_(self) -> bool:
        result = self.and_()
        while (self.peek() or "").upper() == "OR":
            self.take()
            result = self.and_() or result  # evaluate both sides: the parse must go on
        return result

    def and_(self) -> bool:
        result = self.not_()
        while (self.peek() or "").upper() == "AND":
            self.take()
            result = self.not_() and result
        return result

    def not_(self) -> bool:
        if (self.peek() or "").upper() == "NOT":
            self.take()
            return not self.not_()
        return self.primary()

    def primary(self) -> bool:
        first = self.take()
        if first == "(":
            result = self.or_()
            self.take(")")
            return result
        if self.peek() == "(":
            return self.function(first)
        op = self.take()
        if op not in _COMPARE:
            raise NotImplementedError(f"fake DynamoDB: operator {op!r}")
        left, right = self.ctx.operand(first), self.ctx.operand(self.take())
        if left is _MISSING or right is _MISSING:
            return False
        try:
            return _COMPARE[op](left, right)
        except TypeError:  # DynamoDB: values of different types never compare true
            return False

    def function(self, name: str) -> bool:
        self.take("(")
        args = [self.take()]
        while self.peek() == ",":
            self.take()
            args.append(self.take())
        self.take(")")
        if name == "attribute_exists":
            return self.ctx.name(args[0]) in self.ctx.item
        if name == "attribute_not_exists":
            return self.ctx.name(args[0]) not in self.ctx.item
        if name == "begins_with":
            value, prefix = (self.ctx.operand(a) for a in args)
            return isinstance(value, str) and value.startswith(prefix)
        raise NotImplementedError(f"fake DynamoDB: function {name}")


def condition_holds(expression: str | None, ctx: _Context) -> bool:
    return True if not expression else _Condition(_tokens(expression), ctx).parse()


_CLAUSE = re.compile(r"\b(SET|ADD|REMOVE|DELETE)\b", re.IGNORECASE)


def _add(current: Any, value: Any) -> Any:
    if isinstance(value, set):
        return (current if isinstance(current, set) else set()) | value
    return (current if current is not _MISSING and current is not None else 0) + value


def apply_update(expression: str, ctx: _Context) -> set[str]:
    """Change ``ctx.item`` in place; returns the attribute names touched."""
    parts = _CLAUSE.split(expression)
    touched: set[str] = set()
    for keyword, body in zip(parts[1::2], parts[2::2], strict=True):
        for action in (a.strip() for a in body.split(",")):
            touched.add(_apply_action(keyword.upper(), action, ctx))
    return touched


def _apply_action(keyword: str, action: str, ctx: _Context) -> str:
    if keyword == "SET":
        target, _, source = (s.strip() for s in action.partition("="))
        if not re.fullmatch(r":\w+", source):
            raise NotImplementedError(f"fake DynamoDB: SET {action!r} (only `name = :value`)")
        name = ctx.name(target)
        ctx.item[name] = copy.deepcopy(ctx.values[source])
    elif keyword == "REMOVE":
        name = ctx.name(action)
        ctx.item.pop(name, None)
    else:
        target, source = action.split()
        name = ctx.name(target)
        value = ctx.values[source]
        if keyword == "ADD":
            ctx.item[name] = _add(ctx.item.get(name, _MISSING), value)
        else:  # DELETE: remove elements from a set
            ctx.item[name] = set(ctx.item.get(name, set())) - value
    return name


# -- tables -------------------------------------------------------------------------------


@dataclass
class FakeDynamoDB:
    """Every fake table, keyed by name, and a count of requests by operation."""

    tables: dict[str, FakeTable] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)

    @classmethod
    def from_definitions(cls, definitions: Iterable[Mapping[str, Any]]) -> FakeDynamoDB:
        """Tables from ``create_table`` arguments (storage/tables.py): one source of key schemas."""
        db = cls()
        for definition in definitions:
            keys = [k["AttributeName"] for k in definition["KeySchema"]]
            db.tables[definition["TableName"]] = FakeTable(definition["TableName"], keys, db)
        return db

    def Table(self, name: str) -> FakeTable:
        return self.tables[name]

    def table_factory(self) -> Callable[[str], Any]:
        """For ``Services(table=...)``: typed ``Any`` because the fake is duck-typed, not a boto3 Table."""
        return self.Table

    @property
    def client(self) -> FakeClient:
        return FakeClient(self)


@dataclass
class _Meta:
    client: FakeClient


class FakeClient:
    """The low-level client calls Gatehouse makes through ``table.meta.client``."""

    def __init__(self, db: FakeDynamoDB) -> None:
        self._db = db

    def transact_write_items(
        self, TransactItems: Sequence[Mapping[str, Any]], **_options: Any
    ) -> dict[str, Any]:
        """All or nothing: every condition is checked before anything is written."""
        self._db.calls["TransactWriteItems"] += 1
        actions = [self._prepare(entry) for entry in TransactItems]
        if not all(check() for check, _ in actions):
            raise FakeClientError("TransactionCanceledException", "TransactWriteItems")
        for _check, write in actions:
            write()
        return {}

    def _prepare(self, entry: Mapping[str, Any]) -> tuple[Callable[[], bool], Callable[[], object]]:
        [(kind, spec)] = entry.items()
        table = self._db.tables[spec["TableName"]]
        # Plain Python values, as boto3 accepts them on a *resource's* client
        # (it serializes them itself); Gatehouse sends them that way.
        names, values = spec.get("ExpressionAttributeNames", {}), spec.get("ExpressionAttributeValues", {})
        key = spec.get("Key") or spec["Item"]
        check = lambda: table.holds(spec.get("ConditionExpression"), key, names, values)  # noqa: E731
        writes: dict[str, Callable[[], object]] = {
            "Put": lambda: table.store(spec["Item"]),
            "Update": lambda: table.update(key, spec["UpdateExpression"], names, values),
            "Delete": lambda: table.remove(key),
            "ConditionCheck": lambda: None,
        }
        if kind not in writes:
            raise NotImplementedError(f"fake DynamoDB: transaction item {kind}")
        return check, writes[kind]


class FakeTable:
    def __init__(self, name: str, key_names: Sequence[str], db: FakeDynamoDB) -> None:
        self.name = name
        self.key_names = tuple(key_names)
        self.items: dict[tuple[Any, ...], Item] = {}
        self.meta = _Meta(FakeClient(db))
        self._db = db

    # -- helpers shared with transactions --

    def _key(self, item: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(item[k] for k in self.key_names)

    def holds(
        self,
        condition: str | None,
        key: Mapping[str, Any],
        names: Mapping[str, str],
        values: Mapping[str, Any],
    ) -> bool:
        current = self.items.get(self._key(key), {})
        return condition_holds(condition, _Context(current, names, values))

    def store(self, item: Item) -> None:
        self.items[self._key(item)] = copy.deepcopy(item)

    def update(
        self, key: Mapping[str, Any], expression: str, names: Mapping[str, str], values: Mapping[str, Any]
    ) -> tuple[Item, Item, set[str]]:
        old = self.items.get(self._key(key))
        new = copy.deepcopy(old) if old is not None else dict(key)
        touched = apply_update(expression, _Context(new, names, values))
        self.items[self._key(key)] = new
        return old or {}, new, touched

    def remove(self, key: Mapping[str, Any]) -> Item | None:
        return self.items.pop(self._key(key), None)

    def _check(self, operation: str, key: Mapping[str, Any], kwargs: Mapping[str, Any]) -> None:
        names, values = (
            kwargs.get("ExpressionAttributeNames", {}),
            kwargs.get("ExpressionAttributeValues", {}),
        )
        if not self.holds(kwargs.get("ConditionExpression"), key, names, values):
            wants_old = kwargs.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
            old = self.items.get(self._key(key), {}) if wants_old else None
            raise FakeClientError(CONDITION_FAILED, operation, old)

    @staticmethod
    def _returned(kind: str, old: Item | None, new: Item | None) -> dict[str, Any]:
        chosen = {"NONE": None, "ALL_OLD": old, "ALL_NEW": new}
        if kind not in chosen:
            raise NotImplementedError(f"fake DynamoDB: ReturnValues={kind}")
        item = chosen[kind]
        return {"Attributes": copy.deepcopy(item)} if item else {}

    # -- the Table API --

    def get_item(self, Key: Mapping[str, Any], **_: Any) -> dict[str, Any]:
        self._db.calls["GetItem"] += 1
        item = self.items.get(self._key(Key))
        return {"Item": copy.deepcopy(item)} if item is not None else {}

    def put_item(self, Item: Item, **kwargs: Any) -> dict[str, Any]:
        self._db.calls["PutItem"] += 1
        self._check("PutItem", Item, kwargs)
        old = self.items.get(self._key(Item))
        self.store(Item)
        return self._returned(kwargs.get("ReturnValues", "NONE"), old, None)

    def update_item(self, Key: Mapping[str, Any], UpdateExpression: str, **kwargs: Any) -> dict[str, Any]:
        self._db.calls["UpdateItem"] += 1
        self._check("UpdateItem", Key, kwargs)
        names, values = (
            kwargs.get("ExpressionAttributeNames", {}),
            kwargs.get("ExpressionAttributeValues", {}),
        )
        old, new, touched = self.update(Key, UpdateExpression, names, values)
        if kwargs.get("ReturnValues") == "UPDATED_NEW":
            return {"Attributes": {k: copy.deepcopy(v) for k, v in new.items() if k in touched}}
        return self._returned(kwargs.get("ReturnValues", "NONE"), old, new)

    def delete_item(self, Key: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
        self._db.calls["DeleteItem"] += 1
        self._check("DeleteItem", Key, kwargs)
        old = self.remove(Key)
        return self._returned(kwargs.get("ReturnValues", "NONE"), old, None)

    def query(self, KeyConditionExpression: str, **kwargs: Any) -> dict[str, Any]:
        # Only string expressions (not boto3.dynamodb.conditions objects); no paging.
        self._db.calls["Query"] += 1
        return {"Items": self._matching(KeyConditionExpression, kwargs)}

    def scan(self, **kwargs: Any) -> dict[str, Any]:
        self._db.calls["Scan"] += 1
        return {"Items": self._matching(kwargs.get("FilterExpression"), kwargs)}

    def _matching(self, condition: str | None, kwargs: Mapping[str, Any]) -> list[Item]:
        names, values = (
            kwargs.get("ExpressionAttributeNames", {}),
            kwargs.get("ExpressionAttributeValues", {}),
        )
        found = [
            copy.deepcopy(item)
            for item in self.items.values()
            if condition_holds(condition, _Context(item, names, values))
        ]
        projection = kwargs.get("ProjectionExpression")
        if projection:
            wanted = {names.get(p.strip(), p.strip()) for p in projection.split(",")}
            found = [{k: v for k, v in item.items() if k in wanted} for item in found]
        return found
