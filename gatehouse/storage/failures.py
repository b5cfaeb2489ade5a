"""Turning DynamoDB failures into domain errors: the one place, for every repository and view."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator, Sequence
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

    With ``reraise_conditions`` a failed condition (or a transaction cancelled
    by one) propagates as it is, for callers that read the item it returns
    (ReturnValuesOnConditionCheckFailure) or which item's condition failed.
    """
    try:
        yield
    except GatehouseError:
        raise
    except Exception as exc:
        code = error_code(exc)
        if reraise_conditions and (code == CONDITION_FAILED or failed_conditions(exc) is not None):
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


def failed_conditions(exc: BaseException) -> set[int] | None:
    """The positions of the items whose condition failed in a cancelled transaction.

    None when ``exc`` is not a cancelled transaction at all, or was cancelled
    for another reason only (a conflict, throttling): the caller re-raises it,
    and :func:`store_call` makes it a 503.
    """
    if error_code(exc) != "TransactionCanceledException":
        return None
    reasons = getattr(exc, "response", {}).get("CancellationReasons") or []
    failed = {i for i, reason in enumerate(reasons) if reason.get("Code") == "ConditionalCheckFailed"}
    return failed or None


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


def transact(client: Any, operation: str, items: list[dict[str, Any]]) -> list[str]:
    """One DynamoDB transaction: ``[]`` when it committed.

    When a condition failed, nothing was written and the answer is each
    item's cancellation reason in order (``"ConditionalCheckFailed"`` or
    ``"None"``), for the caller to say which one.  ``client`` is a table
    resource's client, which takes plain Python values as the Table does.
    """
    try:
        client.transact_write_items(TransactItems=items)
    except Exception as exc:
        response = getattr(exc, "response", None)
        cancelled = response.get("CancellationReasons", []) if isinstance(response, dict) else []
        reasons = [str(reason.get("Code") or "None") for reason in cancelled]
        if error_code(exc) == TRANSACTION_CANCELED:
            if CONDITION_FAILED.removesuffix("Exception") in reasons:
                return reasons
            if "TransactionConflict" in reasons:
                log.warning("dynamodb %s failed: TransactionConflict", operation)
                raise StoreUnavailable() from None
        with store_call(operation):
            raise
    return []
