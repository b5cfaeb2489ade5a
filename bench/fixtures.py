"""What every figure needs: the project root, a key pair, settings, a valid token and its event.

Built through Gatehouse's own functions (``generate_signing_jwk``,
``issue_access_token``) so the bench measures exactly the tokens the
service issues, whatever their claims become.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/api/GET/me"
USERNAME = "bench-user"
ACCOUNT_ID = "0123456789abcdef0123456789abcdef"  # shaped like a real one
PASSWORD = "tulip-Marble-9-sunset"  # noqa: S105 (a fixture, not a secret)

if str(ROOT) not in sys.path:
    # `python bench/...` as well as `python -m bench` from anywhere.
    sys.path.insert(0, str(ROOT))

from gatehouse.jose.access_tokens import issue_access_token  # noqa: E402
from gatehouse.jose.keys import PublicKey, generate_signing_jwk, load_signing_key, public_jwks  # noqa: E402
from gatehouse.settings import Settings, token_rules  # noqa: E402


@dataclass(frozen=True)
class Fixture:
    signing_jwk: dict[str, str]
    settings: Settings
    token: str
    session_id: str
    now: int

    @property
    def jwks_json(self) -> str:
        return self.settings.jwks

    @property
    def public_key(self) -> PublicKey:
        return load_signing_key(json.dumps(self.signing_jwk)).public

    def event(self) -> dict[str, str]:
        """A TOKEN authorizer event exactly as API Gateway sends it."""
        return {"type": "TOKEN", "authorizationToken": f"Bearer {self.token}", "methodArn": METHOD_ARN}

    def signing_key_source(self, _parameter: str) -> str:
        """Stands in for the SSM read: the bench never touches the network for keys."""
        return json.dumps(self.signing_jwk)


def make_fixture(now: int, **overrides: Any) -> Fixture:
    """A fresh EdDSA key, default settings (argon2 m=19456,t=2,p=1) and a token issued at ``now``."""
    return fixture_of(generate_signing_jwk("EdDSA"), now, None, **overrides)


def fixture_of(jwk: dict[str, str], now: int, jti: str | None, **overrides: Any) -> Fixture:
    """:func:`make_fixture` with the key given, and the ``jti`` (None: a random one): the same
    key, time and ``jti`` make the same token, for children that must verify the same bytes."""
    settings = replace(Settings(), jwks=json.dumps(public_jwks([jwk])), **overrides)
    session_id = "018d2a9c3b00" + "benchSession0000000001"  # shaped like a sid: the check reads it
    token, _ = issue_access_token(
        load_signing_key(json.dumps(jwk)),
        token_rules(settings),
        subject=ACCOUNT_ID,
        username=USERNAME,
        session_id=session_id,
        roles=["user"],
        now=now,
        jti=jti,
    )
    return Fixture(jwk, settings, token, session_id, now)


def route_table_json() -> str:
    """The authorizer function's ``GATEHOUSE_PROTECTED_ROUTES``, computed as ``make package`` does."""
    import app
    from gatehouse.component import protected_routes

    return protected_routes(app.app).encode()


def authorizer_variables(fixture: Fixture, **extra: str) -> dict[str, str]:
    """What the merge template and the stage give the deployed authorizer function."""
    from gatehouse.authorizer.policy import ROUTES_VARIABLE

    return {"GATEHOUSE_JWKS": fixture.jwks_json, ROUTES_VARIABLE: route_table_json(), **extra}


def child_env(**extra: str) -> dict[str, str]:
    """This environment without endpoints or Gatehouse settings, plus ``extra``."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT_URL", "GATEHOUSE_", "PYTHON"))
    }
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def run_checked(argv: Sequence[str], env: dict[str, str], cwd: Path = ROOT) -> str:
    """Run a child to its end; its stdout, or RuntimeError with the last line of its stderr."""
    done = subprocess.run(list(argv), cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"a bench child failed: {last[:200]}")
    return done.stdout


@contextmanager
def event_log_to_devnull() -> Iterator[None]:
    """Send Gatehouse's JSON event lines to /dev/null while timing.

    Formatting and the write itself are still paid, as on Lambda (where the
    line goes to a pipe); only the terminal is spared thousands of lines.
    Both ways a line leaves: the ``logging`` handler, and standard output
    (where the deployed authorizer function writes its line).
    """
    from gatehouse import logs

    logs.configure()  # as the Lambda entry points configure it
    handlers = [h for h in logs.log.handlers if isinstance(h, logging.StreamHandler)]
    with open(os.devnull, "w") as sink, redirect_stdout(sink):
        previous = [(h, h.setStream(sink)) for h in handlers]
        try:
            yield
        finally:
            for handler, stream in previous:
                if stream is not None:
                    handler.setStream(stream)
