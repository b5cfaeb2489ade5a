"""Shared fixtures: moto in-process, a controllable clock, factories for users and tokens."""

from __future__ import annotations

import atexit
import copy
import fcntl
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

# Before anything can create a boto3 client: fake credentials, and no
# leftover endpoint that would send in-process tests to a server that is not there.
for _name in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")] + ["AWS_PROFILE"]:
    os.environ.pop(_name, None)
# Never the developer's running `make run` of this checkout: its state file (how the
# admin CLI finds it) and its saved data are looked for in places of the test run's own,
# by this process and by every process it starts (tests/test_dev_isolation.py).
_SCRATCH = Path(tempfile.mkdtemp(prefix="gatehouse-tests-"))
atexit.register(shutil.rmtree, _SCRATCH, ignore_errors=True)
os.environ["GATEHOUSE_LOCAL_STACK_FILE"] = str(_SCRATCH / "no-local-stack.json")
os.environ["GATEHOUSE_DEV_DATA"] = "off"
os.environ.pop("AWS_PORT", None)
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
)

import boto3  # noqa: E402
import hypothesis  # noqa: E402
import jwt  # noqa: E402
import pytest  # noqa: E402
from chalice.test import Client  # noqa: E402
from moto import mock_aws  # noqa: E402

import app as gatehouse_app  # noqa: E402
from gatehouse import logs  # noqa: E402
from gatehouse.accounts import signup  # noqa: E402
from gatehouse.component import component_of  # noqa: E402
from gatehouse.dev import atomic, gateway  # noqa: E402
from gatehouse.jose.keys import generate_signing_jwk, load_signing_key, public_jwks  # noqa: E402
from gatehouse.services import Services  # noqa: E402
from gatehouse.settings import Settings  # noqa: E402
from gatehouse.storage import aws  # noqa: E402
from gatehouse.storage.sessions import new_sid  # noqa: E402
from gatehouse.storage.tables import create_tables, table_definitions, ttl_tables  # noqa: E402
from tests.release.cfn import deployed  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# Hypothesis keeps no example database in the project: `chalice local` (which
# some tests run with its auto-reloader, as developers do) restarts whenever a
# file under the project appears, and the suite runs on two workers at once.
hypothesis.settings.register_profile("gatehouse", database=None)
hypothesis.settings.load_profile("gatehouse")
START = 1_800_000_000.0
DEFAULT_PASSWORD = "tulip-Marble-9-sunset"
# An account id shaped like a real one, for tokens of no real account.
ACCOUNT_ID = "0123456789abcdef0123456789abcdef"

gateway.install()
# moto backs up whole tables for every transaction, a cost that grows with each row a test
# adds; the embedded stack backs up the named items instead, and so does every test here.
atomic.roll_back_items_only()
# Gatehouse's event lines at INFO, as the entry points configure them (the library itself
# configures no logging): tests read them through caplog or handlers of their own.
logs.log.setLevel(logging.INFO)


def _named(config: pytest.Config, directory: Path) -> bool:
    """Whether the run named ``directory`` or something in it."""
    start = config.invocation_params.dir
    paths = [(start / arg.split("::", 1)[0]).resolve() for arg in config.args]
    return any(path == directory or directory in path.parents for path in paths)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Two directories that only their own make targets run are not even collected by the others:
    tests/api unless the run selects the ``api`` marker (Schemathesis builds its cases while
    pytest collects, seconds in every worker), tests/browser unless the run names it (its
    modules import Playwright, which only `make test-browser` installs)."""
    if collection_path == ROOT / "tests" / "api":
        return "not api" in (config.option.markexpr or "") or None
    if collection_path == ROOT / "tests" / "browser":
        return not _named(config, collection_path) or None
    return None


class FakeClock:
    """Time that moves only when a test says so."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    account_id: str = ""  # the incarnation made by the factory (empty for a name never created)


@dataclass(frozen=True)
class Package:
    """What `make package` builds: `chalice package --stage prod` merged with build/merge.json."""

    template: dict[str, Any]
    text: str
    zip_path: Path
    env: dict[str, str]
    merge: dict[str, Any]

    @property
    def resources(self) -> dict[str, Any]:
        return dict(self.template["Resources"])

    def env_of(self, function: str) -> dict[str, Any]:
        return dict(self.resources[function]["Properties"]["Environment"]["Variables"])

    def statements(self, function: str, **parameters: str) -> list[dict[str, Any]]:
        """The function's IAM statements as deployed with these template parameters (else defaults)."""
        resources = deployed(self.template, parameters, substitute=False)["Resources"]
        role, attribute = resources[function]["Properties"]["Role"]["Fn::GetAtt"]
        assert attribute == "Arn", function
        policies = resources[role]["Properties"]["Policies"]
        return [s for p in policies for s in p["PolicyDocument"]["Statement"]]

    def api_body(self) -> dict[str, Any]:
        return dict(self.resources["RestAPI"]["Properties"]["DefinitionBody"])


