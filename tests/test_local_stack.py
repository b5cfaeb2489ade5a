"""Plain ``chalice local`` and ``make run`` start the same local stack, and the admin CLI finds it.

Both run as a developer starts them (a subprocess on a free port, over real
HTTP): the embedded AWS, the tables, a dev key, the seeded users with their
fixed dev passwords, and API Gateway's answers for tokens and unknown paths.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gatehouse.admin import target
from gatehouse.dev.stack import SEED_USERS
from tests.live_stack import CHALICE_READY_LINE, ROOT, LiveStack, live_stack, stack_environment
from tests.processes import run_python

pytestmark = pytest.mark.e2e

CHALICE = str(Path(sys.executable).parent / "chalice")
DEFAULT_PASSWORDS = {username: default for username, _, default, _ in SEED_USERS}
NEW_PASSWORD = "Lichen-Harbor-47-quill"
STARTS: dict[str, dict[str, Any]] = {
    "make run": {},
    "chalice local": {"command": [CHALICE, "local"], "ready_line": CHALICE_READY_LINE},
}


@pytest.fixture(scope="module", params=list(STARTS))
def stack(request: pytest.FixtureRequest) -> Iterator[LiveStack]:
    # No supplied passwords: the fixed dev ones, as a developer gets them.
    with live_stack(seeded={}, **STARTS[request.param]) as running:
        yield running


def _login(stack: LiveStack, username: str, password: str) -> tuple[int, Any]:
    body = {"grant_type": "password", "username": username, "password": password}
    status, _, answer = stack.call("POST", "/auth/token", body)
    return status, answer


def admin_cli(state_file: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """The admin CLI as a developer's shell runs it: no AWS variable, no GATEHOUSE_* setting."""
    env = {k: v for k, v in stack_environment().items() if not k.startswith("AWS_")}
    env.update(GATEHOUSE_LOCAL_STACK_FILE=str(state_file), AWS_EC2_METADATA_DISABLED="true", **extra)
    env["HOME"] = str(state_file.parent)  # no ~/.aws of the machine's
    return run_python(["-m", "gatehouse.admin", *args], env)


def test_seeded_users_get_the_fixed_dev_passwords_printed_the_same_way_every_time(stack: LiveStack) -> None:
    for username, password in DEFAULT_PASSWORDS.items():
        assert f"Seeded user {username!r}, password: {password}\n" in stack.lines
        status, answer = _login(stack, username, password)
        assert status == 200, answer


def test_token_me_bad_token_unknown_path_and_jwks_answer_like_api_gateway(stack: LiveStack) -> None:
    status, answer = _login(stack, "demo", DEFAULT_PASSWORDS["demo"])
    assert status == 200, answer
    bearer = {"Authorization": f"Bearer {answer['access_token']}"}
    status, _, me = stack.call("GET", "/me", headers=bearer)
    assert (status, me.pop("account_id") != "", me) == (200, True, {"username": "demo", "roles": ["user"]})

    status, headers, body = stack.call("GET", "/me", headers={"Authorization": "Bearer not-a-jwt"})
    assert (status, body["error"]) == (401, "invalid_token")
    assert headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'

    status, headers, _ = stack.call("GET", "/me")
    assert (status, headers["WWW-Authenticate"]) == (401, "Bearer")

    status, _, body = stack.call("GET", "/no/such/path", headers=bearer)
    assert (status, body["error"]) == (404, "not_found")

    status, _, body = stack.call("GET", "/.well-known/jwks.json")
    assert status == 200
    assert [key["kty"] for key in body["keys"]] == ["OKP"]


def test_admin_cli_reads_and_writes_the_running_stack_with_no_setup(stack: LiveStack) -> None:
    listed = admin_cli(stack.state_file, "list-users", "--json")
    assert listed.returncode == 0, listed.stderr
    assert {u["username"] for u in json.loads(listed.stdout)} >= {"demo", "admin"}

    username = f"cli-{os.getpid()}"
    created = admin_cli(stack.state_file, "create-user", username, GATEHOUSE_NEW_PASSWORD=NEW_PASSWORD)
    assert created.returncode == 0, created.stderr
    assert _login(stack, username, NEW_PASSWORD)[0] == 200


