"""`make test` while `make run` runs in the same checkout: the tests never reach the developer's stack.

A stack is started exactly where `make run` records itself (the default state
file, under a runtime folder of this test's own so that a real `make run`
of the developer is not disturbed), then the tests that use the admin CLI
and its target rules run in a fresh pytest process that shares that runtime
folder.  They must pass, and the stack's users and keys must be unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gatehouse.admin import localstate, target
from tests.live_stack import live_stack, stack_environment
from tests.processes import run_python

# Whole dev-stack processes started, stopped and restarted (10-70 s each): they run in
# `make test-devstack` (in CI beside `make test`), which keeps `make test` quick.
pytestmark = [pytest.mark.e2e, pytest.mark.devstack]

# The tests that act through the admin CLI (in-process and as subprocesses).
SUITES = [
    "tests/admin/test_key_rotation.py",
    "tests/admin/test_cli_safety.py",
    "tests/gatehouse/accounts/test_account_delete.py",
]


def _admin(state_file: Path, runtime_dir: Path, *args: str) -> str:
    env = {k: v for k, v in stack_environment().items() if not k.startswith("AWS_")}
    env.update(XDG_RUNTIME_DIR=str(runtime_dir), AWS_EC2_METADATA_DISABLED="true", HOME=str(runtime_dir))
    env.pop("GATEHOUSE_LOCAL_STACK_FILE", None)  # found where `make run` records itself
    result = run_python(["-m", "gatehouse.admin", *args], env)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("Target: the local stack of this checkout"), result.stderr
    return result.stdout


def test_the_suite_run_beside_a_running_dev_stack_passes_and_leaves_it_untouched(tmp_path: Path) -> None:
    runtime_dir = tmp_path / "run"
    runtime_dir.mkdir(mode=0o700)
    where_make_run_records = localstate.default_state_file({"XDG_RUNTIME_DIR": str(runtime_dir)})
    with live_stack({"XDG_RUNTIME_DIR": str(runtime_dir)}, state_file=where_make_run_records) as dev:
        assert where_make_run_records.exists()
        users_before = _admin(where_make_run_records, runtime_dir, "list-users", "--json")
        keys_before = _admin(where_make_run_records, runtime_dir, "list-keys", "--json")

        # In this process too: the test run's own state file hides the developer's stack.
        with pytest.raises(target.NoTarget):
            target.choose({"XDG_RUNTIME_DIR": str(runtime_dir)}, stack_name=None)

        env = {k: v for k, v in stack_environment().items() if k != "PYTEST_ADDOPTS"}
        env["XDG_RUNTIME_DIR"] = str(runtime_dir)
        suite = run_python(
            ["-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", "-x", *SUITES],
            env,
            timeout=600,
        )
        assert suite.returncode == 0, suite.stdout[-4000:] + suite.stderr[-2000:]

        assert _admin(where_make_run_records, runtime_dir, "list-users", "--json") == users_before
        assert _admin(where_make_run_records, runtime_dir, "list-keys", "--json") == keys_before
        assert {u["username"] for u in json.loads(users_before)} == {"demo", "admin"}
        assert dev.process.poll() is None
