"""The only module that creates boto3 objects, and only when first asked.

Importing boto3 costs hundreds of milliseconds of cold start; the
authorizer never pays it unless it has to read DynamoDB.  One
``boto3.Session`` is shared because creating clients from it is ~40x
cheaper than from the default session each time.  Endpoints come from the
standard ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>`` variables,
which is how the local stack points the same code at moto.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_dynamodb.service_resource import DynamoDBServiceResource
    from mypy_boto3_ssm.client import SSMClient

_lock = threading.Lock()
_session: boto3.Session | None = None


def session() -> boto3.Session:
    global _session
    with _lock:
        if _session is None:
            import boto3

            _session = boto3.Session()
        return _session


def use_session(new: boto3.Session | None) -> None:
    """Replace the shared session (tests share one across the whole run)."""
    global _session
    with _lock:
        _session = new


def _config() -> Any:
    from botocore.config import Config

    # Fail fast: a Lambda behind API Gateway has 29 s in all, and a throttled
    # table is better answered with 503 + Retry-After than with a timeout.
    return Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})


def dynamodb() -> DynamoDBServiceResource:
    return session().resource("dynamodb", config=_config())


def ssm() -> SSMClient:
    return session().client("ssm", config=_config())


def sesv2() -> Any:
    """SES v2, for the mailer (no stubs package is installed for it: typed loosely)."""
    return session().client("sesv2", config=_config())


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ``ClientError``, without importing botocore."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None
