"""Give moto's DynamoDB the per-item atomicity real DynamoDB guarantees.

moto evaluates a ``ConditionExpression`` and then writes, with no lock in
between, so two concurrent requests can both pass the same condition (two
refreshes of one token both rotating it).  Its ``transact_write_items``
deep-copies whole tables for its rollback and puts the copy back on failure,
so a write running beside it can raise "dictionary changed size during
iteration" or be undone.  DynamoDB never lets either happen, and Gatehouse's
race protection relies on that.

moto also ignores ``TransactWriteItems``' ``ClientRequestToken``, which
botocore fills in by itself and sends again when it retries: DynamoDB
applies a transaction once per token (for 10 minutes), moto applies the
retry again.  Under load a slow transaction outlives the client's read
timeout, the retry finds its own session already written, and the login
that succeeded answers 500 ("Session id collision").
:func:`honour_client_request_tokens` gives moto DynamoDB's behaviour.

Serializing every item operation of the backend closes both gaps.  The same
function serves the embedded moto server (``make run``, ``chalice local``) and
the in-process test fixture, so both test against the same guarantee.

The whole-table copy is also slow: every transaction costs time in
proportion to the rows of every table it touches, so a day of failure
counters or sessions makes each login slower than the last (most of the
time of the test suite's long scenarios).  :func:`roll_back_items_only`
backs up the items a transaction names instead, which is all a transaction
can change.
"""

from __future__ import annotations

import copy
import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Everything that reads or writes items: the transaction calls the others
# itself (hence a re-entrant lock), and its rollback swaps whole tables, so
# reads must wait for it too.
ITEM_OPERATIONS = (
    "get_item",
    "put_item",
    "update_item",
    "delete_item",
    "query",
    "scan",
    "transact_write_items",
)
_MARK = "_gatehouse_serialized"
_lock = threading.RLock()

SetAttribute = Callable[[Any, str, Any], None]

# DynamoDB honours a ClientRequestToken for 10 minutes after its first call completed.
IDEMPOTENCY_SECONDS = 600


def install(set_attribute: SetAttribute = setattr) -> None:
    """Every DynamoDB guarantee moto lacks and Gatehouse relies on (idempotent)."""
    # First: the serialization then wraps the item backup too, so no write runs between
    # a transaction's backup and its rollback.
    roll_back_items_only(set_attribute)
    serialize_item_operations(set_attribute)
    honour_client_request_tokens(set_attribute)


def serialize_item_operations(set_attribute: SetAttribute = setattr) -> None:
    """Wrap moto's DynamoDB item operations in one process-wide lock (idempotent).

    ``set_attribute`` lets a test install the wrappers with
    ``monkeypatch.setattr`` so that they are removed after it.
    """
    from moto.dynamodb.models import DynamoDBBackend

    for name in ITEM_OPERATIONS:
        original = getattr(DynamoDBBackend, name)
        if getattr(original, _MARK, False):
            continue
        set_attribute(DynamoDBBackend, name, _serialized(original))