def _project_copy(target: Path) -> Path:
    """What `chalice package` reads of this project, copied to ``target``."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name in ("app.py", "requirements.txt"):
        shutil.copy(ROOT / name, target / name)
    skip = shutil.ignore_patterns("__pycache__", "deployments", "venv")
    for name in ("chalicelib", ".chalice", "dist"):
        shutil.copytree(ROOT / name, target / name, ignore=skip)
    return target


@pytest.fixture(scope="session")
def package(tmp_path_factory: pytest.TempPathFactory) -> Package:
    """The deployable stack, packaged once per session as `make package` does (about 5 s).

    The merge template is written by `python -m gatehouse.release.template` from the app's
    routes, then merged by the real `chalice package`.  Exactly their output: `make
    package`'s byte-code step (gatehouse.release.bytecode) is not applied here;
    tests/release/test_bytecode.py applies it to copies.
    """
    # No GATEHOUSE_* from the developer's shell: the defaults are what is checked.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEHOUSE_")}
    env["AWS_DEFAULT_REGION"] = "us-east-1"  # chalice package needs one, calls no AWS API
    # One build for every test worker (`make test` runs two): `chalice package`
    # keeps a cache under .chalice/ that two concurrent runs would corrupt.
    # The workers' base temps share their run's directory; a run without workers has its own
    # (its parent is shared by every run and checkout on the machine: never reuse a build there).
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    # Keyed by checkout as well: a run of a copy's tests inside this run's worker (tests/adopt)
    # shares the base directory but not the app.
    checkout = hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
    out = shared / f"package-{checkout}" / "build"
    merge = out / "merge.json"
    with (shared / f"package-{checkout}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / "sam.json").exists():
            out.mkdir(parents=True, exist_ok=True)
            # Packaged from a copy of the project: `chalice package` writes its dependency cache
            # under .chalice/, and a `chalice local` of another test serving this checkout would
            # reload on that write.  A fresh copy also has no cache that could hold an old wheel
            # (Chalice keys it by requirements.txt's text, and the wheel keeps its file name).
            project = _project_copy(shared / f"package-{checkout}" / "project")
            chalice = [sys.executable, "-c", "import sys; from chalice.cli import main; sys.exit(main())"]
            steps = [
                [sys.executable, "-m", "gatehouse.release.template", "--stage", "prod", str(merge)],
                [*chalice, "package", "--stage", "prod", "--merge-template", str(merge), str(out)],
            ]
            for command in steps:
                result = subprocess.run(
                    command, cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False
                )
                assert result.returncode == 0, result.stdout + result.stderr
    text = (out / "sam.json").read_text()
    return Package(json.loads(text), text, out / "deployment.zip", env, json.loads(merge.read_text()))


@pytest.fixture(scope="session", autouse=True)
def shared_boto_session() -> Iterator[boto3.Session]:
    # Clients from one reused session cost ~4 ms instead of ~150 ms.
    session = boto3.Session(region_name="us-east-1")
    aws.use_session(session)
    yield session
    aws.use_session(None)


@pytest.fixture(scope="session")
def signing_jwk() -> dict[str, str]:
    return generate_signing_jwk()


@pytest.fixture(scope="session")
def base_settings(signing_jwk: dict[str, str]) -> Settings:
    # No floor on the forgot-password answer: tests count requests, never time.  The cheapest
    # argon2id (hashing is not under test in most tests: each hash at the deployed parameters
    # costs ~60 ms, thousands of times over); the tests of hashing ask for the deployed
    # parameters with `deployed_hashing`.
    return Settings(
        issuer="gatehouse-test",
        jwks=json.dumps(public_jwks([signing_jwk])),
        mail_from=MAIL_FROM,
        forgot_min_ms=0,
        **CHEAP_HASHING,
    )


# Tests whose subject is the stored hash run on what a deployment uses.
DEPLOYED_HASHING = {
    "argon2_time_cost": Settings.argon2_time_cost,
    "argon2_memory_kib": Settings.argon2_memory_kib,
}
CHEAP_HASHING = {"argon2_time_cost": 1, "argon2_memory_kib": 64}


@pytest.fixture(scope="session")
def mfa_key() -> str:
    """The data-key parameter's value that seals TOTP secrets in tests."""
    from gatehouse.accounts.factor_key import dump_keys, new_data_key

    return dump_keys([new_data_key(int(START))])


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def aws_mock() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def atomic_conditional_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give moto the guarantee real DynamoDB has: conditional writes to an item are atomic.

    moto checks a condition and then writes without a lock, so two threads can
    both pass the same condition; DynamoDB never lets that happen.  Tests of
    races in *our* code need the real guarantee, not moto's gap.  The embedded
    stack of `make run` installs the same serialization (gatehouse.dev.atomic), and with it
    DynamoDB's idempotent transactions (a retry with the same ClientRequestToken is applied once).
    """
    atomic.install(monkeypatch.setattr)


# The tables of each settings' names, empty, as the first test in this process that needed them
# created them through the API (create_tables): every later test gets copies of them put into
# its own fresh moto backend, which costs a millisecond where creating them again costs ~0.1 s.
_PRISTINE_TABLES: dict[str, dict[str, Any]] = {}


def _create_tables(settings: Settings) -> None:
    """The package's tables and the app's own (its gate.table(...) declarations), empty."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    app_tables = [t.create_table_arguments() for t in component_of(gatehouse_app.app).tables]
    definitions = [*table_definitions(settings), *app_tables]
    key = json.dumps([definitions, ttl_tables(settings)], sort_keys=True)
    session = aws.session()
    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][session.region_name]
    pristine = _PRISTINE_TABLES.get(key)
    if pristine is not None and not backend.tables:
        backend.tables.update({name: copy.deepcopy(table) for name, table in pristine.items()})
        return
    create_tables(session.client("dynamodb"), settings, extra=app_tables)
    names = [definition["TableName"] for definition in definitions]
    if all(name in backend.tables for name in names):
        _PRISTINE_TABLES.setdefault(key, {name: copy.deepcopy(backend.tables[name]) for name in names})


