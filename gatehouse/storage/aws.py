"""The only module that creates boto3 objects, and only when first asked.

Importing boto3 costs hundreds of milliseconds of cold start; the
authorizer never pays it unless it has to read DynamoDB, and then it
imports botocore alone: its one ``GetItem`` per session goes through a
low-level client (:func:`dynamodb_client`), without boto3's import or its
resource layer.  One botocore session is shared, the ``boto3.Session`` wraps
it, because creating clients from a warm session is ~40x cheaper than from
a new one each time (its models and endpoint data are loaded once).  The
authorizer function, which talks to DynamoDB alone, gets its one session
from :func:`dynamodb_only_client`, whose loader skips botocore's listing of
every service it ships and reads DynamoDB's part of botocore's endpoint data
(shipped in ``botocore_data/``) instead of every service's.
Endpoints come from the standard ``AWS_ENDPOINT_URL`` /
``AWS_ENDPOINT_URL_<SERVICE>`` variables, which is how the local stack
points the same code at moto.
"""

from __future__ import annotations

import json
import os
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import boto3
    import botocore.session
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.service_resource import DynamoDBServiceResource
    from mypy_boto3_ssm.client import SSMClient

# Botocore's endpoint data with DynamoDB's entries alone (tools/dynamodb_endpoints.py writes it).
DYNAMODB_ENDPOINTS = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "botocore_data", "endpoints.json"
)
_lock = threading.Lock()
_session: boto3.Session | None = None
_core: botocore.session.Session | None = None
_dynamodb_only: botocore.session.Session | None = None


def _core_session() -> botocore.session.Session:
    """The one botocore session (call with ``_lock`` held)."""
    global _core
    if _core is None:
        import botocore.session

        _core = botocore.session.get_session()
    return _core


def session() -> boto3.Session:
    global _session
    with _lock:
        if _session is None:
            import boto3

            _session = boto3.Session(botocore_session=_core_session())
        return _session


def use_session(new: boto3.Session | None) -> None:
    """Replace the shared session (tests share one across the whole run)."""
    global _session, _core
    with _lock:
        _session = new
        _core = new._session if new is not None else None


def _config() -> Any:
    from botocore.config import Config

    # Fail fast: a Lambda behind API Gateway has 29 s in all, and a throttled
    # table is better answered with 503 + Retry-After than with a timeout.
    return Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})


def dynamodb() -> DynamoDBServiceResource:
    return session().resource("dynamodb", config=_config())


def dynamodb_client() -> DynamoDBClient:
    """A low-level DynamoDB client from botocore alone: boto3 is not imported for it."""
    with _lock:
        core = _core_session()
    client: DynamoDBClient = core.create_client("dynamodb", config=_config())  # type: ignore[assignment]
    return client


def dynamodb_only_client() -> DynamoDBClient:
    """:func:`dynamodb_client` for a process that uses no other AWS service: the authorizer function.

    Its botocore session's data loader knows DynamoDB alone.  Before it loads
    any model, botocore's own loader lists every service it ships (hundreds
    of folders read from disk), about a tenth of the session check's cold
    start (``make bench BENCH_ARGS=clients``).  A process that has the shared
    session already uses that one: one session a process either way.
    """
    global _dynamodb_only
    with _lock:
        core = _core
        if core is None:
            if _dynamodb_only is None:
                _dynamodb_only = _dynamodb_only_session()
            core = _dynamodb_only
    client: DynamoDBClient = core.create_client("dynamodb", config=_config())  # type: ignore[assignment]
    return client


def _dynamodb_only_session() -> botocore.session.Session:
    import botocore.session
    from botocore.loaders import Loader

    class DynamoDBOnly(Loader):
        def list_available_services(self, type_name: str) -> list[str]:
            return ["dynamodb"]

        def load_data_with_path(self, name: str) -> tuple[Any, str]:
            # Creating a client parses botocore's endpoint data for every service
            # (1.25 MB of JSON, a tenth of the authorizer's cold start with the
            # session check on); DynamoDB's part of it ships with Gatehouse.
            if name == "endpoints":
                try:
                    with open(DYNAMODB_ENDPOINTS, encoding="utf-8") as data:
                        return json.load(data), DYNAMODB_ENDPOINTS
                except (OSError, ValueError):
                    pass  # not shipped or unreadable: botocore's own, as any session
            found: tuple[Any, str] = super().load_data_with_path(name)
            return found

        def is_builtin_path(self, path: str) -> bool:
            # Botocore's own data, trimmed: it must be treated as botocore's (data it
            # thinks is a user's own makes the legacy endpoint override the rulesets').
            return path == DYNAMODB_ENDPOINTS or bool(super().is_builtin_path(path))

    core = botocore.session.get_session()
    # The same places to look for models as the session's own loader, environment included.
    default: Loader = core.get_component("data_loader")
    loader = DynamoDBOnly(extra_search_paths=default.search_paths, include_default_search_paths=False)
    core.register_component("data_loader", loader)
    return core


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
