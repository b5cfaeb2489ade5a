"""The local stack keeps its data across restarts and reloads, stops cleanly on SIGTERM, can face a phone.

Each stack runs as a developer starts it (a subprocess on a free port, over
real HTTP), with its saved data in a folder of the test's own.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import jwt
import pytest

from gatehouse.dev import snapshot
from tests.live_stack import CHALICE_READY_LINE, ROOT, USER_PASSWORD, LiveStack, free_port, live_stack

# Whole dev-stack processes started, stopped and restarted (10-70 s each): they run in
# `make test-devstack` (in CI beside `make test`), which keeps `make test` quick.
pytestmark = [pytest.mark.e2e, pytest.mark.devstack]

CHALICE = str(Path(sys.executable).parent / "chalice")


def _login(stack: LiveStack, username: str, password: str = USER_PASSWORD) -> tuple[int, Any]:
    body = {"grant_type": "password", "username": username, "password": password}
    status, _, answer = stack.call("POST", "/auth/token", body)
    return status, answer


def _me(stack: LiveStack, access_token: str) -> tuple[int, Any]:
    status, _, answer = stack.call("GET", "/me", headers={"Authorization": f"Bearer {access_token}"})
    return status, answer


def _wait_for_exit(stack: LiveStack, timeout: float = 20.0) -> int:
    return stack.process.wait(timeout=timeout)


def test_users_notes_and_sessions_survive_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with live_stack(data=data) as first:
        username, _ = first.new_user("kept")
        status, tokens = _login(first, username)
        assert status == 200, tokens
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert first.call("POST", "/notes", {"text": "still here"}, headers=bearer)[0] == 201
    assert (data / snapshot.FILE_NAME).stat().st_mode & 0o777 == 0o600

    with live_stack(data=data) as second:
        output = second.output()
        assert "Data of the last run loaded from" in output
        assert "Kept user 'demo' from the last run" in output
        # The same signing key: the token issued before the restart is still accepted.
        account_id = jwt.decode(tokens["access_token"], options={"verify_signature": False})["sub"]
        assert _me(second, tokens["access_token"]) == (
            200,
            {"username": username, "account_id": account_id, "roles": ["user"]},
        )
        status, _, notes = second.call("GET", "/notes", headers=bearer)
        assert status == 200, notes
        assert [n["text"] for n in notes] == ["still here"]
        status, refreshed = second.call(
            "POST", "/auth/token", {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        )[::2]
        assert status == 200, refreshed


def test_fresh_forgets_the_saved_data_and_seeds_again(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with live_stack(data=data) as first:
        username, _ = first.new_user("gone")
    with live_stack({"FRESH": "1"}, data=data) as fresh:
        assert "Data of the last run" not in fresh.output()
        assert "Seeded user 'demo', password:" in fresh.output()
        status, answer = _login(fresh, username)
        assert (status, answer["error"]) == (400, "invalid_grant")


def test_an_unreadable_snapshot_stops_the_start_with_one_line_saying_how_to_start_empty(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / snapshot.FILE_NAME).write_text("{not json", encoding="utf-8")
    with pytest.raises(RuntimeError) as failed, live_stack(data=data):
        pass
    said = str(failed.value)
    assert "is not a saved local stack; `make run FRESH=1` starts empty." in said
    assert "Traceback" not in said


def _port_pair() -> int:
    """A free port whose next one is free too (the embedded AWS's default)."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise AssertionError("no two free ports in a row")


def test_make_run_stops_cleanly_on_sigterm_to_its_process_group_which_make_forwards_twice(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    with live_stack(
        {"AWS_PORT": ""}, command=["make", "--no-print-directory", "run"], data=data, port_in_environment=True
    ) as stack:
        api_port = int(stack.base_url.rsplit(":", 1)[1])
        # The embedded AWS's stable address: the API's port plus one, printed.
        assert f"Embedded AWS (moto) on http://127.0.0.1:{api_port + 1}\n" in stack.lines
        assert stack.state_file.exists()
        stack.new_user("sigterm")
        os.killpg(stack.process.pid, signal.SIGTERM)  # what `kill -- -PGID` and process managers do
        assert _wait_for_exit(stack) in (0, -signal.SIGTERM, 128 + signal.SIGTERM)
        time.sleep(0.2)  # the output pump reads the last lines
        output = stack.output()
    assert "Traceback" not in output, output
    assert "Error" not in output, output
    assert not stack.state_file.exists(), "a stale state file was left for the admin CLI"
    saved = json.loads((data / snapshot.FILE_NAME).read_text(encoding="utf-8"))
    assert any(item["username"]["S"].startswith("sigterm-") for item in saved["tables"]["gatehouse-users"])


def test_host_beyond_loopback_warns_in_one_line_and_answers_on_the_network_address() -> None:
    with live_stack({"HOST": "0.0.0.0"}) as stack:  # noqa: S104 (what the test is about)
        output = stack.output()
        warnings = [line for line in output.splitlines() if line.startswith("warning:")]
        assert warnings == [
            "warning: listening on 0.0.0.0, not loopback: anyone on this network can reach "
            "the dev stack and its seeded passwords."
        ]
        ready = next(line for line in output.splitlines() if line.startswith("Gatehouse ready on http://"))
        address = ready.removeprefix("Gatehouse ready on http://").rsplit(":", 1)[0]
        assert address != "127.0.0.1"
        status, _, _ = stack.call("GET", "/.well-known/jwks.json")
        assert status == 200


def test_the_default_listens_on_loopback_only_without_a_warning() -> None:
    with live_stack() as stack:
        assert "warning:" not in stack.output()
        assert f"Gatehouse ready on {stack.base_url}\n" in stack.lines


def test_chalice_local_keeps_its_data_across_an_auto_reload(tmp_path: Path) -> None:
    # A copy of the project, so that the file change that triggers the reload
    # never restarts another test's `chalice local` in this checkout.
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "app.py", project / "app.py")
    shutil.copytree(ROOT / "chalicelib", project / "chalicelib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(
        ROOT / ".chalice", project / ".chalice", ignore=shutil.ignore_patterns("deployments", "venv")
    )
    command = [CHALICE, "--project-dir", str(project), "local"]
    with live_stack(command=command, ready_line=CHALICE_READY_LINE, data=tmp_path / "data") as stack:
        username, _ = stack.new_user("reload")
        status, tokens = _login(stack, username)
        assert status == 200, tokens
        started = stack.output().count("Embedded AWS (moto) on")
        (project / "app.py").write_text((project / "app.py").read_text() + "\n# a save\n")
        deadline = time.monotonic() + 30
        while stack.output().count(CHALICE_READY_LINE) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert stack.output().count("Embedded AWS (moto) on") == started + 1, stack.output()
        assert "Data of the last run loaded from" in stack.output()
        assert _me(stack, tokens["access_token"])[0] == 200
        assert _login(stack, username)[0] == 200
