"""Turning DynamoDB failures into domain errors: the one place, for every repository and view."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from chalicelib.gatehouse.errors import GatehouseError, StoreError, StoreUnavailable
from chalicelib.gatehouse.storage.aws import error_code

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
    operation: str, on_condition_failed: GatehouseError | None = None, *, reraise_conditions: bool = False
) -> Iterator[None]:
    """Run one DynamoDB call; a failed condition becomes ``on_condition_failed``.

    With ``reraise_conditions`` a failed condition propagates as it is, for
    callers that read the item it returns (ReturnValuesOnConditionCheckFailure).
    """
    try:
        yield
    except GatehouseError:
        raise
    except Exception as exc:
        code = error_code(exc)
        if code == CONDITION_FAILED and reraise_conditions:
            raise
        if code == CONDITION_FAILED and on_condition_failed is not None:
            raise on_condition_failed from None
        unreachable = code is None and _is_connection_error(exc)
        if code is None and not unreachable:
            raise  # not a storage failure: the caller's own error, or a bug
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
