"""The demo page's "Forgot password?" and "Delete my account" against the real server routes.

No stand-ins: the requests go to the local stack, which mails through moto's
SES and prints every message; the code the page is given is read from there.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.demo_page import log_in, open_demo, path_of, screenshot
from tests.live_stack import USER_PASSWORD, LiveStack

NEW_PASSWORD = "Harbor-Violet-31-pine"
WRONG_CODE = "0000000000"


def verified_user(stack: LiveStack) -> tuple[str, str]:
    """A registered user with a verified address: (username, address)."""
    username = f"page-{secrets.token_hex(4)}"
    address = f"{username}@example.com"
    body = {"username": username, "password": USER_PASSWORD, "email": address}
    assert stack.call("POST", "/auth/register", body)[0] == 201
    [code] = stack.codes_mailed_to(address, 1)
    assert stack.call("POST", "/auth/email/verify", {"username": username, "code": code})[0] == 204
    return username, address


def test_forgot_password_then_reset_with_the_code_the_server_mailed(
    stack: LiveStack, new_page: Callable[[], Page]
) -> None:
    username, address = verified_user(stack)
    page = new_page()
    open_demo(page, stack)

    page.click("#tab-forgot")
    page.fill("#forgot-who", address)
    page.click("#forgot-button")
    expect(page.locator("#reset-form")).to_be_visible()
    code = stack.codes_mailed_to(address, 2)[1]

    page.fill("#reset-username", username)
    page.fill("#reset-code", WRONG_CODE if code != WRONG_CODE else "1111111111")
    page.fill("#reset-password", NEW_PASSWORD)
    page.click("#reset-button")
    expect(page.locator("#login-error")).to_have_text(
        "The code is wrong or no longer valid. Request a new one."
    )

    page.fill("#reset-code", code.lower())  # typed loosely: the server forgives case
    page.click("#reset-button")
    expect(page.locator("#login-notice")).to_have_text("Password changed. Log in with the new password.")
    screenshot(page, "reset-done-real-server")

    log_in(page, stack, username, NEW_PASSWORD)
    expect(page.locator("#app-section")).to_be_visible()
    grant = {"grant_type": "password", "username": username, "password": USER_PASSWORD}
    assert stack.call("POST", "/auth/token", grant)[0] == 400  # the old password is gone


def test_delete_my_account_removes_it_on_the_server(stack: LiveStack, new_page: Callable[[], Page]) -> None:
    username, password = stack.new_user("delete-real")
    page = new_page()
    log_in(page, stack, username, password)

    page.click("#delete-start")
    page.fill("#delete-password", "Not-my-password-1")
    page.click("#delete-button")
    expect(page.locator("#delete-error")).to_have_text("The current password is wrong.")

    page.fill("#delete-password", password)
    page.click("#delete-button")
    expect(page.locator("#login-notice")).to_have_text("Your account is deleted.")
    grant = {"grant_type": "password", "username": username, "password": password}
    assert stack.call("POST", "/auth/token", grant)[0] == 400


def test_forgot_password_sends_the_device_token_this_tab_got_for_the_account(
    stack: LiveStack, new_page: Callable[[], Page]
) -> None:
    """The owner's device token rides along (the page asks through gatehouse.js), so the reset mail
    counts against the account's own budget, which strangers cannot spend, not the anonymous caps."""
    username, address = verified_user(stack)
    page = new_page()
    issued: list[str] = []
    page.on(
        "response",
        lambda r: (
            issued.append(r.json().get("device_token", ""))
            if path_of(r.url) == "/auth/token" and r.ok
            else None
        ),
    )
    log_in(page, stack, username, USER_PASSWORD)
    page.click("#logout")
    expect(page.locator("#login-section")).to_be_visible()
    assert issued
    assert issued[-1]  # the login brought a device token

    page.click("#tab-forgot")
    page.fill("#forgot-who", username)
    with page.expect_request(lambda r: path_of(r.url) == "/auth/password/forgot") as asked:
        page.click("#forgot-button")
    assert json.loads(asked.value.post_data or "{}") == {"username": username, "device_token": issued[-1]}
    expect(page.locator("#reset-form")).to_be_visible()
    stack.codes_mailed_to(address, 2)  # the verification code, then the reset code
