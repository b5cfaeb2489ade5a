"""Cold starts as deployed: the session check on, and the auth function's first login, over a moto server.

A moto server listens on loopback (``moto.server.ThreadedMotoServer``); the
bench creates Gatehouse's tables in it, writes the token's session and a
user through Gatehouse's own repositories, and the signing key into SSM.
Every sample is a fresh ``python -c`` child pointed at it with
``AWS_ENDPOINT_URL``.  Each child times its own steps, from its first import
to the end of the first call, and prints them: that sum is what the targets
compare.  Interpreter start-up (the same on both sides) and exit are left
out: a Lambda container is not torn down after its first call, and tearing
down botocore's loaded models costs a shared machine a varying 100-300 ms.
The parent's wall time per child is in the details.

* **authorizer, as deployed**: ``gatehouse_auth(event, None)`` with the
  session check on and the environment the merge template gives the
  function (key set, route table): the verify path, then the DynamoDB client
  and one strongly consistent ``GetItem``.  The floor is what any authorizer
  that reads a session must do: import botocore, create a DynamoDB client
  (the leanest public way) and send one ``GetItem``.
* **what was tried** for the client (information, same rounds): boto3's
  client, boto3's resource layer (the session check's read before it moved
  to a botocore client), a botocore session whose data loader knows only
  DynamoDB (it skips botocore's scan of every service folder before each
  model: the most a loader can save), and what the authorizer uses:
  Gatehouse's ``storage.aws.dynamodb_only_client()`` + ``read_session``
  (botocore only, such a loader, its timeouts and standard retries).
* **auth function, first ``POST /auth/token``**: ``import app`` and one
  password grant through the API handler: the users and attempts tables,
  argon2id, the SSM read of the signing key, PyJWT, the new session.
* **API handler, first call**: ``import app`` and one ``GET /notes`` as the
  gateway sends it after the authorizer allowed it: the notes table's query.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import os
import sys
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from bench import callgrind
from bench.cold_start import ms, run_child
from bench.fixtures import ACCOUNT_ID, PASSWORD, USERNAME, Fixture, authorizer_variables, child_env
from bench.login import aws_test_env
from bench.report import Result
from bench.timing import Samples, interleaved_calls, median, paired_ratio, summary

LIMIT = 1.15
GATEHOUSE = "gatehouse_auth, session check on"
FLOOR = "floor: botocore + DynamoDB client + GetItem"
BOTO3_CLIENT = "boto3 client + GetItem"
BOTO3_RESOURCE = "boto3 resource Table + get_item"
ONE_MODEL = "botocore client, DynamoDB-only loader + GetItem"
LEAN = "Gatehouse's dynamodb_only_client() + read_session"
_TRIED = (LEAN, BOTO3_CLIENT, BOTO3_RESOURCE, ONE_MODEL)
AUTH = "auth function: import app + first POST /auth/token"
API = "API handler: import app + first GET /notes"

AUTHORIZER_CODE = """
import json, sys, time
start = time.perf_counter()
from gatehouse.authorizer.handler import gatehouse_auth
imported = time.perf_counter()
policy = gatehouse_auth(json.loads(sys.argv[1]), None)
assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow", policy
done = time.perf_counter()
print(json.dumps({"import": imported - start, "first call": done - imported}))
"""
# The floor and the variants: the same steps, timed the same way.
CLIENT_CODE = """
import json, sys, time
start = time.perf_counter()
{imports}
imported = time.perf_counter()
{client}
created = time.perf_counter()
item = {get}
assert item, "the session was not found"
done = time.perf_counter()
print(json.dumps({{"import": imported - start, "client": created - imported, "GetItem": done - created}}))
"""
_TYPED_GET = (
    "client.get_item(TableName={table!r}, Key={{'account_id': {{'S': {owner!r}}}, 'sid': {{'S': {sid!r}}}}}, "
    "ConsistentRead=True)['Item']"
)
_VARIANTS = {
    FLOOR: (
        "import botocore.session",
        "client = botocore.session.get_session().create_client('dynamodb')",
        _TYPED_GET,
    ),
    BOTO3_CLIENT: ("import boto3", "client = boto3.client('dynamodb')", _TYPED_GET),
    BOTO3_RESOURCE: (
        "import boto3",
        "table = boto3.resource('dynamodb').Table({table!r})",
        "table.get_item(Key={{'account_id': {owner!r}, 'sid': {sid!r}}}, ConsistentRead=True)['Item']",
    ),
    ONE_MODEL: (
        "import botocore.session\n"
        "from botocore.loaders import Loader\n"
        "class DynamoDBOnly(Loader):\n"
        "    def list_available_services(self, type_name):\n"
        "        return ['dynamodb']",
        "core = botocore.session.get_session()\n"
        "core.register_component('data_loader', DynamoDBOnly())\n"
        "client = core.create_client('dynamodb')",
        _TYPED_GET,
    ),
    LEAN: (
        "import botocore.session\n"
        "from gatehouse.storage import aws\n"
        "from gatehouse.storage.sessions import read_session",
        "client = aws.dynamodb_only_client()",
        "read_session(client, {table!r}, {owner!r}, {sid!r})",
    ),
}
# An app function's cold start: import app, one event through Chalice, a 200 whose body passes ``check``.
APP_CODE = """
import json, sys, time
start = time.perf_counter()
import app
imported = time.perf_counter()
response = app.app(json.loads(sys.argv[1]), None)
body = json.loads(response["body"])
assert response["statusCode"] == 200 and {check}, response
done = time.perf_counter()
print(json.dumps({{"import": imported - start, "first call": done - imported}}))
"""
AUTH_CODE = APP_CODE.format(check='"access_token" in body')
API_CODE = APP_CODE.format(check="isinstance(body, list)")  # the caller's notes


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on a free loopback port; its URL."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        # moto's state lives in this process, not in the server: start empty, whatever ran before.
        reset = urllib.request.Request(f"{url}/moto-api/reset", method="POST")  # noqa: S310 (loopback http)
        urllib.request.urlopen(reset, timeout=10).close()  # noqa: S310
        yield url
    finally:
        server.stop()


def _populate(fixture: Fixture, url: str) -> None:
    """Tables, the token's session, a user and the signing key, written by Gatehouse's own code."""
    import boto3

    import app
    from gatehouse import roles
    from gatehouse.accounts import signup
    from gatehouse.component import declared_tables
    from gatehouse.services import Services
    from gatehouse.storage import aws
    from gatehouse.storage.sessions import Session
    from gatehouse.storage.tables import create_tables

    with aws_test_env():
        os.environ["AWS_ENDPOINT_URL"] = url
        session = boto3.Session(region_name="us-east-1")
        aws.use_session(session)
        try:
            settings = fixture.settings
            # The app's own tables too: the API handler's first call reads them.
            app_tables = [t.create_table_arguments(os.environ) for t in declared_tables(app.app)]
            create_tables(session.client("dynamodb"), settings, extra=app_tables)
            session.client("ssm").put_parameter(
                Name=settings.signing_key_param, Value=json.dumps(fixture.signing_jwk), Type="SecureString"
            )
            rt = Services(settings, signing_key_source=fixture.signing_key_source)
            start = fixture.now
            rt.sessions.create(
                Session(
                    sid=fixture.session_id,
                    account_id=ACCOUNT_ID,  # the token's sub
                    username=USERNAME,
                    device="bench",
                    created_at=start,
                    last_used_at=start,
                    expires_at=start + 86_400,
                )
            )
            signup.create_user(rt, USERNAME, PASSWORD, roles.DEFAULT_ROLES)
        finally:
            aws.use_session(None)


def _env(fixture: Fixture, url: str) -> dict[str, str]:
    return child_env(
        **authorizer_variables(fixture),
        AWS_ENDPOINT_URL=url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106 (moto's placeholder)
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
    )


def token_event(body: dict[str, str]) -> dict[str, Any]:
    """``POST /auth/token`` as API Gateway's proxy integration sends it to the auth function."""
    return {
        "resource": "/auth/token",
        "path": "/auth/token",
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "body": json.dumps(body),
        "isBase64Encoded": False,
        "requestContext": {
            "resourcePath": "/auth/token",
            "httpMethod": "POST",
            "path": "/api/auth/token",
            "stage": "api",
            "requestId": "bench",
            "identity": {"sourceIp": "192.0.2.1"},
        },
    }


