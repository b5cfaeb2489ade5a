"""The authorizer Lambda's entry point: ``gatehouse.authorizer.handler.gatehouse_auth``.

The deployed authorizer function runs this module and nothing of the app:
its settings, public keys and protected-route table come from its
environment (the route table as ``GATEHOUSE_PROTECTED_ROUTES``, computed from
the app's routes when the stack is packaged), and are read once per
container.  Its imports are the verify path only: the verifier's settings
(:mod:`gatehouse.variables`, not the whole settings dataclass), the JOSE
layer with ``cryptography``'s primitives, and the decision; with the session
check on, botocore and the session read are imported on the first call that
needs them.  Neither ``dataclasses`` nor ``logging`` is imported: the parts
are named tuples and the one log line a call makes goes to standard output,
which Lambda sends to CloudWatch Logs.

Chalice still needs the authorizer registered on the app, where the
component does it through a Blueprint named after this module, so Chalice's
generated handler string is :data:`HANDLER`; the merge template sets it
explicitly as well.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from gatehouse import log_lines
from gatehouse.authorizer.decision import Verifier, authorize
from gatehouse.authorizer.policy import COMPONENT_ATTRIBUTE, ROUTES_VARIABLE, RouteTable
from gatehouse.authorizer.session_check import SessionCheck
from gatehouse.errors import ConfigError
from gatehouse.jose.keys import load_keyset
from gatehouse.variables import load_verify_settings, token_rules

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

    from gatehouse.storage.sessions import Session

ENTRY_POINT = "gatehouse_auth"
HANDLER = f"{__name__}.{ENTRY_POINT}"

_lock = threading.Lock()
_built: Verifier | None = None


def verifier_from(env: Mapping[str, str]) -> Verifier:
    """The decision's parts from a function's environment (ConfigError naming what is missing)."""
    settings = load_verify_settings(env)
    if not settings.jwks:
        raise ConfigError("GATEHOUSE_JWKS is not set: it must hold the public key set.")
    if ROUTES_VARIABLE in env:
        try:
            routes = RouteTable.decode(env[ROUTES_VARIABLE])
        except ValueError as error:
            raise ConfigError(str(error)) from None
    else:
        routes = routes_of_the_app()
    check = None
    if settings.check_sessions:
        check = SessionCheck(session_reader(settings.sessions_table), settings.session_cache_seconds)
    return Verifier(load_keyset(settings.jwks), token_rules(settings), routes, time.time, check)


def routes_of_the_app() -> RouteTable:
    """The table from the app itself, at the cost of importing it (and Chalice).

    Only for a function deployed without the merge template (``chalice deploy``,
    docs/DEPLOY.md): ``make package`` always sets the variable.
    """
    import importlib

    app = importlib.import_module("app").app
    # The component sets this attribute on its app; looked up by name so that this
    # lean module never imports the component (which imports the authorizer package).
    component = getattr(app, COMPONENT_ATTRIBUTE, None)
    if component is None:
        raise ConfigError("app.py builds no Gatehouse(app): there is no route table to authorize with")
    table: RouteTable = component.route_table()
    return table


def session_reader(table_name: str) -> Callable[[str, str], Session | None]:
    """One strongly consistent ``GetItem`` per call, through a botocore client made on first use
    (and kept, with its connection): the function talks to DynamoDB alone."""
    client: DynamoDBClient | None = None

    def read(sub: str, sid: str) -> Session | None:
        nonlocal client
        from gatehouse.storage import aws
        from gatehouse.storage.sessions import SID_PATTERN, read_session

        # Only a sid of ours can name a row; anything else (a forged token's) is no
        # session, and is never sent to DynamoDB as a key it might refuse.
        if not SID_PATTERN.fullmatch(sid):
            return None
        if client is None:
            client = aws.dynamodb_only_client()
        return read_session(client, table_name, sub, sid)

    return read


def _verifier() -> Verifier:
    global _built
    if _built is None:
        with _lock:
            if _built is None:
                _built = verifier_from(os.environ)
    return _built


def gatehouse_auth(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """API Gateway's TOKEN event in, the policy (or the ``Unauthorized`` failure) out."""
    return authorize(
        event.get("authorizationToken"), str(event.get("methodArn", "")), _verifier, log_lines.to_stdout
    )


def reset() -> None:
    """Forget the parts read from the environment (tests change it between calls)."""
    global _built
    with _lock:
        _built = None
