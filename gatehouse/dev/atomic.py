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
"""

from __future__ import annotations

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