def notes_event(fixture: Fixture) -> dict[str, Any]:
    """``GET /notes`` as API Gateway sends it to the API handler once the authorizer allowed it."""
    event = token_event({})
    event.update(
        resource="/notes", path="/notes", httpMethod="GET", body=None, headers={}, multiValueHeaders={}
    )
    event["requestContext"].update(
        resourcePath="/notes",
        httpMethod="GET",
        path="/api/notes",
        authorizer={
            "account_id": ACCOUNT_ID,
            "username": USERNAME,
            "roles": "user",
            "sid": fixture.session_id,
            "jti": "bench",
        },
    )
    return event


class _Child:
    """A candidate for ``interleaved_calls`` that keeps the timings the child prints."""

    def __init__(self, code: str, event: str, env: dict[str, str]) -> None:
        self.code, self.event, self.env = code, event, env
        self.steps: dict[str, list[float]] = {}
        self.inner: list[float] = []  # the sum of the steps, per run

    def __call__(self) -> None:
        printed = json.loads(run_child(self.code, self.event, self.env).splitlines()[-1])
        for step, seconds in printed.items():
            self.steps.setdefault(step, []).append(seconds)
        self.inner.append(sum(printed.values()))

    def step(self, name: str) -> float:
        return median(self.steps[name])


def _candidates(fixture: Fixture, env: dict[str, str], clients: bool) -> dict[str, _Child]:
    event = json.dumps(fixture.event())
    table, sid = fixture.settings.sessions_table, fixture.session_id
    children = {}
    names = [FLOOR, *(_TRIED if clients else ())]
    for name in names:
        imports, client, get = _VARIANTS[name]
        code = CLIENT_CODE.format(
            imports=imports,
            client=client.format(table=table),
            get=get.format(table=table, owner=ACCOUNT_ID, sid=sid),
        )
        children[name] = _Child(code, event, env)
    if not clients:
        children[GATEHOUSE] = _Child(AUTHORIZER_CODE, event, env)
        grant = {"grant_type": "password", "username": USERNAME, "password": PASSWORD}
        children[AUTH] = _Child(AUTH_CODE, json.dumps(token_event(grant)), env)
        children[API] = _Child(API_CODE, json.dumps(notes_event(fixture)), env)
    return children