# Both starts write the state file with the same code: once is enough here.
@pytest.mark.parametrize("stack", ["chalice local"], indirect=True)
def test_every_admin_command_acts_on_the_running_stack(stack: LiveStack) -> None:
    username = f"roles-{os.getpid()}"
    created = admin_cli(stack.state_file, "create-user", username, GATEHOUSE_NEW_PASSWORD=NEW_PASSWORD)
    assert created.returncode == 0, created.stderr
    endpoint = json.loads(stack.state_file.read_text())["endpoint"]
    assert created.stderr.splitlines()[0] == (
        f"Target: the local stack of this checkout (embedded AWS {endpoint}, API {stack.base_url})"
    )
    assert admin_cli(stack.state_file, "set-roles", username, "admin", "user").returncode == 0
    _, answer = _login(stack, username, NEW_PASSWORD)
    token = {"Authorization": f"Bearer {answer['access_token']}"}
    assert stack.call("GET", "/admin/users", headers=token)[0] == 200

    assert admin_cli(stack.state_file, "disable-user", "--yes", username).returncode == 0
    assert _login(stack, username, NEW_PASSWORD)[0] == 400
    assert admin_cli(stack.state_file, "enable-user", username).returncode == 0
    assert _login(stack, username, NEW_PASSWORD)[0] == 200

    rotated = admin_cli(stack.state_file, "rotate-signing-key", "--activate-in", "600")
    assert rotated.returncode == 0, rotated.stderr
    keys = admin_cli(stack.state_file, "list-keys", "--json")
    assert keys.returncode == 0, keys.stderr
    assert [k["state"] for k in json.loads(keys.stdout)] == ["pending", "signing"]


def test_the_state_file_names_the_stack_and_no_password(stack: LiveStack) -> None:
    recorded = json.loads(stack.state_file.read_text())
    assert recorded["api"] == stack.base_url
    assert recorded["settings"]["GATEHOUSE_SIGNING_KEY_PARAM"] == "/gatehouse/dev/signing-key"
    assert not [p for p in DEFAULT_PASSWORDS.values() if p in stack.state_file.read_text()]


def test_stopping_chalice_local_removes_its_state_file_and_the_cli_then_says_what_to_do(
    tmp_path: Path,
) -> None:
    state_file = tmp_path / "local-stack.json"
    with live_stack(command=[CHALICE, "local"], ready_line=CHALICE_READY_LINE, state_file=state_file):
        assert json.loads(state_file.read_text())["endpoint"].startswith("http://127.0.0.1:")
    assert not state_file.exists()
    missing = admin_cli(state_file, "list-users")
    assert missing.returncode == 1
    assert missing.stderr.splitlines() == ["error: " + target.NO_TARGET]


def _import_app(**env: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import json, os, sys\n"
        "import app\n"
        "moto = sorted(m for m in sys.modules if m.startswith('moto'))\n"
        "print(json.dumps([os.environ.get('AWS_ENDPOINT_URL'), moto]))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**stack_environment(), "GATEHOUSE_EMBEDDED_AWS": "true", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_importing_the_app_on_the_dev_stage_starts_nothing_until_a_local_server_is_made() -> None:
    # What `chalice package` and `chalice deploy` do: they must never get the embedded AWS.
    imported = _import_app()
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout.splitlines()[-1]) == [None, []]


@pytest.mark.parametrize(("inside_lambda", "imports"), [(True, True), (False, False)])
def test_inside_lambda_the_app_never_imports_the_dev_tooling(inside_lambda: bool, imports: bool) -> None:
    # Lambda does not ship gatehouse.dev; outside Lambda the dev stage does use it.
    env = {**stack_environment(), "GATEHOUSE_EMBEDDED_AWS": "true"}
    if inside_lambda:
        env["AWS_LAMBDA_FUNCTION_NAME"] = "gatehouse-dev-api_handler"
    without_dev_tooling = subprocess.run(
        [sys.executable, "-c", "import sys; sys.modules['gatehouse.dev'] = None; import app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (without_dev_tooling.returncode == 0) == imports, without_dev_tooling.stderr
