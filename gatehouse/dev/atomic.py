"""Give moto's DynamoDB the per-item atomicity real DynamoDB guarantees.

moto evaluates a ``ConditionExpression`` and then writes, with no lock in
between, so two concurrent requests can both pass the same condition (two
refreshes of one token both rotating it).  Its ``transact_write_items``
deep-copies whole tables for its rollback and puts the copy back on failure,
so a write running beside it can raise "dictionary changed size during
iteration" or be undone.  DynamoDB never lets either happen, and Gatehouse's
race protection relies on that.

Serializing every item operation of the backend closes both gaps.  The same
function serves the embedded moto server (``make run``, ``chalice local``) and
the in-process test fixture, so both test against the same guarantee.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
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
