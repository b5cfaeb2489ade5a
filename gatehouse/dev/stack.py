"""The embedded AWS for local runs: a moto server on loopback with Gatehouse's tables,
a dev signing key in SSM (with its JWKS parameter, as the admin CLI makes
them), a verified mail sender in SES, and seeded users.

Used by ``make run``, ``chalice local`` on the dev stage (gatehouse.dev.embedded) and the
end-to-end tests, so all of them exercise the same stack.  The seeded users have fixed dev
passwords, the same at every start, so that examples can be pasted as they are; the
``GATEHOUSE_DEMO_PASSWORD`` and ``GATEHOUSE_ADMIN_PASSWORD`` variables replace them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatehouse.accounts import signup
from gatehouse.admin import keyring
from gatehouse.admin.keystore import KeyStore, jwks_parameter_for
from gatehouse.admin.localstate import LOCAL_CREDENTIALS
from gatehouse.app_tables import AppTable
from gatehouse.dev import snapshot
from gatehouse.errors import GatehouseError
from gatehouse.jose.keys import generate_signing_jwk
from gatehouse.services import Services
from gatehouse.settings import load_settings
from gatehouse.storage.tables import create_tables

REGION = "us-east-1"
FAKE_CREDENTIALS = {**LOCAL_CREDENTIALS, "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}
# The local sender: verified in moto's SES at start, as a real SES identity must be.
DEV_MAIL_FROM = "gatehouse@dev.example.com"

# Development passwords, printed when they are seeded: they pass the password policy,
# and the stack listens on loopback unless asked otherwise (make run HOST=...).
SEED_USERS = (
    ("demo", "GATEHOUSE_DEMO_PASSWORD", "correct-horse-battery-staple", ("user",)),
    ("admin", "GATEHOUSE_ADMIN_PASSWORD", "admin-horse-battery-staple", ("admin", "user")),
)


class SeedError(Exception):
    """A seeded user could not be created (a supplied password the policy refuses).

    Not a :class:`~gatehouse.errors.GatehouseError`: the local stack refuses to start with it
    (as one line), before any request exists.
    """


@dataclass
class SeededUser:
    username: str
    password: str
    variable: str  # the variable that can replace the password
    supplied: bool  # the password came from that variable

    kept: bool = False  # restored from the last run, password as it was left there

    def shown(self) -> str:
        """How start-up output shows the password: a supplied one is never printed."""
        return f"(from {self.variable})" if self.supplied else self.password

    def line(self) -> str:
        if self.kept:
            return f"Kept user {self.username!r} from the last run (its password as you left it)"
        return f"Seeded user {self.username!r}, password: {self.shown()}"


class LocalAws:
    """A moto server on 127.0.0.1 (a free port when ``port`` is 0)."""

    def __init__(self, port: int = 0) -> None:
        from moto.server import ThreadedMotoServer

        from gatehouse.dev import atomic

        atomic.install()  # DynamoDB's per-item atomicity and idempotent transactions, which moto lacks

        if port:
            _check_free(port)  # moto's server thread would die on a busy port, and start() wait for ever
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self.endpoint = ""

    def start(self) -> str:
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        return self.endpoint

    def stop(self) -> None:
        self._server.stop()


class PortInUse(Exception):
    """The embedded AWS's port is taken; the message says how to choose another.

    Not a :class:`~gatehouse.errors.GatehouseError`: the local stack refuses to start with it (as
    one line), before any request exists.
    """


def _check_free(port: int) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server itself binds
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise PortInUse(
                f"port {port} (the embedded AWS) is in use: stop what holds it, or choose another "
                "(make run AWS_PORT=N; 0 picks a free one)."
            ) from None


def point_environment_at(endpoint: str, env: MutableMapping[str, str]) -> None:
    """Send every AWS call of this process (and its children) to ``endpoint``."""
    env.update(FAKE_CREDENTIALS)
    env["AWS_ENDPOINT_URL"] = endpoint
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SSM"):
        env.pop(name, None)


def provision(
    env: MutableMapping[str, str],
    saved: Mapping[str, Any] | None = None,
    app_tables: Sequence[AppTable] = (),
) -> list[SeededUser]:
    """Tables, signing key, a verified mail sender and seeded users, in the AWS that ``env`` points at.

    ``saved``: a snapshot of an earlier run (gatehouse.dev.snapshot) whose items
    and parameters are put back first; its signing key is kept (so tokens issued
    before the restart stay valid) and seeded users that exist are left as they are.
    ``app_tables``: the app's own tables (its ``gate.table(...)`` declarations), created
    under the names the app will look them up by.
    Sets ``GATEHOUSE_JWKS`` in ``env`` to the key's public half, and turns
    on the console echo of outgoing mail (``GATEHOUSE_MAIL_ECHO``): locally
    the codes a user would receive are printed where the developer sees them.
    """
    import boto3

    env.setdefault("GATEHOUSE_MAIL_FROM", DEV_MAIL_FROM)
    env["GATEHOUSE_MAIL_ECHO"] = "true"
    settings = load_settings(env)
    session = boto3.Session(region_name=REGION)
    session.client("sesv2").create_email_identity(EmailIdentity=settings.mail_from)
    dynamodb = session.client("dynamodb")
    create_tables(dynamodb, settings, extra=[t.create_table_arguments(env) for t in app_tables])

    # The same key store format and code as the admin CLI uses in production.
    store = KeyStore(
        session.client("ssm"),
        signing_key_param=settings.signing_key_param,
        jwks_param=jwks_parameter_for(settings.signing_key_param),
    )
    if saved is not None:
        snapshot.restore(saved, dynamodb, store.ssm)
    if saved is not None and store.exists():
        env["GATEHOUSE_JWKS"] = store.save(store.load())
    else:
        now = int(time.time())
        env["GATEHOUSE_JWKS"] = store.save(
            [keyring.stamped(generate_signing_jwk(), now=now, activate_at=now)]
        )

    rt = Services(load_settings(env), table=session.resource("dynamodb").Table)
    seeded = []
    for username, variable, default, roles in SEED_USERS:
        supplied = bool(env.get(variable))
        password = env[variable] if supplied else default
        if saved is not None and rt.users.get(username) is not None:
            seeded.append(SeededUser(username, password, variable, supplied, kept=True))
            continue
        try:
            signup.create_user(rt, username, password, roles)
        except GatehouseError as refused:
            message = f"{variable} is refused: {refused.message} Unset it to use the dev default."
            raise SeedError(message) from None
        except UnicodeError:
            raise SeedError(f"{variable} is not valid text; unset it to use the dev default.") from None
        seeded.append(SeededUser(username, password, variable, supplied))
    return seeded


def start(
    env: MutableMapping[str, str] = os.environ,
    port: int = 0,
    saved: Mapping[str, Any] | None = None,
    app_tables: Sequence[AppTable] = (),
) -> tuple[LocalAws, list[SeededUser]]:
    aws = LocalAws(port)
    point_environment_at(aws.start(), env)
    try:
        return aws, provision(env, saved, app_tables)
    except BaseException:
        aws.stop()
        raise


def save(aws: LocalAws, path: Path) -> None:
    """Write the stack's data to ``path`` (gatehouse.dev.snapshot), while its server still runs."""
    import boto3

    session = boto3.Session(
        region_name=REGION,
        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=LOCAL_CREDENTIALS["AWS_SESSION_TOKEN"],
    )
    endpoint = aws.endpoint
    document = snapshot.capture(
        session.client("dynamodb", endpoint_url=endpoint), session.client("ssm", endpoint_url=endpoint)
    )
    snapshot.save(document, path)
