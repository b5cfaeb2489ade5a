"""The app's own DynamoDB tables, each declared once with ``gate.table(...)``.

One declaration is all the places a table used to be written down separately:

* the views reach it with ``declared.table()`` (a boto3 ``Table`` through
  Gatehouse's one lazily created session, named by the environment);
* the local stack (``make run``, plain ``chalice local``) and the tests create it
  from :meth:`AppTable.create_table_arguments`;
* the merge template (gatehouse.release.template) creates it with point-in-time
  recovery and a retention policy, gives its CloudFormation name to the API handler
  and the auth function as ``<NAME>_TABLE``, and grants the API handler exactly
  ``actions`` on it and the auth function (where the account-deleted hooks run)
  exactly ``account_deleted_actions``.

A table whose declaration is missing is therefore missing everywhere at once,
instead of existing locally and failing deployed with AccessDenied.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

# What a view usually needs: read, write and delete items, and Query by partition.
DEFAULT_ACTIONS = ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query")
# The item and query actions a declaration may grant (never table management: the
# template owns the table's life).
KNOWN_ACTIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "ConditionCheckItem",
    }
)
# Gatehouse's own tables have these logical names in the template; an app table
# of the same name would silently replace one of them.
RESERVED_NAMES = frozenset({"users", "sessions", "attempts"})
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
KEY_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,254}$")

# The physical names of the app tables the current view reached, for its failure log line.
_reached: ContextVar[list[str] | None] = ContextVar("gatehouse_app_tables_reached", default=None)


class TableDeclarationError(ValueError):
    """A ``gate.table(...)`` declaration that cannot be deployed; the message says why.

    Not a :class:`~gatehouse.errors.GatehouseError`: a programming error in the app's own module,
    raised when the app is imported, never by a request.
    """


@dataclass(frozen=True)
class AppTable:
    """One table of the app, as ``gate.table(name, partition_key=..., sort_key=...)`` declared it."""

    name: str
    partition_key: str
    sort_key: str | None
    app_name: str
    actions: tuple[str, ...] = DEFAULT_ACTIONS
    account_deleted_actions: tuple[str, ...] = ()
    # The declaring component's way to a boto3 Table by physical name (its one lazy session).
    reach: Callable[[str], Table] | None = field(default=None, repr=False, compare=False)

    @property
    def variable(self) -> str:
        """The environment variable that names the physical table (deployed: set by the template)."""
        return f"{self.name.upper()}_TABLE"

    @property
    def logical_id(self) -> str:
        """Its resource in the merge template: ``shopping_carts`` -> ``ShoppingCartsTable``."""
        return "".join(part.capitalize() for part in self.name.split("_") if part) + "Table"

    @property
    def local_name(self) -> str:
        """The name the local stack and the tests give it when the variable is not set."""
        return f"{self.app_name}-{self.name}"

    def physical_name(self, env: Mapping[str, str] = os.environ) -> str:
        return env.get(self.variable) or self.local_name

    def table(self) -> Table:
        """The boto3 Table, created on first use through its Gatehouse's one shared session."""
        if self.reach is None:
            raise RuntimeError(f"table {self.name!r} was not declared with gate.table(...)")
        name = self.physical_name()
        reached = _reached.get()
        if reached is not None and name not in reached:
            reached.append(name)
        return self.reach(name)

    def iam_actions(self) -> list[str]:
        return [f"dynamodb:{action}" for action in self.actions]

    def create_table_arguments(self, env: Mapping[str, str] = os.environ) -> dict[str, Any]:
        """``create_table`` keyword arguments (on-demand billing, string keys)."""
        keys = [(self.partition_key, "HASH")] + ([(self.sort_key, "RANGE")] if self.sort_key else [])
        return {
            "TableName": self.physical_name(env),
            "KeySchema": [{"AttributeName": key, "KeyType": kind} for key, kind in keys],
            "AttributeDefinitions": [{"AttributeName": key, "AttributeType": "S"} for key, _ in keys],
            "BillingMode": "PAY_PER_REQUEST",
        }


def declare(
    app_name: str,
    name: str,
    *,
    partition_key: str,
    sort_key: str | None,
    actions: Iterable[str],
    account_deleted_actions: Iterable[str],
    declared: Mapping[str, AppTable],
    reach: Callable[[str], Table] | None = None,
) -> AppTable:
    """Check one declaration; every mistake is refused when app.py is imported, not when deployed."""
    if not NAME_PATTERN.fullmatch(name):
        raise TableDeclarationError(
            f"table name {name!r}: use lower-case letters, digits and _ (at most 40, a letter first)"
        )
    if name in RESERVED_NAMES:
        raise TableDeclarationError(f"table name {name!r} is one of Gatehouse's own tables: choose another")
    if name in declared:
        raise TableDeclarationError(f"table {name!r} is declared twice")
    for key in (partition_key, sort_key):
        if key is not None and not KEY_PATTERN.fullmatch(key):
            raise TableDeclarationError(f"table {name!r}: {key!r} is not a valid key attribute name")
    if sort_key == partition_key:
        raise TableDeclarationError(f"table {name!r}: the sort key must differ from the partition key")
    chosen = _actions(name, actions)
    return AppTable(
        name=name,
        partition_key=partition_key,
        sort_key=sort_key,
        app_name=app_name,
        actions=chosen,
        account_deleted_actions=_actions(name, account_deleted_actions),
        reach=reach,
    )


def _actions(name: str, actions: Iterable[str]) -> tuple[str, ...]:
    if isinstance(actions, str):
        raise TableDeclarationError(f"table {name!r}: actions are a list, e.g. ['GetItem', 'Query']")
    chosen = tuple(dict.fromkeys(a.removeprefix("dynamodb:") for a in actions))
    unknown = sorted(set(chosen) - KNOWN_ACTIONS)
    if unknown:
        raise TableDeclarationError(
            f"table {name!r}: unknown action {', '.join(unknown)} (one of {', '.join(sorted(KNOWN_ACTIONS))})"
        )
    return chosen


@contextmanager
def reaching() -> Iterator[list[str]]:
    """Collect the physical names of the app tables reached inside the block (one view call)."""
    reached: list[str] = []
    token = _reached.set(reached)
    try:
        yield reached
    finally:
        _reached.reset(token)