def _run(fixture: Fixture, rounds: int, clients: bool) -> tuple[Samples, dict[str, _Child]]:
    with ExitStack() as stack:
        url = stack.enter_context(moto_server())
        _populate(fixture, url)
        children = _candidates(fixture, _env(fixture, url), clients)
        for child in children.values():
            child()  # __pycache__, the OS file cache, moto's first request of each kind
            child.steps.clear()
            child.inner.clear()
        calls: dict[str, Callable[[], object]] = dict(children)
        return interleaved_calls(calls, rounds), children


def _steps(child: _Child) -> str:
    return ", ".join(f"{name} {ms(median(values))}" for name, values in child.steps.items())


def measure(fixture: Fixture, rounds: int) -> list[Result]:
    wall, children = _run(fixture, rounds, clients=False)
    inner = {name: child.inner for name, child in children.items()}
    floor, auth, api = children[FLOOR], children[AUTH], children[API]
    lines = [
        "in the child, first import to the end of the first call:",
        "  " + summary(GATEHOUSE, inner[GATEHOUSE], ms) + f"; {_steps(children[GATEHOUSE])}",
        "  " + summary(FLOOR, inner[FLOOR], ms) + f"; {_steps(floor)}",
        f"median of per-round ratios: {paired_ratio(inner[GATEHOUSE], inner[FLOOR]):.2f}x",
        f"whole child, start to exit: {GATEHOUSE} {ms(median(wall[GATEHOUSE]))}, "
        f"floor {ms(median(wall[FLOOR]))} ({median(wall[GATEHOUSE]) / median(wall[FLOOR]):.2f}x)",
        f"the DynamoDB client costs {ms(floor.step('client'))} to create with botocore's defaults "
        f"(botocore imported already), the GetItem {ms(floor.step('GetItem'))}; "
        "the ways tried to cut it: make bench BENCH_ARGS=clients",
    ]
    return [
        Result(
            "authorizer cold start as deployed (session check on, moto server)",
            median(inner[GATEHOUSE]),
            LIMIT,
            floor=median(inner[FLOOR]),
            floor_label="botocore + DynamoDB client + GetItem",
            details=lines,
        ),
        Result(
            "auth function cold start, first POST /auth/token (moto server)",
            median(inner[AUTH]),
            None,
            details=[
                "in the child: " + summary(AUTH, inner[AUTH], ms) + f"; {_steps(auth)}",
                f"whole child, start to exit: {ms(median(wall[AUTH]))}",
            ],
        ),
        Result(
            "API handler cold start, first GET /notes (moto server)",
            median(inner[API]),
            None,
            details=[
                "in the child: " + summary(API, inner[API], ms) + f"; {_steps(api)}",
                f"whole child, start to exit: {ms(median(wall[API]))}",
            ],
        ),
    ]


