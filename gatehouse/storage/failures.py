"""Turning DynamoDB failures into domain errors: the one place, for every repository and view."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from gatehouse.errors import GatehouseError, StoreError, StoreUnavailable
from gatehouse.storage.aws import error_code

log = logging.getLogger("gatehouse.store")

CONDITION_FAILED = "ConditionalCheckFailedException"
TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
        # A transaction cancelled by a conflict with another one (conditions are read by callers).
        "TransactionCanceledException",
    }
)


def _is_connection_error(exc: BaseException) -> bool:
    # Only a botocore client raises these, and then botocore is loaded already.  Never
    # import it here: classifying an app's own exception (a 404 for a malformed id)
    # would cost a cold start hundreds of milliseconds of botocore.
    exceptions = sys.modules.get("botocore.exceptions")
    if exceptions is None:
        return False
    return isinstance(exc, (exceptions.ConnectionError, exceptions.HTTPClientError))


@contextmanager
def store_call(
    operation: str,
    on_condition_failed: GatehouseError | None = None,
    *,
    reraise_conditions: bool = False,
    tables: Sequence[str] = (),
) -> Iterator[None]:
    """Run one DynamoDB call; a failed condition becomes ``on_condition_failed``.

    ``tables``: the tables the call reached, named in the failure's log line (AWS's
    ``ResourceNotFoundException`` does not say which table is missing).

    With ``reraise_conditions`` a failed condition propagates as it is, for a
    caller that reads the item it returns (ReturnValuesOnConditionCheckFailure).
    Transactions go through :func:`transact`, which names what failed.
    """
    try:
        yield
    except GatehouseError:
        raise
    except Exception as exc:
        code = error_code(exc)
        if reraise_conditions and code == CONDITION_FAILED:
            raise
        if code == CONDITION_FAILED and on_condition_failed is not None:
            raise on_condition_failed from None
        unreachable = code is None and _is_connection_error(exc)
        if code is None and not unreachable:
            raise  # not a storage failure: the caller's own error, or a bug
        if tables:
            log.warning(
                "dynamodb %s failed: %s (tables %s)", operation, code or type(exc).__name__, ", ".join(tables)
            )
        else:
            log.warning("dynamodb %s failed: %s", operation, code or type(exc).__name__)
        if code in TRANSIENT_CODES or unreachable:
            raise StoreUnavailable() from None
        raise StoreError() from None


def all_items(operation: str, call: Callable[..., Any], **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item of a paginated Query or Scan, one DynamoDB page at a time."""
    while True:
        with store_call(operation):
            page = call(**kwargs)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


TRANSACTION_CANCELED = "TransactionCanceledException"


def transact(client: Any, operation: str, items: Mapping[str, dict[str, Any]]) -> frozenset[str]:
    """One DynamoDB transaction of named items: the empty set when it committed.

    When a condition failed, nothing was written and the answer names the
    items whose condition failed, for the caller to say what that means (a
    named outcome, never a position in a list).  A transaction cancelled
    for another reason (a conflict with another one, throttling) is
    ``StoreUnavailable``.  ``client`` is a table resource's client, which
    takes plain Python values as the Table does.
    """
    names = list(items)
    try:
        client.transact_write_items(TransactItems=[items[name] for name in names])
    except Exception as exc:
        response = getattr(exc, "response", None)
        cancelled = response.get("CancellationReasons", []) if isinstance(response, dict) else []
        reasons = [str(reason.get("Code") or "None") for reason in cancelled]
        if error_code(exc) == TRANSACTION_CANCELED:
            failed = frozenset(
                n for n, r in zip(names, reasons, strict=False) if r == "ConditionalCheckFailed"
            )
            if failed:
                return failed
            if "TransactionConflict" in reasons:
                log.warning("dynamodb %s failed: TransactionConflict", operation)
                raise StoreUnavailable() from None
        with store_call(operation):
            raise
    return frozenset()
