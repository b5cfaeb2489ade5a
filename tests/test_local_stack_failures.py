"""Expected failures of ``make run``, ``chalice local`` and the admin CLI: one line saying what to do.

Each runs as a developer would meet it (a subprocess), and must end with one
line on stderr, a non-zero status where the command controls it, and never a
traceback.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gatehouse.admin import target
from gatehouse.dev.stack import LocalAws
from tests.live_stack import ROOT, free_port, free_port_pair, stack_environment

CHALICE = str(Path(sys.executable).parent / "chalice")
NO_STACK = "error: " + target.NO_TARGET
WEAK = "error: GATEHOUSE_DEMO_PASSWORD is refused: That password is too common; choose another."

# Whole dev-stack processes started, stopped and restarted (10-70 s each): they run in
# `make test-devstack` (in CI beside `make test`), which keeps `make test` quick.
pytestmark = pytest.mark.devstack


def _run(command: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture
def bare_env(tmp_path: Path) -> dict[str, str]:
    """A shell with no AWS set-up at all, and no local stack running for this checkout."""
    env = {k: v for k, v in stack_environment().items() if not k.startswith("AWS_")}
    env.update(
        HOME=str(tmp_path),  # no ~/.aws of the machine's
        AWS_EC2_METADATA_DISABLED="true",  # nor a wait for an instance role
        GATEHOUSE_LOCAL_STACK_FILE=str(tmp_path / "local-stack.json"),
    )
    return env


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port held by another socket, whose next one (the embedded AWS's) is free: the stack must
    refuse for this port, not for a neighbour some other process happens to hold."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", free_port_pair()))
        holder.listen()
        yield int(holder.getsockname()[1])


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stdout + result.stderr
    # The admin CLI names its target before it acts: then the failure is the one line after it.
    lines = result.stderr.splitlines()
    [line] = lines[1:] if lines and lines[0].startswith("Target: ") else lines
    return line


# -- starting the stack ----------------------------------------------------------------------

STARTS = {
    "make run": [sys.executable, "-m", "gatehouse.dev.run"],
    "chalice local": [CHALICE, "local"],
    "chalice local --no-autoreload": [CHALICE, "local", "--no-autoreload"],
}


@pytest.mark.parametrize("start", list(STARTS))
def test_a_supplied_password_the_policy_refuses_stops_start_up_in_one_line(
    start: str, bare_env: dict[str, str]
) -> None:
    command = [*STARTS[start], "--port", str(free_port_pair())]
    result = _run(command, {**bare_env, "GATEHOUSE_DEMO_PASSWORD": "password1"})
    assert _one_line(result).startswith(WEAK)
    if start != "chalice local":  # its reloading parent exits 0 whatever its server did
        assert result.returncode == 1
    assert not Path(bare_env["GATEHOUSE_LOCAL_STACK_FILE"]).exists()


@pytest.mark.parametrize("start", ["make run", "chalice local --no-autoreload"])
def test_a_setting_the_stack_refuses_stops_start_up_in_one_line(start: str, bare_env: dict[str, str]) -> None:
    result = _run([*STARTS[start], "--port", str(free_port_pair())], {**bare_env, "GATEHOUSE_LEEWAY": "soon"})
    assert _one_line(result) == "error: GATEHOUSE_LEEWAY must be a whole number, got 'soon'"
    assert result.returncode == 1


@pytest.mark.parametrize("start", list(STARTS))
def test_a_port_in_use_stops_start_up_in_one_line(
    start: str, bare_env: dict[str, str], taken_port: int
) -> None:
    result = _run([*STARTS[start], "--port", str(taken_port)], bare_env)
    assert _one_line(result) == (
        f"error: port {taken_port} is in use: stop what holds it, or use another (make run PORT=9000)."
    )
    if start != "chalice local":
        assert result.returncode == 1


# -- the admin CLI -----------------------------------------------------------------------------


def _admin(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, "-m", "gatehouse.admin", *args], env)


def test_admin_with_no_stack_and_no_aws_says_what_to_start(bare_env: dict[str, str]) -> None:
    result = _admin(bare_env, "list-users")
    assert (result.returncode, _one_line(result)) == (1, NO_STACK)


def test_admin_with_credentials_but_no_region_asks_for_one(bare_env: dict[str, str]) -> None:
    result = _admin(
        {**bare_env, "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "x"}, "list-keys"
    )
    assert result.returncode == 1
    assert _one_line(result).startswith("error: No AWS region: set AWS_DEFAULT_REGION")


def test_admin_with_an_endpoint_but_no_credentials_asks_for_them(bare_env: dict[str, str]) -> None:
    env = {**bare_env, "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_DEFAULT_REGION": "us-east-1"}
    result = _admin(env, "list-users")
    assert result.returncode == 1
    assert _one_line(result).startswith("error: No AWS credentials: configure them")


def test_admin_with_an_unknown_profile_names_it(bare_env: dict[str, str]) -> None:
    result = _admin({**bare_env, "AWS_PROFILE": "nowhere"}, "list-keys")
    assert result.returncode == 1
    assert _one_line(result).startswith("error: No AWS profile 'nowhere': check AWS_PROFILE")


@pytest.mark.parametrize("command", ["list-users", "list-keys"])
def test_admin_against_an_endpoint_that_is_down_says_it_cannot_reach_it(
    bare_env: dict[str, str], command: str
) -> None:
    # free_port: nothing listens there once it returns.
    env = {**bare_env, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    env.update(AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}")
    result = _admin(env, command)
    assert result.returncode == 1
    assert _one_line(result).startswith("error: Cannot reach http://127.0.0.1:")


def test_admin_relays_what_aws_refused_in_one_line(bare_env: dict[str, str]) -> None:
    aws = LocalAws()  # a moto server without Gatehouse's tables
    endpoint = aws.start()
    try:
        env = {**bare_env, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        env.update(AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=endpoint)
        result = _admin(env, "disable-user", "--yes", "someone")
    finally:
        aws.stop()
    assert result.returncode == 1
    line = _one_line(result)
    assert line.startswith("error: AWS refused "), line
    assert "(ResourceNotFoundException: " in line, line
    assert line.endswith("check the GATEHOUSE_* names and the region, or pass --stack NAME.")


@pytest.mark.skipif(
    shutil.which("make") is None or Path(sys.executable).parent != ROOT / ".venv" / "bin",
    reason="make admin runs the project's .venv",
)
def test_make_admin_with_no_stack_prints_the_line_and_no_traceback(bare_env: dict[str, str]) -> None:
    env = {k: v for k, v in bare_env.items() if not k.startswith("MAKE")}
    result = _run(["make", "--no-print-directory", "admin", "ARGS=list-users"], env)
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stderr.splitlines()[0] == NO_STACK
    assert os.linesep.join(result.stderr.splitlines()[1:]).startswith("make: ***")
