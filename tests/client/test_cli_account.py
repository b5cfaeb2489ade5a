"""The command line's account commands and device token, against a scripted local server.

Secrets (passwords, mailed codes) come from the environment or stdin, never
from arguments, and never appear in what the command prints.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.client.cli_runner import run_cli, save_session
from tests.client.scripted_api import Answer, ScriptedApi, error, grant

PASSWORD = "Quartz-Lantern-74-river"
NEW_PASSWORD = "tulip-Marble-9-sunset"
CODE = "K7QX9M"


def test_register_with_an_email_takes_the_password_from_the_environment(
    api: ScriptedApi, tmp_path: Path
) -> None:
    api.answer("POST", "/auth/register", Answer(201, {"username": "alice"}))

    result = run_cli(
        tmp_path / "tokens.json",
        *("register", api.base_url, "-u", "alice", "--email", "alice@example.com"),
        env={"GATEHOUSE_PASSWORD": PASSWORD},
    )

    assert result.returncode == 0, result.stderr
    assert api.seen[0].json() == {"username": "alice", "password": PASSWORD, "email": "alice@example.com"}
    assert "verify-email" in result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert not (tmp_path / "tokens.json").exists(), "registering does not log in"


def test_register_reads_a_piped_password(api: ScriptedApi, tmp_path: Path) -> None:
    api.answer("POST", "/auth/register", Answer(201, {"username": "alice"}))

    result = run_cli(tmp_path / "t.json", "register", api.base_url, "-u", "alice", stdin=PASSWORD + "\n")

    assert result.returncode == 0, result.stderr
    assert api.seen[0].json() == {"username": "alice", "password": PASSWORD}


def test_verify_email_takes_the_code_from_the_environment_or_stdin(api: ScriptedApi, tmp_path: Path) -> None:
    api.answer("POST", "/auth/email/verify", Answer(204), Answer(204))

    from_env = run_cli(
        tmp_path / "t.json", "verify-email", api.base_url, "-u", "alice", env={"GATEHOUSE_CODE": CODE}
    )
    piped = run_cli(tmp_path / "t.json", "verify-email", api.base_url, "-u", "alice", stdin=CODE + "\n")

    assert (from_env.returncode, piped.returncode) == (0, 0), from_env.stderr + piped.stderr
    assert [s.json() for s in api.seen] == [{"username": "alice", "code": CODE}] * 2
    assert CODE not in from_env.stderr + piped.stderr


def test_forgot_password_by_name_and_by_email(api: ScriptedApi, tmp_path: Path) -> None:
    api.answer("POST", "/auth/password/forgot", Answer(202, {}), Answer(202, {}))

    by_name = run_cli(tmp_path / "t.json", "forgot-password", api.base_url, "-u", "alice")
    by_email = run_cli(tmp_path / "t.json", "forgot-password", api.base_url, "--email", "alice@example.com")

    assert (by_name.returncode, by_email.returncode) == (0, 0), by_name.stderr + by_email.stderr
    assert [s.json() for s in api.seen] == [{"username": "alice"}, {"email": "alice@example.com"}]
    assert "reset-password" in by_name.stderr


def test_reset_password_reads_the_code_and_the_new_password_from_stdin(
    api: ScriptedApi, tmp_path: Path
) -> None:
    api.answer("POST", "/auth/password/reset", Answer(204))

    result = run_cli(
        tmp_path / "t.json", "reset-password", api.base_url, "-u", "alice", stdin=f"{CODE}\n{NEW_PASSWORD}\n"
    )

    assert result.returncode == 0, result.stderr
    assert api.seen[0].json() == {"username": "alice", "code": CODE, "new_password": NEW_PASSWORD}
    assert NEW_PASSWORD not in result.stderr


def test_change_email_uses_the_saved_session(api: ScriptedApi, tmp_path: Path) -> None:
    api.answer("POST", "/auth/email", Answer(204))
    save_session(tmp_path / "t.json", api.base_url)

    result = run_cli(
        tmp_path / "t.json", "change-email", "alice@example.org", env={"GATEHOUSE_PASSWORD": PASSWORD}
    )

    assert result.returncode == 0, result.stderr
    [sent] = api.seen
    assert sent.headers["authorization"] == "Bearer at-0"
    assert sent.json() == {"current_password": PASSWORD, "email": "alice@example.org"}


def test_delete_account_leaves_no_session_and_no_device_token_of_that_user(
    api: ScriptedApi, tmp_path: Path
) -> None:
    api.answer("POST", "/auth/account/delete", Answer(204))
    store = save_session(tmp_path / "t.json", api.base_url, "alice")
    store.save_device_token(api.base_url, "alice", "dt-alice")
    store.save_device_token(api.base_url, "bob", "dt-bob")

    result = run_cli(tmp_path / "t.json", "delete-account", env={"GATEHOUSE_PASSWORD": PASSWORD})

    assert result.returncode == 0, result.stderr
    assert api.seen[0].json() == {"current_password": PASSWORD}
    assert store.load() is None
    assert store.device_tokens(api.base_url) == {"bob": "dt-bob"}


def test_a_refused_deletion_keeps_the_session(api: ScriptedApi, tmp_path: Path) -> None:
    api.answer("POST", "/auth/account/delete", error(409, "last_admin", "The last active admin cannot go."))
    store = save_session(tmp_path / "t.json", api.base_url)

    result = run_cli(tmp_path / "t.json", "delete-account", env={"GATEHOUSE_PASSWORD": PASSWORD})

    assert result.returncode == 1
    assert "409 last_admin" in result.stderr
    assert store.load() is not None


# -- the device token through the command line ------------------------------------------------


def test_login_logout_login_sends_the_device_token_kept_in_the_file(api: ScriptedApi, tmp_path: Path) -> None:
    api.answer("POST", "/auth/token", grant(1, device_token="dt-1"), grant(2, device_token="dt-2"))
    api.answer("POST", "/auth/revoke", Answer(200, {}))
    token_file = tmp_path / "t.json"
    env = {"GATEHOUSE_PASSWORD": PASSWORD}

    assert run_cli(token_file, "login", api.base_url, "-u", "alice", env=env).returncode == 0
    assert run_cli(token_file, "logout").returncode == 0
    kept = json.loads(token_file.read_text())
    assert kept == {"device_tokens": {api.base_url: {"alice": "dt-1"}}}, "logout kept only the device token"
    again = run_cli(token_file, "login", api.base_url + "/", "-u", "Alice", env=env)

    assert again.returncode == 0, again.stderr
    first, _, second = (s.form() for s in api.seen)
    assert "device_token" not in first
    assert second["device_token"] == "dt-1"
    assert json.loads(token_file.read_text())["device_tokens"] == {api.base_url: {"alice": "dt-2"}}


def test_the_device_token_of_one_server_is_not_sent_to_another(api: ScriptedApi, tmp_path: Path) -> None:
    api.answer("POST", "/auth/token", grant(1, device_token="dt-here"))
    token_file = tmp_path / "t.json"
    save_session(token_file, "http://127.0.0.1:9", "alice").save_device_token(
        "http://127.0.0.1:9", "alice", "dt-elsewhere"
    )

    result = run_cli(token_file, "login", api.base_url, "-u", "alice", env={"GATEHOUSE_PASSWORD": PASSWORD})

    assert result.returncode == 0, result.stderr
    assert "device_token" not in api.seen[0].form()
    assert json.loads(token_file.read_text())["device_tokens"] == {
        "http://127.0.0.1:9": {"alice": "dt-elsewhere"},
        api.base_url: {"alice": "dt-here"},
    }