def measure_clients(fixture: Fixture, rounds: int) -> list[Result]:
    """The ways tried to create the session check's client, against botocore's defaults."""
    _wall, children = _run(fixture, rounds, clients=True)
    inner = {name: child.inner for name, child in children.items()}
    lines = ["in the child, first import to the end of the GetItem (per-round ratio to the floor):"]
    for name in (FLOOR, *_TRIED):
        ratio = paired_ratio(inner[name], inner[FLOOR])
        lines.append(f"  {name}: {ms(median(inner[name]))} ({ratio:.2f}x); {_steps(children[name])}")
    return [
        Result(
            "session check's client: dynamodb_only_client() + read_session",
            median(inner[LEAN]),
            None,
            floor=median(inner[FLOOR]),
            floor_label="botocore defaults",
            details=lines,
        )
    ]


def _marked(code: str) -> str:
    """A child's code with :mod:`bench.callgrind`'s markers around the part it times."""
    head, _, timed = code.partition("start = time.perf_counter()")
    body, _, report = timed.rpartition("print(")
    start = f"import os\n{callgrind.START}\nstart = time.perf_counter()"
    return f"{head}{start}{body}{callgrind.END}\nprint({report}"


def measure_instructions(fixture: Fixture) -> Result:
    """The authorizer as deployed against its floor, in instructions executed (callgrind).

    The same children and server as :func:`measure`, each counted once more under
    callgrind from its first import to the end of its first call.  Time spent
    waiting for the server, the disk or the page cache is no instruction: the timed
    figure carries the target, this says whether a miss is the code's doing.
    """
    title = "authorizer cold start as deployed, instructions executed (callgrind)"
    if not callgrind.available():
        return Result(
            title, 0.0, LIMIT, not_run="not run: valgrind is not installed", target=f"≤ {LIMIT:.2f}x"
        )
    with moto_server() as url:
        _populate(fixture, url)
        env = {**_env(fixture, url), "PYTHONHASHSEED": "0"}
        children = _candidates(fixture, env, clients=False)
        event = json.dumps(fixture.event())
        names = (GATEHOUSE, FLOOR)
        for name in names:
            children[name]()  # __pycache__ and moto's first request of each kind, as in measure()

        def counted(name: str) -> int:
            return callgrind.count([sys.executable, "-c", _marked(children[name].code), event], env)

        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            runs = list(pool.map(counted, [*names, *names]))
    counts = {name: [runs[i], runs[i + len(names)]] for i, name in enumerate(names)}
    return Result(
        title,
        min(counts[GATEHOUSE]),
        LIMIT,
        fmt=lambda value: f"{value / 1e6:.1f} M instr",
        floor=min(counts[FLOOR]),
        floor_label="botocore + DynamoDB client + GetItem",
        details=[
            f"{name}: {min(values) / 1e6:.1f} M instructions, 2 children "
            f"{max(values) / min(values) - 1:.2%} apart (first import to the end of the first call)"
            for name, values in counts.items()
        ],
    )