@pytest.fixture
def make_runtime(
    aws_mock: None, base_settings: Settings, clock: FakeClock, signing_jwk: dict[str, str], mfa_key: str
) -> Iterator[Callable[..., Services]]:
    """Build Services with some settings changed and run the app on them; tables are created once."""
    created = False

    def build(**overrides: Any) -> Services:
        nonlocal created
        settings = replace(base_settings, **overrides)
        if not created:
            _create_tables(settings)
            created = True
        rt = Services(
            settings,
            clock=clock,
            signing_key_source=lambda _name: json.dumps(signing_jwk),
            mfa_key_source=lambda _name: mfa_key,
        )
        gatehouse_app.gate.use_services(rt)
        return rt

    yield build
    gatehouse_app.gate.use_services(None)


@pytest.fixture
def rt(make_runtime: Callable[..., Services]) -> Services:
    return make_runtime()


@pytest.fixture
def client(rt: Services) -> Client:
    return Client(gatehouse_app.app, project_dir=str(ROOT))


@pytest.fixture
def make_user(rt: Services) -> Callable[..., Credentials]:
    def make(
        username: str | None = None, password: str = DEFAULT_PASSWORD, roles: tuple[str, ...] = ("user",)
    ) -> Credentials:
        username = username or f"user-{secrets.token_hex(4)}"
        user = signup.create_user(rt, username, password, roles)
        return Credentials(username, password, user.account_id)

    return make


@pytest.fixture
def dynamodb_calls(rt: Services) -> Iterator[list[str]]:
    """Operation names of every DynamoDB HTTP request the runtime's one resource sends."""
    calls: list[str] = []

    def record(event_name: str, **_: Any) -> None:
        calls.append(event_name.rsplit(".", 1)[-1])

    events = rt._dynamodb.meta.client.meta.events
    events.register("before-send.dynamodb", record)
    yield calls
    events.unregister("before-send.dynamodb", record)


def keys_anywhere(value: Any) -> Iterator[str]:
    """Every object key in a parsed JSON document, at any depth."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from keys_anywhere(item)
    elif isinstance(value, list):
        for item in value:
            yield from keys_anywhere(item)


def json_body(response: Any) -> Any:
    return json.loads(response.body)


def post_json(client: Client, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    return client.http.post(
        path, headers={"Content-Type": "application/json", **(headers or {})}, body=json.dumps(body)
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def next_link(response: Any) -> str | None:
    """The target of a list answer's ``Link: <...>; rel="next"`` header, or None on the last page."""
    link = response.headers.get("Link")
    if link is None:
        return None
    match = re.fullmatch(r'<([^>]+)>; rel="next"', link)
    assert match is not None, link
    return match.group(1)


@pytest.fixture
def login(client: Client) -> Callable[[Credentials], str]:
    """A real access token, issued through POST /auth/token."""

    def do_login(creds: Credentials, device: str | None = None) -> str:
        body = {"grant_type": "password", "username": creds.username, "password": creds.password}
        if device is not None:
            body["device"] = device
        response = post_json(client, "/auth/token", body)
        assert response.status_code == 200, response.body
        return str(json_body(response)["access_token"])

    return do_login


