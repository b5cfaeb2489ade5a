"""The Python client (client/gatehouse_client) and its command line, against the stack ``make run`` starts."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gatehouse_client import GatehouseClient, GatehouseError, TokenFile, Tokens
from gatehouse_client.tokenfile import TokenFileError

from tests.live_stack import ROOT, LiveStack, live_stack

e2e = pytest.mark.e2e
GARBAGE = "not.a.valid-token"


@pytest.fixture(scope="module")
def stack() -> Iterator[LiveStack]:
    # No session cache: a session ended elsewhere is refused at once.
    with live_stack({"GATEHOUSE_SESSION_CACHE_SECONDS": "0"}) as running:
        yield running


class Recorder:
    """on_tokens hook that remembers every call."""

    def __init__(self) -> None:
        self.calls: list[Tokens | None] = []

    def __call__(self, tokens: Tokens | None) -> None:
        self.calls.append(tokens)


def logged_in(stack: LiveStack, device: str = "pytest") -> tuple[GatehouseClient, Recorder, str]:
    username, password = stack.new_user()
    recorder = Recorder()
    client = GatehouseClient(stack.base_url, on_tokens=recorder, use_env_proxies=False)
    client.login(username, password, device=device)
    return client, recorder, username


def with_tokens(stack: LiveStack, tokens: Tokens, **kwargs: Any) -> GatehouseClient:
    return GatehouseClient(stack.base_url, tokens=tokens, use_env_proxies=False, **kwargs)


# -- the library ---------------------------------------------------------------------


@e2e
def test_login_then_notes_round_trip(stack: LiveStack) -> None:
    client, recorder, username = logged_in(stack)
    assert client.logged_in
    assert recorder.calls == [client.tokens]

    me = client.get("/me").json()
    assert len(me.pop("account_id")) == 32
    assert me == {"username": username, "roles": ["user"]}
    created = client.post("/notes", json={"text": "from python"})
    assert created.status == 201, created.body
    note_id = created.json()["id"]
    assert client.put(f"/notes/{note_id}", json={"text": "edited"}).json()["text"] == "edited"
    assert [n["text"] for n in client.get("/notes").json()] == ["edited"]
    assert client.delete(f"/notes/{note_id}").status == 204
    assert client.get("/notes").json() == []


@e2e
def test_wrong_password_raises_invalid_grant_with_the_servers_description(stack: LiveStack) -> None:
    username, _ = stack.new_user()
    client = GatehouseClient(stack.base_url, use_env_proxies=False)
    with pytest.raises(GatehouseError) as raised:
        client.login(username, "Not-the-1-password")
    assert (raised.value.status, raised.value.code) == (400, "invalid_grant")
    assert raised.value.message == "The username or password is wrong."
    assert not client.logged_in


@e2e
def test_a_refused_access_token_is_refreshed_once_and_the_request_retried(stack: LiveStack) -> None:
    first, _, _ = logged_in(stack)
    assert first.tokens is not None
    recorder = Recorder()
    client = with_tokens(
        stack, Tokens(GARBAGE, first.tokens.refresh_token, time.time() + 600), on_tokens=recorder
    )

    reply = client.get("/notes")

    assert reply.status == 200, reply.body
    [fresh] = recorder.calls
    assert fresh is not None
    assert fresh.access_token != GARBAGE
    assert fresh.refresh_token != first.tokens.refresh_token  # rotated


@e2e
def test_an_access_token_expired_by_the_clock_is_refreshed_before_sending(stack: LiveStack) -> None:
    first, _, _ = logged_in(stack)
    assert first.tokens is not None
    recorder = Recorder()
    expired = Tokens(first.tokens.access_token, first.tokens.refresh_token, time.time() - 1)
    client = with_tokens(stack, expired, on_tokens=recorder)

    assert client.get("/notes").status == 200
    assert len(recorder.calls) == 1


@e2e
def test_parallel_requests_share_one_refresh_and_the_session_survives(stack: LiveStack) -> None:
    first, _, _ = logged_in(stack)
    assert first.tokens is not None
    recorder = Recorder()
    client = with_tokens(
        stack, Tokens(GARBAGE, first.tokens.refresh_token, time.time() + 600), on_tokens=recorder
    )
    statuses: list[int] = []
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        statuses.append(client.get("/notes").status)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert statuses == [200] * 8
    assert len(recorder.calls) == 1, "one refresh for all eight"
    # No reuse detection fired: the session is alive and can refresh again.
    assert client.refresh() is not None
    assert client.get("/auth/sessions").status == 200


@e2e
def test_a_session_ended_elsewhere_logs_the_client_out(stack: LiveStack) -> None:
    username, password = stack.new_user()
    recorder = Recorder()
    laptop = GatehouseClient(stack.base_url, on_tokens=recorder, use_env_proxies=False)
    laptop.login(username, password, device="laptop")
    phone = GatehouseClient(stack.base_url, use_env_proxies=False)
    phone.login(username, password, device="phone")

    sessions = phone.get("/auth/sessions").json()
    [laptop_session] = [s for s in sessions if s["device"] == "laptop"]
    assert phone.delete(f"/auth/sessions/{laptop_session['id']}").status == 204

    reply = laptop.get("/notes")
    assert reply.status == 401
    assert not laptop.logged_in
    assert recorder.calls[-1] is None
    assert phone.get("/notes").status == 200


@e2e
def test_logout_revokes_the_refresh_token(stack: LiveStack) -> None:
    client, recorder, _ = logged_in(stack)
    assert client.tokens is not None
    old = client.tokens

    client.logout()

    assert not client.logged_in
    assert recorder.calls[-1] is None
    stale = with_tokens(stack, Tokens(GARBAGE, old.refresh_token, time.time() + 600))
    assert stale.refresh() is None
    assert stale.get("/notes").status == 401


@e2e
def test_logout_everywhere_ends_the_other_sessions_too(stack: LiveStack) -> None:
    username, password = stack.new_user()
    one = GatehouseClient(stack.base_url, use_env_proxies=False)
    one.login(username, password)
    two = GatehouseClient(stack.base_url, use_env_proxies=False)
    two.login(username, password)

    one.logout_everywhere()

    assert not one.logged_in
    assert two.get("/notes").status == 401
    assert not two.logged_in


def test_the_token_is_never_sent_to_another_server() -> None:
    client = GatehouseClient("http://127.0.0.1:9/api", tokens=Tokens("secret", "secret", time.time() + 60))
    for url in ("https://evil.example/steal", "//evil.example/x", "http://127.0.0.1:9/apiary"):
        with pytest.raises(ValueError, match="only sent to"):
            client.get(url)


def test_base_url_must_be_http_or_https() -> None:
    for url in ("file:///etc/passwd", "ftp://example.com", "127.0.0.1:8000"):
        with pytest.raises(ValueError, match="http"):
            GatehouseClient(url)


def test_an_unreachable_server_is_a_network_error() -> None:
    from tests.live_stack import free_port

    client = GatehouseClient(f"http://127.0.0.1:{free_port()}", use_env_proxies=False, timeout=2)
    with pytest.raises(GatehouseError) as raised:
        client.login("demo", "whatever-password")
    assert (raised.value.status, raised.value.code) == (0, "network_error")


# -- the token file ------------------------------------------------------------------


def test_token_file_location_follows_the_environment(tmp_path: Path) -> None:
    assert TokenFile.default({"GATEHOUSE_TOKEN_FILE": str(tmp_path / "t.json")}).path == tmp_path / "t.json"
    assert (
        TokenFile.default({"XDG_CONFIG_HOME": str(tmp_path)}).path == tmp_path / "gatehouse" / "tokens.json"
    )
    assert TokenFile.default({}).path == Path.home() / ".config" / "gatehouse" / "tokens.json"


def test_token_file_is_private_and_round_trips(tmp_path: Path) -> None:
    store = TokenFile(tmp_path / "config" / "gatehouse" / "tokens.json")
    tokens = Tokens("access", "refresh", 1234.5)

    store.save("http://127.0.0.1:8000", tokens)

    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    saved = store.load()
    assert saved is not None
    assert (saved.base_url, saved.tokens) == ("http://127.0.0.1:8000", tokens)
    assert [p.name for p in store.path.parent.iterdir()] == ["tokens.json"]  # no temporary left
    store.delete()
    assert store.load() is None


def test_token_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    store = TokenFile(tmp_path / "tokens.json")
    store.save("http://127.0.0.1:8000", Tokens("a", "r", 1.0))
    store.path.chmod(0o644)
    with pytest.raises(TokenFileError, match="chmod 600"):
        store.load()


def test_token_file_that_is_not_ours_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text('{"something": "else"}')
    path.chmod(0o600)
    with pytest.raises(TokenFileError, match="not a Gatehouse token file"):
        TokenFile(path).load()


# -- the command line ----------------------------------------------------------------


def cli(
    token_file: Path, *args: str, password: str | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("GATEHOUSE_") and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")
    }
    env["PYTHONPATH"] = str(ROOT / "client")
    env["GATEHOUSE_TOKEN_FILE"] = str(token_file)
    if password is not None:
        env["GATEHOUSE_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, "-m", "gatehouse_client", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@e2e
def test_cli_login_notes_and_logout(stack: LiveStack, tmp_path: Path) -> None:
    username, password = stack.new_user()
    token_file = tmp_path / "gatehouse" / "tokens.json"

    login = cli(token_file, "login", stack.base_url, "-u", username, password=password)
    assert login.returncode == 0, login.stderr
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert password not in token_file.read_text()
    assert password not in login.stdout + login.stderr

    created = cli(token_file, "post", "/notes", '{"text": "from the shell"}')
    assert created.returncode == 0, created.stderr
    note = json.loads(created.stdout)
    assert note["text"] == "from the shell"

    piped = cli(token_file, "post", "/notes", stdin='{"text": "from stdin"}')
    assert piped.returncode == 0, piped.stderr

    listed = cli(token_file, "get", "/notes")
    assert [n["text"] for n in json.loads(listed.stdout)] == ["from the shell", "from stdin"]

    assert cli(token_file, "delete", f"/notes/{note['id']}").returncode == 0
    missing = cli(token_file, "get", f"/notes/{note['id']}")
    assert missing.returncode == 1
    assert "404 not_found" in missing.stderr

    refresh_token = json.loads(token_file.read_text())["refresh_token"]
    assert cli(token_file, "logout").returncode == 0
    # Only the device token may stay: it belongs to this machine, not to the session.
    assert TokenFile(token_file).load() is None
    assert refresh_token not in (token_file.read_text() if token_file.exists() else "")
    stale = with_tokens(stack, Tokens(GARBAGE, refresh_token, time.time() + 600))
    assert stale.refresh() is None, "logout revoked the session on the server"

    after = cli(token_file, "get", "/notes")
    assert after.returncode == 3
    assert "Not logged in" in after.stderr


@e2e
def test_cli_refreshes_transparently_and_saves_the_rotated_tokens(stack: LiveStack, tmp_path: Path) -> None:
    username, password = stack.new_user()
    token_file = tmp_path / "tokens.json"
    assert cli(token_file, "login", stack.base_url, "-u", username, password=password).returncode == 0
    before = json.loads(token_file.read_text())
    token_file.write_text(json.dumps({**before, "access_token": GARBAGE}))

    reply = cli(token_file, "get", "/me")

    assert reply.returncode == 0, reply.stderr
    assert json.loads(reply.stdout)["username"] == username
    after = json.loads(token_file.read_text())
    assert after["access_token"] != GARBAGE
    assert after["refresh_token"] != before["refresh_token"]
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600


@e2e
def test_cli_wrong_password_fails_without_a_token_file(stack: LiveStack, tmp_path: Path) -> None:
    username, _ = stack.new_user()
    token_file = tmp_path / "tokens.json"

    result = cli(token_file, "login", stack.base_url, "-u", username, password="Not-the-1-password")

    assert result.returncode == 1
    assert "The username or password is wrong." in result.stderr
    assert not token_file.exists()


@e2e
def test_cli_reports_a_session_ended_elsewhere(stack: LiveStack, tmp_path: Path) -> None:
    username, password = stack.new_user()
    token_file = tmp_path / "tokens.json"
    assert cli(token_file, "login", stack.base_url, "-u", username, password=password).returncode == 0
    other = GatehouseClient(stack.base_url, use_env_proxies=False)
    other.login(username, password)
    other.logout_everywhere()

    result = cli(token_file, "get", "/notes")

    assert result.returncode == 3
    assert "log in again" in result.stderr
    assert TokenFile(token_file).load() is None