def _serialized(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def serialized(*args: Any, **kwargs: Any) -> Any:
        with _lock:
            return original(*args, **kwargs)

    setattr(serialized, _MARK, True)
    return serialized


@dataclass
class _Call:
    """The first call with one ClientRequestToken: its lock, when it began, what it answered."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    began: float = field(default_factory=time.monotonic)
    answer: Any = None


_calls: dict[str, _Call] = {}
_calls_lock = threading.Lock()


def honour_client_request_tokens(set_attribute: SetAttribute = setattr) -> None:
    """Make moto's ``TransactWriteItems`` idempotent per ``ClientRequestToken``, as DynamoDB's is.

    A call with a token that already committed answers as the first one did
    and writes nothing; one that arrives while the first is still running
    waits for it.  (DynamoDB also refuses the token with other parameters,
    ``IdempotentParameterMismatch``; botocore never does that, so it is left out.)
    """
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.transact_write_items
    if getattr(original, _MARK, False):
        return
    set_attribute(DynamoHandler, "transact_write_items", _idempotent(original))


def _idempotent(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    @functools.wraps(original)
    def transact_write_items(handler: Any) -> Any:
        token = handler.body.get("ClientRequestToken")
        if not token:
            return original(handler)
        with _calls_lock:
            now = time.monotonic()
            for old in [t for t, call in _calls.items() if now - call.began > IDEMPOTENCY_SECONDS]:
                del _calls[old]
            call = _calls.setdefault(token, _Call())
        with call.lock:
            if call.answer is None:
                call.answer = original(handler)  # a cancelled one raises: a retry runs it again
            return call.answer

    setattr(transact_write_items, _MARK, True)
    return transact_write_items


_ROLLBACK_MARK = "_gatehouse_item_rollback"
_backing_up_items = threading.local()


class _CopyTablesAsThemselves:
    """Stands in for the ``copy`` module in moto's DynamoDB backend: while a transaction
    has backed up its own items, moto's deep copy of a whole table is the table itself
    (its rollback then puts the same table back); everything else is copied as ever."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        from moto.dynamodb.models.table import Table

        if getattr(_backing_up_items, "active", False) and isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)


def roll_back_items_only(set_attribute: SetAttribute = setattr) -> None:
    """A failed ``TransactWriteItems`` puts back the items it names, not copies of whole tables.

    moto deep-copies every table a transaction touches before it starts, so the
    cost of each transaction grows with the tables.  A transaction writes only
    the items it names (one operation per item), so their copies are enough to
    undo it: each is put back as it was, or removed if it did not exist.  A call
    whose items cannot be read off (an unknown table, a malformed key) keeps
    moto's own whole-table backup, and its error.  Idempotent.
    """
    from moto.dynamodb import models
    from moto.dynamodb.models import DynamoDBBackend

    original = DynamoDBBackend.transact_write_items
    if getattr(original, _ROLLBACK_MARK, False):
        return
    if not isinstance(getattr(models, "copy"), _CopyTablesAsThemselves):  # noqa: B009
        set_attribute(models, "copy", _CopyTablesAsThemselves())
    set_attribute(DynamoDBBackend, "transact_write_items", _items_rolled_back(original))


_Backup = tuple[Any, Any, Any, Any]  # (table, hash key, range key or None, the item's copy or None)


def _back_up(backend: Any, transact_items: list[dict[str, Any]]) -> list[_Backup]:
    from moto.dynamodb.models.dynamo_type import DynamoType

    backups: list[_Backup] = []
    for entry in transact_items:
        ((_, operation),) = entry.items()
        table = backend.tables[operation["TableName"]]
        key = operation.get("Key") or operation["Item"]
        hash_key = DynamoType(key[table.hash_key_attr])
        if table.range_key_attr is None:
            range_key, item = None, table.items.get(hash_key)
        else:
            range_key = DynamoType(key[table.range_key_attr])
            item = table.items[hash_key].get(range_key) if hash_key in table.items else None
        backups.append((table, hash_key, range_key, copy.deepcopy(item)))
    return backups


def _put_back(backups: list[_Backup]) -> None:
    # Last first: were an item named twice (moto refuses that), its first copy wins.
    for table, hash_key, range_key, item in reversed(backups):
        items = table.items if range_key is None else table.items[hash_key]
        key = hash_key if range_key is None else range_key
        if item is None:
            items.pop(key, None)
        else:
            items[key] = item


def _items_rolled_back(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> Any:
        try:
            backups = _back_up(backend, transact_items)
        except (KeyError, TypeError, ValueError, AttributeError):
            return original(backend, transact_items)  # moto's whole-table backup, and its error
        _backing_up_items.active = True
        try:
            return original(backend, transact_items)
        except BaseException:
            _put_back(backups)
            raise
        finally:
            _backing_up_items.active = False

    setattr(transact_write_items, _ROLLBACK_MARK, True)
    return transact_write_items