@pytest.fixture
def make_token(rt: Services, clock: FakeClock, signing_jwk: dict[str, str]) -> Callable[..., str]:
    """Sign arbitrary claims and header with the service's own key (or another)."""

    def make(
        *,
        header: dict[str, Any] | None = None,
        key: Any = None,
        algorithm: str | None = None,
        drop: tuple[str, ...] = (),
        **claims: Any,
    ) -> str:
        signing = load_signing_key(json.dumps(signing_jwk))
        now = int(clock())
        payload: dict[str, Any] = {
            "iss": rt.settings.issuer,
            "aud": rt.settings.audience,
            "sub": ACCOUNT_ID,
            "username": "alice",
            "iat": now,
            "exp": now + rt.settings.access_token_ttl,
            "jti": secrets.token_hex(8),
            "sid": new_sid(now * 1000),  # shaped like a real one, so the session check reads it
            "roles": ["user"],
        }
        payload.update(claims)
        for name in drop:
            payload.pop(name, None)
        headers = {"typ": "at+jwt", "kid": signing.kid, **(header or {})}
        return jwt.encode(payload, key or signing.key, algorithm=algorithm or signing.alg, headers=headers)

    return make


# -- second factor: users enrolled through the real routes, codes computed from the secret --


@dataclass(frozen=True)
class MfaUser:
    creds: Credentials
    secret: str
    recovery_codes: tuple[str, ...]
    access_token: str  # the session that enrolled (aal 1: the login had no second factor yet)


class Authenticator:
    """The user's authenticator app: the code of the test clock's current time step."""

    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock

    def code(self, secret: str, steps: int = 0) -> str:
        from gatehouse.accounts import totp

        return totp.code_at(secret, totp.step_of(self._clock()) + steps)

    def next_code(self, secret: str) -> str:
        """A code that was not used yet: the clock moves on one step first."""
        self._clock.advance(30)
        return self.code(secret)


@pytest.fixture
def authenticator(clock: FakeClock) -> Authenticator:
    return Authenticator(clock)


@pytest.fixture
def make_mfa_user(
    client: Client,
    make_user: Callable[..., Credentials],
    login: Callable[..., str],
    authenticator: Authenticator,
) -> Callable[..., MfaUser]:
    """A user with a confirmed TOTP factor, enrolled through POST /auth/mfa/totp and .../confirm."""

    def make(username: str | None = None, roles: tuple[str, ...] = ("user",)) -> MfaUser:
        creds = make_user(username, roles=roles)
        token = login(creds)
        started = post_json(client, "/auth/mfa/totp", {"current_password": creds.password}, bearer(token))
        assert started.status_code == 200, started.body
        secret = str(json_body(started)["secret"])
        confirmed = post_json(
            client, "/auth/mfa/totp/confirm", {"code": authenticator.code(secret)}, bearer(token)
        )
        assert confirmed.status_code == 200, confirmed.body
        return MfaUser(creds, secret, tuple(json_body(confirmed)["recovery_codes"]), token)

    return make


# -- mail: moto's SES holds every sent message ------------------------------------------------

MAIL_FROM = "gatehouse@mail.example.com"


@dataclass(frozen=True)
class SentMail:
    to: tuple[str, ...]
    subject: str
    body: str  # the HTML body: moto keeps only one, HTML when both are sent
    source: str


class Mailbox:
    """What moto's SES sent, read from its backend (the same account and region as the tests')."""

    def __init__(self, region: str = "us-east-1") -> None:
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends

        self._backend = ses_backends[DEFAULT_ACCOUNT_ID][region]

    def sent(self) -> list[SentMail]:
        return [
            SentMail(tuple(m.destinations.get("ToAddresses", ())), m.subject, m.body, m.source)
            for m in self._backend.sent_messages
            if hasattr(m, "destinations")
        ]

    def to(self, address: str) -> list[SentMail]:
        return [m for m in self.sent() if address in m.to]

    def last_code(self, address: str) -> str:
        """The code in the newest message to ``address``."""
        messages = self.to(address)
        assert messages, f"no mail to {address}"
        match = re.search(r"<strong>([0-9A-Z-]+)</strong>", messages[-1].body)
        assert match, messages[-1].body
        return match.group(1).replace("-", "")  # a reset code is mailed in dashed groups


@pytest.fixture
def mailbox(rt: Services) -> Mailbox:
    """moto's SES with the sender verified, as a real account's SES identity would be."""
    aws.session().client("sesv2").create_email_identity(EmailIdentity=MAIL_FROM)
    return Mailbox()
