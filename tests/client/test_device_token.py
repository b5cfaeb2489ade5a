"""The device token: kept from every password grant, sent with the next one, outliving the session.

It is what lets this device keep logging in while someone else hammers the
same name with wrong passwords, so losing it (on logout, on a refresh, on a
token file rewrite) or sending it to the wrong user or server would defeat it.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from gatehouse_client import GatehouseClient, TokenFile, Tokens
from gatehouse_client.tokenfile import TokenFileError

from tests.client.scripted_api import INVALID_TOKEN, Answer, ScriptedApi, error, grant

PASSWORD = "Quartz-Lantern-74-river"
URL = "http://127.0.0.1:8000"


def client_for(api: ScriptedApi, **kwargs: Any) -> GatehouseClient:
    return GatehouseClient(api.base_url, use_env_proxies=False, timeout=5, **kwargs)


def password_grants(api: ScriptedApi) -> list[dict[str, str]]:
    return [
        form for s in api.requests_to("POST", "/auth/token") if (form := s.form())["grant_type"] == "password"
    ]


# -- the client --------------------------------------------------------------------------


def test_the_first_login_sends_none_and_keeps_the_one_the_answer_brings(api: ScriptedApi) -> None:
    api.answer("POST", "/auth/token", grant(1, device_token="dt-1"))
    kept: list[tuple[str, str | None]] = []
    client = client_for(api, on_device_token=lambda key, token: kept.append((key, token)))

    client.login("alice", PASSWORD, device="laptop")

    assert password_grants(api) == [
        {"grant_type": "password", "username": "alice", "password": PASSWORD, "device": "laptop"}
    ]
    assert client.device_tokens == {"alice": "dt-1"}
    assert kept == [("alice", "dt-1")]


def test_the_next_login_sends_it_and_keeps_a_rotated_one(api: ScriptedApi) -> None:
    api.answer("POST", "/auth/token", grant(1, device_token="dt-1"), grant(2, device_token="dt-2"))
    client = client_for(api)

    client.login("alice", PASSWORD)
    client.login("alice", PASSWORD)

    assert [form.get("device_token") for form in password_grants(api)] == [None, "dt-1"]
    assert client.device_tokens == {"alice": "dt-2"}


def test_it_is_sent_only_for_its_own_user_whatever_case_or_spaces_are_typed(api: ScriptedApi) -> None:
    api.answer("POST", "/auth/token", grant(1, device_token="dt-bob"), grant(2, device_token="dt-alice2"))
    client = client_for(api, device_tokens={"alice": "dt-alice"})

    client.login("bob", PASSWORD)
    client.login(" Alice", PASSWORD)

    assert [form.get("device_token") for form in password_grants(api)] == [None, "dt-alice"]
    assert client.device_tokens == {"alice": "dt-alice2", "bob": "dt-bob"}


def test_logout_keeps_it_and_the_login_after_sends_it(api: ScriptedApi) -> None:
    api.answer("POST", "/auth/token", grant(1, device_token="dt-1"), grant(2, device_token="dt-1"))
    api.answer("POST", "/auth/revoke", Answer(200, {}))
    client = client_for(api)
    client.login("alice", PASSWORD)

    client.logout()

    assert not client.logged_in
    assert client.device_tokens == {"alice": "dt-1"}
    client.login("alice", PASSWORD)
    assert password_grants(api)[-1]["device_token"] == "dt-1"


def test_a_refused_login_keeps_it(api: ScriptedApi) -> None:
    api.answer("POST", "/auth/token", error(400, "invalid_grant", "The username or password is wrong."))
    client = client_for(api, device_tokens={"alice": "dt-1"})

    with pytest.raises(Exception, match="wrong"):
        client.login("alice", "not-it")

    assert password_grants(api)[0]["device_token"] == "dt-1"
    assert client.device_tokens == {"alice": "dt-1"}


def test_a_server_without_device_tokens_leaves_the_kept_one_alone(api: ScriptedApi) -> None:
    api.answer("POST", "/auth/token", grant(1))
    kept: list[tuple[str, str | None]] = []
    client = client_for(
        api, device_tokens={"alice": "dt-1"}, on_device_token=lambda k, t: kept.append((k, t))
    )

    client.login("alice", PASSWORD)

    assert client.device_tokens == {"alice": "dt-1"}
    assert kept == []


def test_a_refresh_keeps_who_logged_in(api: ScriptedApi) -> None:
    api.answer("POST", "/auth/token", grant(1, device_token="dt-1"), grant(2))
    api.answer("GET", "/me", INVALID_TOKEN, Answer(200, {"username": "alice", "roles": ["user"]}))
    client = client_for(api)
    client.login("alice", PASSWORD)

    assert client.get("/me").ok

    assert client.tokens is not None
    assert (client.tokens.access_token, client.tokens.username) == ("at-2", "alice")


# -- the token file ---------------------------------------------------------------------------


def test_token_file_keeps_device_tokens_per_server_and_user_across_sessions(tmp_path: Path) -> None:
    store = TokenFile(tmp_path / "gatehouse" / "tokens.json")
    store.save_device_token(URL, "alice", "dt-a")
    store.save(URL, Tokens("at", "rt", 1234.5, "alice"))
    store.save_device_token(URL, "bob", "dt-b")
    store.save_device_token("https://api.example.com", "alice", "dt-elsewhere")

    saved = store.load()
    assert saved is not None
    assert saved.tokens == Tokens("at", "rt", 1234.5, "alice")
    assert store.device_tokens(URL) == {"alice": "dt-a", "bob": "dt-b"}
    assert store.device_tokens("https://api.example.com") == {"alice": "dt-elsewhere"}
    assert store.device_tokens("http://127.0.0.1:9999") == {}
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_forgetting_the_session_keeps_the_device_tokens(tmp_path: Path) -> None:
    store = TokenFile(tmp_path / "tokens.json")
    store.save_device_token(URL, "alice", "dt-a")
    store.save(URL, Tokens("at", "rt", 1234.5, "alice"))

    store.forget_session()

    assert store.load() is None
    assert store.device_tokens(URL) == {"alice": "dt-a"}
    assert list(json.loads(store.path.read_text())) == ["device_tokens"]


def test_the_file_goes_when_nothing_is_left_in_it(tmp_path: Path) -> None:
    store = TokenFile(tmp_path / "tokens.json")
    store.save_device_token(URL, "alice", "dt-a")
    store.save(URL, Tokens("at", "rt", 1234.5))

    store.forget_session()
    store.save_device_token(URL, "alice", None)

    assert not store.path.exists()


def test_a_file_readable_by_others_is_replaced_with_its_device_tokens_dropped(tmp_path: Path) -> None:
    store = TokenFile(tmp_path / "tokens.json")
    store.save_device_token(URL, "alice", "dt-seen-by-others")
    store.path.chmod(0o644)

    store.save_device_token(URL, "bob", "dt-b")

    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert store.device_tokens(URL) == {"bob": "dt-b"}


@pytest.mark.parametrize(
    "device_tokens", [["dt"], {URL: "dt"}, {URL: {"alice": 7}}], ids=["list", "flat", "not text"]
)
def test_a_file_with_malformed_device_tokens_is_refused(tmp_path: Path, device_tokens: Any) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"device_tokens": device_tokens}))
    path.chmod(0o600)

    with pytest.raises(TokenFileError, match="not a Gatehouse token file"):
        TokenFile(path).device_tokens(URL)


def test_a_session_with_a_missing_field_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"base_url": URL, "access_token": "at", "expires_at": 1.0}))
    path.chmod(0o600)

    with pytest.raises(TokenFileError, match="not a Gatehouse token file"):
        TokenFile(path).load()


def test_the_client_and_the_file_together_survive_a_logout(api: ScriptedApi, tmp_path: Path) -> None:
    api.answer("POST", "/auth/token", grant(1, device_token="dt-1"), grant(2, device_token="dt-1"))
    api.answer("POST", "/auth/revoke", Answer(200, {}))
    store = TokenFile(tmp_path / "tokens.json")

    def on_tokens(tokens: Tokens | None) -> None:
        if tokens is None:
            store.forget_session()
        else:
            store.save(api.base_url, tokens)

    def on_device_token(key: str, token: str | None) -> None:
        store.save_device_token(api.base_url, key, token)

    first = client_for(api, on_tokens=on_tokens, on_device_token=on_device_token)
    first.login("alice", PASSWORD)
    first.logout()
    assert store.load() is None

    # A later run of the program starts from the file alone.
    second = client_for(api, device_tokens=store.device_tokens(api.base_url), on_tokens=on_tokens)
    second.login("alice", PASSWORD)

    assert password_grants(api)[-1]["device_token"] == "dt-1"
    saved = store.load()
    assert saved is not None
    assert (saved.tokens.access_token, saved.tokens.username) == ("at-2", "alice")
