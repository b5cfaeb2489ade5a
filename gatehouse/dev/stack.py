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
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass

from gatehouse.accounts import signup
from gatehouse.admin import keyring
from gatehouse.admin.keystore import KeyStore, jwks_parameter_for
from gatehouse.admin.localstate import LOCAL_CREDENTIALS
from gatehouse.app_tables import AppTable
from gatehouse.errors import GatehouseError
from gatehouse.jose.keys import generate_signing_jwk
from gatehouse.services import Services
from gatehouse.settings import load_settings
from gatehouse.storage.tables import create_tables

REGION = "us-east-1"
FAKE_CREDENTIALS = {**LOCAL_CREDENTIALS, "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}
# The local sender: verified in moto's SES at start, as a real SES identity must be.
DEV_MAIL_FROM = "gatehouse@dev.example.com"

# Development passwords, printed at every start: they pass the password policy,
# and the stack listens on loopback only.
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

    def shown(self) -> str:
        """How start-up output shows the password: a supplied one is never printed."""
        return f"(from {self.variable})" if self.supplied else self.password


class LocalAws:
    """A moto server on 127.0.0.1 (a free port unless one is given)."""

    def __init__(self, port: int = 0) -> None:
        from moto.server import ThreadedMotoServer

        from gatehouse.dev.atomic import serialize_item_operations

        serialize_item_operations()  # DynamoDB's per-item atomicity, which moto lacks

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self.endpoint = ""

    def start(self) -> str:
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        return self.endpoint

    def stop(self) -> None:
        self._server.stop()


def point_environment_at(endpoint: str, env: MutableMapping[str, str]) -> None:
    """Send every AWS call of this process (and its children) to ``endpoint``."""
    env.update(FAKE_CREDENTIALS)
    env["AWS_ENDPOINT_URL"] = endpoint
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SSM"):
        env.pop(name, None)


def provision(env: MutableMapping[str, str], app_tables: Sequence[AppTable] = ()) -> list[SeededUser]:
    """Tables, signing key, a verified mail sender and seeded users, in the AWS that ``env`` points at.

    ``app_tables``: the app's own tables (its ``gate.table(...)`` declarations), created
    under the names the app will look them up by.

    Sets ``GATEHOUSE_JWKS`` in ``env`` to the new key's public half, and turns
    on the console echo of outgoing mail (``GATEHOUSE_MAIL_ECHO``): locally
    the codes a user would receive are printed where the developer sees them.
    """
    import boto3

    env.setdefault("GATEHOUSE_MAIL_FROM", DEV_MAIL_FROM)
    env["GATEHOUSE_MAIL_ECHO"] = "true"
    settings = load_settings(env)
    session = boto3.Session(region_name=REGION)
    session.client("sesv2").create_email_identity(EmailIdentity=settings.mail_from)
    create_tables(
        session.client("dynamodb"), settings, extra=[t.create_table_arguments(env) for t in app_tables]
    )

    # The same key store format and code as the admin CLI uses in production.
    store = KeyStore(
        session.client("ssm"),
        signing_key_param=settings.signing_key_param,
        jwks_param=jwks_parameter_for(settings.signing_key_param),
    )
    now = int(time.time())
    env["GATEHOUSE_JWKS"] = store.save([keyring.stamped(generate_signing_jwk(), now=now, activate_at=now)])

    rt = Services(load_settings(env), table=session.resource("dynamodb").Table)
    seeded = []
    for username, variable, default, roles in SEED_USERS:
        supplied = bool(env.get(variable))
        password = env[variable] if supplied else default
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
    env: MutableMapping[str, str] = os.environ, port: int = 0, app_tables: Sequence[AppTable] = ()
) -> tuple[LocalAws, list[SeededUser]]:
    aws = LocalAws(port)
    point_environment_at(aws.start(), env)
    try:
        return aws, provision(env, app_tables)
    except BaseException:
        aws.stop()
        raise
