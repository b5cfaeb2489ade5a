"""The Python client's account calls (register, email, password reset, deletion) on the wire.

Against a scripted local server: what each call sends (method, path, body,
bearer or not) and how it reads the contract's answers and errors.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from gatehouse_client import GatehouseClient, GatehouseError, Tokens
from gatehouse_client.client import device_key

from tests.client.scripted_api import INVALID_TOKEN, Answer, ScriptedApi, error, grant

PASSWORD = "Quartz-Lantern-74-river"


def client_for(api: ScriptedApi, tokens: Tokens | None = None, **kwargs: Any) -> GatehouseClient:
    return GatehouseClient(api.base_url, tokens=tokens, use_env_proxies=False, timeout=5, **kwargs)


def session(username: str | None = "alice", expires_in: float = 600) -> Tokens:
    return Tokens("at-0", "rt-0", time.time() + expires_in, username)


# -- without a session -------------------------------------------------------------------


def test_register_sends_name_and_password_as_json_without_email_or_bearer(api: ScriptedApi) -> None:
    api.answer("POST", "/auth/register", Answer(201, {"username": "alice"}))
    client = client_for(api, session())  # logged in as someone: the token still stays home

    assert client.register("alice", PASSWORD) == {"username": "alice"}

    [sent] = api.seen
    assert sent.json() == {"username": "alice", "password": PASSWORD}
    assert "authorization" not in sent.headers


def test_register_with_an_email_sends_it(api: ScriptedApi) -> None:
    api.answer("POST", "/auth/register", Answer(201, {"username": "alice"}))

    client_for(api).register("alice", PASSWORD, email="alice@example.com")

    assert api.seen[0].json() == {"username": "alice", "password": PASSWORD, "email": "alice@example.com"}


def test_register_refused_raises_the_stable_code_and_message(api: ScriptedApi) -> None:
    api.answer("POST", "/auth/register", error(409, "username_taken", "That username is taken."))

    with pytest.raises(GatehouseError) as raised:
        client_for(api).register("alice", PASSWORD)

    assert (raised.value.status, raised.value.code) == (409, "username_taken")
    assert raised.value.message == "That username is taken."
    assert raised.value.network is None


def test_verify_email_sends_name_and_code(api: ScriptedApi) -> None:
    api.answer("POST", "/auth/email/verify", Answer(204))

    client_for(api).verify_email("alice", "K7QX9M")

    [sent] = api.seen
    assert sent.json() == {"username": "alice", "code": "K7QX9M"}
    assert "authorization" not in sent.headers


def test_a_wrong_code_raises_invalid_code(api: ScriptedApi) -> None:
    api.answer("POST", "/auth/email/verify", error(400, "invalid_code", "The code is wrong or has expired."))

    with pytest.raises(GatehouseError) as raised:
        client_for(api).verify_email("alice", "WRONG1")

    assert (raised.value.status, raised.value.code) == (400, "invalid_code")


def test_forgot_password_by_name_or_by_email_sends_only_that_field(api: ScriptedApi) -> None:
    api.answer("POST", "/auth/password/forgot", Answer(202, {}), Answer(202, {}))
    client = client_for(api, session())

    client.forgot_password(username="alice")
    client.forgot_password(email="alice@example.com")

    assert [s.json() for s in api.seen] == [{"username": "alice"}, {"email": "alice@example.com"}]
    assert all("authorization" not in s.headers for s in api.seen)


def test_forgot_password_by_name_sends_this_devices_token_for_that_name(api: ScriptedApi) -> None:
    api.answer("POST", "/auth/password/forgot", Answer(202, {}), Answer(202, {}))
    client = client_for(api, device_tokens={device_key("alice"): "dt-alice"})

    client.forgot_password(username="alice")
    client.forgot_password(username="bob")

    assert [s.json() for s in api.seen] == [
        {"username": "alice", "device_token": "dt-alice"},
        {"username": "bob"},
    ]


@pytest.mark.parametrize(
    "kwargs", [{}, {"username": "alice", "email": "alice@example.com"}], ids=["neither", "both"]
)
def test_forgot_password_needs_exactly_one_of_name_or_email(api: ScriptedApi, kwargs: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        client_for(api).forgot_password(**kwargs)
    assert api.seen == []


def test_reset_password_sends_name_code_and_new_password(api: ScriptedApi) -> None:
    api.answer("POST", "/auth/password/reset", Answer(204))

    client_for(api).reset_password("alice", "K7QX9M", "tulip-Marble-9-sunset")

    assert api.seen[0].json() == {
        "username": "alice",
        "code": "K7QX9M",
        "new_password": "tulip-Marble-9-sunset",
    }


def test_reset_password_with_a_used_code_raises_invalid_code(api: ScriptedApi) -> None:
    api.answer(
        "POST", "/auth/password/reset", error(400, "invalid_code", "The code is wrong or has expired.")
    )

    with pytest.raises(GatehouseError) as raised:
        client_for(api).reset_password("alice", "K7QX9M", "tulip-Marble-9-sunset")

    assert raised.value.code == "invalid_code"


# -- with a session -------------------------------------------------------------------------


def test_change_email_sends_the_bearer_token_and_the_current_password(api: ScriptedApi) -> None:
    api.answer("POST", "/auth/email", Answer(204))

    client_for(api, session()).change_email(PASSWORD, "alice@example.org")

    [sent] = api.seen
    assert sent.headers["authorization"] == "Bearer at-0"
    assert sent.json() == {"current_password": PASSWORD, "email": "alice@example.org"}


def test_change_email_refreshes_a_refused_token_and_sends_once_more(api: ScriptedApi) -> None:
    api.answer("POST", "/auth/email", INVALID_TOKEN, Answer(204))
    api.answer("POST", "/auth/token", grant(1))

    client_for(api, session()).change_email(PASSWORD, "alice@example.org")

    first, refresh, second = api.seen
    assert first.headers["authorization"] == "Bearer at-0"
    assert refresh.form() == {"grant_type": "refresh_token", "refresh_token": "rt-0"}
    assert second.headers["authorization"] == "Bearer at-1"
    assert second.json() == first.json()


def test_change_email_with_a_wrong_password_raises_and_keeps_the_session(api: ScriptedApi) -> None:
    api.answer("POST", "/auth/email", error(400, "invalid_password", "The current password is wrong."))
    client = client_for(api, session())

    with pytest.raises(GatehouseError) as raised:
        client.change_email("not-it", "alice@example.org")

    assert (raised.value.status, raised.value.code) == (400, "invalid_password")
    assert client.logged_in


def test_resend_email_code_posts_with_the_bearer_token(api: ScriptedApi) -> None:
    api.answer("POST", "/auth/email/resend", Answer(204))

    client_for(api, session()).resend_email_code()

    [sent] = api.seen
    assert sent.headers["authorization"] == "Bearer at-0"


def test_resend_email_code_with_nothing_to_verify_raises_its_code(api: ScriptedApi) -> None:
    api.answer("POST", "/auth/email/resend", error(409, "nothing_to_verify", "No unverified address."))

    with pytest.raises(GatehouseError) as raised:
        client_for(api, session()).resend_email_code()

    assert (raised.value.status, raised.value.code) == (409, "nothing_to_verify")


def test_calls_that_need_a_session_fail_without_one_and_send_nothing(api: ScriptedApi) -> None:
    client = client_for(api)

    with pytest.raises(GatehouseError) as change:
        client.change_email(PASSWORD, "a@example.com")
    with pytest.raises(GatehouseError) as delete:
        client.delete_account(PASSWORD)

    assert change.value.code == delete.value.code == "not_logged_in"
    assert api.seen == []


def test_delete_account_sends_the_password_then_forgets_the_session_and_its_device_token(
    api: ScriptedApi,
) -> None:
    api.answer("POST", "/auth/account/delete", Answer(204))
    calls: list[object] = []
    client = client_for(
        api,
        session("Alice"),
        device_tokens={"alice": "dt-alice", "bob": "dt-bob"},
        on_tokens=calls.append,
        on_device_token=lambda key, token: calls.append((key, token)),
    )

    client.delete_account(PASSWORD)

    [sent] = api.seen
    assert sent.path == "/auth/account/delete"
    assert sent.headers["authorization"] == "Bearer at-0"
    assert sent.json() == {"current_password": PASSWORD}
    assert not client.logged_in
    assert client.device_tokens == {"bob": "dt-bob"}  # another user of this device keeps theirs
    assert calls == [None, ("alice", None)]


@pytest.mark.parametrize(
    ("status", "code"), [(400, "invalid_password"), (409, "last_admin")], ids=["wrong password", "last admin"]
)
def test_a_refused_deletion_keeps_the_session_and_the_device_token(
    api: ScriptedApi, status: int, code: str
) -> None:
    api.answer("POST", "/auth/account/delete", error(status, code, "Refused."))
    client = client_for(api, session(), device_tokens={"alice": "dt-alice"})

    with pytest.raises(GatehouseError) as raised:
        client.delete_account(PASSWORD)

    assert (raised.value.status, raised.value.code) == (status, code)
    assert client.logged_in
    assert client.device_tokens == {"alice": "dt-alice"}


def test_a_deletion_when_the_session_had_ended_raises_and_forgets_the_tokens(api: ScriptedApi) -> None:
    api.answer("POST", "/auth/account/delete", INVALID_TOKEN)
    api.answer("POST", "/auth/token", error(400, "invalid_grant", "The refresh token is not valid."))
    client = client_for(api, session())

    with pytest.raises(GatehouseError) as raised:
        client.delete_account(PASSWORD)

    assert raised.value.status == 401
    assert not client.logged_in


# -- answers that are not the contract's ----------------------------------------------------


def test_too_many_attempts_carries_retry_after(api: ScriptedApi) -> None:
    api.answer(
        "POST",
        "/auth/token",
        Answer(429, {"error": "too_many_attempts", "error_description": "Too many."}, {"Retry-After": "30"}),
    )

    with pytest.raises(GatehouseError) as raised:
        client_for(api).login("alice", PASSWORD)

    assert (raised.value.status, raised.value.code, raised.value.retry_after) == (
        429,
        "too_many_attempts",
        30,
    )


def test_a_token_answer_without_tokens_is_an_invalid_response_not_a_crash(api: ScriptedApi) -> None:
    api.answer("POST", "/auth/token", Answer(200, {"hello": "world"}))
    client = client_for(api)

    with pytest.raises(GatehouseError) as raised:
        client.login("alice", PASSWORD)

    assert raised.value.code == "invalid_response"
    assert not client.logged_in
