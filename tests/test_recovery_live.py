"""Account recovery end to end over HTTP against the stack ``make run`` starts: codes read from its console.

The local stack sends mail through moto's SES and prints every message, as
a developer sees it; the tests read the codes from that output.  Both raw
HTTP and the Python client (``client/gatehouse_client``) are exercised.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import pytest
from gatehouse_client import GatehouseClient, GatehouseError

from tests.live_stack import USER_PASSWORD, LiveStack, live_stack

e2e = pytest.mark.e2e
NEW_PASSWORD = "Orchid-Canyon-31-harbor"


@pytest.fixture(scope="module")
def stack() -> Iterator[LiveStack]:
    with live_stack(
        {"GATEHOUSE_SESSION_CACHE_SECONDS": "0", "GATEHOUSE_RESET_URL": "http://localhost:8000/"}
    ) as running:
        yield running


def new_name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


@e2e
def test_register_verify_forgot_reset_and_delete_over_http(stack: LiveStack) -> None:
    username = new_name("live")
    address = f"{username}@example.com"
    status, _, body = stack.call(
        "POST", "/auth/register", {"username": username, "password": USER_PASSWORD, "email": address}
    )
    assert status == 201, body
    [code] = stack.codes_mailed_to(address, 1)
    assert [m.subject for m in stack.mail() if m.to == address] == ["Confirm your email address"]
    assert stack.call("POST", "/auth/email/verify", {"username": username, "code": code})[0] == 204

    status, _, body = stack.call("POST", "/auth/password/forgot", {"email": address})
    assert (status, body) == (202, {})
    reset_code = stack.codes_mailed_to(address, 2)[1]
    [text] = [m.text for m in stack.mail() if m.code == reset_code]
    assert f"http://localhost:8000/?code={reset_code}&username={username}" in text
    status, _, body = stack.call(
        "POST",
        "/auth/password/reset",
        {"username": username, "code": reset_code, "new_password": NEW_PASSWORD},
    )
    assert status == 204, body

    grant = {"grant_type": "password", "username": username, "password": NEW_PASSWORD}
    status, _, tokens = stack.call("POST", "/auth/token", grant)
    assert status == 200, tokens
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    status, _, me = stack.call("GET", "/me", headers=auth)
    assert len(me.pop("account_id")) == 32
    assert me == {"username": username, "roles": ["user"], "email": address, "email_verified": True}

    status, _, body = stack.call("POST", "/auth/account/delete", {"current_password": NEW_PASSWORD}, auth)
    assert status == 204, body
    assert stack.call("GET", "/me", headers=auth)[0] == 401
    assert stack.call("POST", "/auth/token", grant)[0] == 400


@e2e
def test_forgot_for_an_unknown_account_answers_the_same_and_prints_no_mail(stack: LiveStack) -> None:
    before = len(stack.mail())
    status, headers, body = stack.call("POST", "/auth/password/forgot", {"username": new_name("nobody")})
    assert (status, body) == (202, {})
    assert headers["Content-Type"] == "application/json"
    time.sleep(0.2)
    assert len(stack.mail()) == before


# -- the Python client -------------------------------------------------------------------------


def client_for(stack: LiveStack) -> GatehouseClient:
    return GatehouseClient(stack.base_url, use_env_proxies=False)


@e2e
def test_python_client_register_with_email_and_verify(stack: LiveStack) -> None:
    username = new_name("py")
    address = f"{username}@example.com"
    client = client_for(stack)
    assert client.register(username, USER_PASSWORD, email=address) == {"username": username}
    code = stack.codes_mailed_to(address, 1)[0]
    with pytest.raises(GatehouseError) as wrong:
        client.verify_email(username, "0000000Z" if code != "0000000Z" else "0000000Y")
    assert (wrong.value.status, wrong.value.code) == (400, "invalid_code")
    client.verify_email(username, code)
    client.login(username, USER_PASSWORD)
    assert client.get("/me").json()["email_verified"] is True


@e2e
def test_python_client_change_email_mails_the_new_address(stack: LiveStack) -> None:
    username = new_name("py")
    client = client_for(stack)
    client.register(username, USER_PASSWORD)
    client.login(username, USER_PASSWORD)
    address = f"{username}@example.org"
    client.change_email(USER_PASSWORD, address)
    me = client.get("/me").json()
    assert len(me.pop("account_id")) == 32
    assert me == {
        "username": username,
        "roles": ["user"],
        "email": address,
        "email_verified": False,
    }
    client.verify_email(username, stack.codes_mailed_to(address, 1)[0])
    with pytest.raises(GatehouseError) as wrong:
        client.change_email("Not-the-1-password", f"other-{address}")
    assert (wrong.value.status, wrong.value.code) == (400, "invalid_request")


@e2e
def test_python_client_forgot_and_reset_password(stack: LiveStack) -> None:
    username = new_name("py")
    address = f"{username}@example.com"
    client = client_for(stack)
    client.register(username, USER_PASSWORD, email=address)
    client.verify_email(username, stack.codes_mailed_to(address, 1)[0])
    client.forgot_password(username=username)
    code = stack.codes_mailed_to(address, 2)[1]
    with pytest.raises(GatehouseError) as used:
        client.reset_password(username, "0000000000" if code != "0000000000" else "1111111111", NEW_PASSWORD)
    assert used.value.code == "invalid_code"
    client.reset_password(username, code, NEW_PASSWORD)
    client.login(username, NEW_PASSWORD)
    assert client.logged_in
    client.forgot_password(email=f"nobody-{address}")  # unknown: the same quiet success


@e2e
def test_python_client_delete_account_forgets_the_tokens(stack: LiveStack) -> None:
    username = new_name("py")
    client = client_for(stack)
    client.register(username, USER_PASSWORD)
    client.login(username, USER_PASSWORD)
    client.post("/notes", json={"text": "goes with the account"})
    client.delete_account(USER_PASSWORD)
    assert not client.logged_in
    with pytest.raises(GatehouseError) as gone:
        client.login(username, USER_PASSWORD)
    assert gone.value.code == "invalid_grant"
