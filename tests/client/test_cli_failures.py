"""Every expected failure of the command line: one line saying what to do, a non-zero exit, no traceback.

No server, a host that does not exist, a server that never answers or does
not speak HTTP, an error answer, a lockout, a missing or damaged token file,
an ended session, bad arguments, a missing password.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.client.cli_runner import assert_one_line_failure, run_cli, save_session
from tests.client.scripted_api import INVALID_TOKEN, Answer, ScriptedApi, closed_port, error

PASSWORD = "Quartz-Lantern-74-river"
WITH_PASSWORD = {"GATEHOUSE_PASSWORD": PASSWORD}


@contextmanager
def raw_listener(reply: bytes | None) -> Iterator[str]:
    """A TCP server on 127.0.0.1: with ``None`` it never answers; else it sends ``reply`` and closes."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            if reply is None:
                held.append(connection)  # keep it open, say nothing
            else:
                connection.recv(65536)
                connection.sendall(reply)
                connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in held:
            connection.close()
        server.close()


# -- the server cannot be reached -------------------------------------------------------------


def test_login_with_nothing_listening_says_to_start_the_api_or_pass_its_url(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"

    line = assert_one_line_failure(
        run_cli(tmp_path / "t.json", "login", url, "-u", "alice", env=WITH_PASSWORD)
    )

    assert "nothing is listening" in line
    assert "make run" in line
    assert "pass the URL" in line
    assert not (tmp_path / "t.json").exists()


@pytest.mark.parametrize(
    "args",
    [("get", "/notes"), ("post", "/notes", '{"text": "x"}'), ("logout",), ("change-email", "a@example.com")],
    ids=["get", "post", "logout", "change-email"],
)
def test_session_commands_with_nothing_listening_say_to_start_the_api(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    save_session(tmp_path / "t.json", f"http://127.0.0.1:{closed_port()}")

    line = assert_one_line_failure(run_cli(tmp_path / "t.json", *args, env=WITH_PASSWORD))

    assert "nothing is listening" in line
    assert "make run" in line


@pytest.mark.parametrize(
    "args",
    [
        ("register", "-u", "alice"),
        ("verify-email", "-u", "alice"),
        ("forgot-password", "-u", "alice"),
        ("reset-password", "-u", "alice"),
    ],
    ids=lambda args: args[0],
)
def test_account_commands_with_nothing_listening_say_to_start_the_api(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    env = {**WITH_PASSWORD, "GATEHOUSE_CODE": "K7QX9M", "GATEHOUSE_NEW_PASSWORD": PASSWORD}

    line = assert_one_line_failure(run_cli(tmp_path / "t.json", args[0], url, *args[1:], env=env))

    assert "nothing is listening" in line


def test_a_host_that_does_not_exist_says_to_check_the_name(tmp_path: Path) -> None:
    url = "http://gatehouse-client-test.invalid:8000"  # .invalid never resolves (RFC 6761)

    line = assert_one_line_failure(run_cli(tmp_path / "t.json", "forgot-password", url, "-u", "alice"))

    assert "not found" in line
    assert "host name" in line


def test_a_server_that_never_answers_times_out_in_one_line(tmp_path: Path) -> None:
    with raw_listener(None) as url:
        save_session(tmp_path / "t.json", url)
        line = assert_one_line_failure(run_cli(tmp_path / "t.json", "--timeout", "0.5", "get", "/me"))

    assert "did not answer within 0.5 s" in line


def test_a_server_that_does_not_speak_http_says_to_check_the_port(tmp_path: Path) -> None:
    with raw_listener(b"SSH-2.0-OpenSSH_9.6\r\n") as url:
        line = assert_one_line_failure(
            run_cli(tmp_path / "t.json", "login", url, "-u", "alice", env=WITH_PASSWORD)
        )

    assert "did not answer as an HTTP server does" in line
    assert "port" in line


# -- the server says no -----------------------------------------------------------------------


def test_an_error_answer_shows_its_status_code_and_message(api: ScriptedApi, tmp_path: Path) -> None:
    api.answer("POST", "/auth/email/verify", error(400, "invalid_code", "The code is wrong or has expired."))

    result = run_cli(
        tmp_path / "t.json", "verify-email", api.base_url, "-u", "alice", env={"GATEHOUSE_CODE": "K7QX9M"}
    )

    line = assert_one_line_failure(result)
    assert line == "Error 400 invalid_code: The code is wrong or has expired."
    assert "K7QX9M" not in line


def test_a_lockout_says_how_long_to_wait(api: ScriptedApi, tmp_path: Path) -> None:
    api.answer(
        "POST",
        "/auth/token",
        Answer(
            429,
            {"error": "too_many_attempts", "error_description": "Too many failed attempts. Try again later."},
            {"Retry-After": "30"},
        ),
    )

    line = assert_one_line_failure(
        run_cli(tmp_path / "t.json", "login", api.base_url, "-u", "alice", env=WITH_PASSWORD)
    )

    assert line.startswith("Login failed 429 too_many_attempts: Too many failed attempts.")
    assert line.endswith("(wait 30 s)")


def test_a_server_message_with_line_breaks_is_still_one_line(api: ScriptedApi, tmp_path: Path) -> None:
    api.answer("GET", "/notes", error(400, "bad", "first\nsecond\r\n\x1b[31mthird"))
    save_session(tmp_path / "t.json", api.base_url)

    line = assert_one_line_failure(run_cli(tmp_path / "t.json", "get", "/notes"))

    assert line == "Error 400 bad: first second [31mthird"


def test_a_session_ended_elsewhere_says_to_log_in_again(api: ScriptedApi, tmp_path: Path) -> None:
    api.answer("GET", "/notes", INVALID_TOKEN)
    api.answer("POST", "/auth/token", error(400, "invalid_grant", "The refresh token is not valid."))
    store = save_session(tmp_path / "t.json", api.base_url)

    line = assert_one_line_failure(run_cli(tmp_path / "t.json", "get", "/notes"), status=3)

    assert line == "The session has ended: log in again."
    assert store.load() is None


# -- the token file -----------------------------------------------------------------------------


def test_no_token_file_says_to_log_in(tmp_path: Path) -> None:
    line = assert_one_line_failure(run_cli(tmp_path / "missing.json", "delete-account"), status=3)

    assert "Not logged in" in line
    assert "login URL" in line


def test_a_token_file_with_only_device_tokens_is_not_a_session(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"device_tokens": {"http://127.0.0.1:8000": {"alice": "dt"}}}))
    path.chmod(0o600)

    line = assert_one_line_failure(run_cli(path, "get", "/notes"), status=3)

    assert "Not logged in" in line


@pytest.mark.parametrize(
    ("content", "mode", "said"),
    [
        ("{not json", 0o600, "not a Gatehouse token file"),
        ('["a", "list"]', 0o600, "not a Gatehouse token file"),
        ('{"base_url": "http://127.0.0.1:8000"}', 0o600, "not a Gatehouse token file"),
        (
            '{"base_url": "http://x", "access_token": "a", "refresh_token": "r", "expires_at": 1}',
            0o644,
            "chmod",
        ),
    ],
    ids=["not json", "not an object", "half a session", "readable by others"],
)
def test_a_damaged_token_file_says_to_log_in_again(
    tmp_path: Path, content: str, mode: int, said: str
) -> None:
    path = tmp_path / "t.json"
    path.write_text(content)
    path.chmod(mode)

    line = assert_one_line_failure(run_cli(path, "get", "/notes"))

    assert said in line
    assert "log in again" in line


def test_login_replaces_a_damaged_token_file(api: ScriptedApi, tmp_path: Path) -> None:
    api.answer(
        "POST",
        "/auth/token",
        Answer(200, {"access_token": "at-1", "expires_in": 900, "refresh_token": "rt-1"}),
    )
    path = tmp_path / "t.json"
    path.write_text("{not json")
    path.chmod(0o600)

    result = run_cli(path, "login", api.base_url, "-u", "alice", env=WITH_PASSWORD)

    assert result.returncode == 0, result.stderr
    assert json.loads(path.read_text())["access_token"] == "at-1"


# -- the command line itself ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("fetch", "/notes"),
        ("login",),
        ("login", "127.0.0.1:8000", "-u", "alice"),
        ("forgot-password", "http://127.0.0.1:8000", "-u", "alice", "--email", "alice@example.com"),
        ("forgot-password", "http://127.0.0.1:8000"),
        ("--timeout", "soon", "get", "/notes"),
        ("--timeout", "-1", "get", "/notes"),
    ],
    ids=[
        "no command",
        "unknown command",
        "no url",
        "url without scheme",
        "name and email",
        "neither",
        "timeout not a number",
        "negative timeout",
    ],
)
def test_bad_arguments_get_one_line_and_exit_2(tmp_path: Path, args: tuple[str, ...]) -> None:
    line = assert_one_line_failure(run_cli(tmp_path / "t.json", *args, env=WITH_PASSWORD), status=2)

    assert "--help" in line or "http(s) URL" in line


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("post", "/notes", "{not json"), "must be JSON"),
        (("get", "https://elsewhere.example/notes"), "only sent to"),
    ],
    ids=["body not json", "url of another server"],
)
def test_bad_input_to_session_commands_gets_one_line(
    api: ScriptedApi, tmp_path: Path, args: tuple[str, ...], said: str
) -> None:
    save_session(tmp_path / "t.json", api.base_url)

    line = assert_one_line_failure(run_cli(tmp_path / "t.json", *args), status=2)

    assert said in line
    assert api.seen == []


@pytest.mark.parametrize(
    "args",
    [("login", "-u", "alice"), ("register", "-u", "alice"), ("verify-email", "-u", "alice"), ("login",)],
    ids=["password", "new password", "code", "username"],
)
def test_a_missing_secret_or_name_says_where_to_give_it(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = run_cli(tmp_path / "t.json", args[0], "http://127.0.0.1:8000", *args[1:], stdin="")

    line = assert_one_line_failure(result, status=2)
    assert line.startswith("No ")
    assert "$GATEHOUSE_" in line
