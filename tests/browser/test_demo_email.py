"""The demo page for a new account: verify the address, ask for a new code, reset a forgotten password;
and no sideways scrolling on a phone.

The codes come from the stack's console echo of outgoing mail, as a developer
reads them from `make run`'s terminal.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from gatehouse.accounts.codes import RESET_CODE_LENGTH
from tests.browser.conftest import assert_no_horizontal_scroll
from tests.browser.demo_page import add_note, log_in, open_demo, screenshot, submit_login
from tests.live_stack import USER_PASSWORD, LiveStack

NEW_PASSWORD = "Harbor-Lichen-83-quill"


def _sign_up(page: Page, stack: LiveStack, username: str, email: str) -> None:
    open_demo(page, stack)
    page.click("#tab-signup")
    page.fill("#signup-username", username)
    page.fill("#signup-password", USER_PASSWORD)
    page.fill("#signup-email", email)
    page.click("#signup-button")
    expect(page.locator("#whoami")).to_have_text(username)


def test_a_new_account_verifies_its_address_after_a_resend_then_resets_its_password(
    stack: LiveStack, new_page: Callable[[], Page]
) -> None:
    username = f"mail-{secrets.token_hex(4)}"
    email = f"{username}@example.com"
    page = new_page()
    _sign_up(page, stack, username, email)
    expect(page.locator("#email-state")).to_have_text(
        f"{email}, not verified yet: enter the code mailed to it."
    )
    [first] = stack.codes_mailed_to(email, 1)

    page.click("#email-resend")
    expect(page.locator("#email-notice")).to_have_text(
        "A new code is on its way; the previous one no longer works."
    )
    second = stack.codes_mailed_to(email, 2)[1]
    assert second != first

    page.fill("#email-code", first)
    page.click("#email-verify-button")
    expect(page.locator("#email-error")).to_have_text(
        "The code is wrong or no longer valid. Request a new one."
    )
    page.fill("#email-code", second)
    page.click("#email-verify-button")
    expect(page.locator("#email-state")).to_have_text(f"{email}, verified.")
    expect(page.locator("#email-verify-form")).to_be_hidden()
    expect(page.locator("#email-resend")).to_be_hidden()
    screenshot(page, "email-verified")

    page.click("#logout")
    expect(page.locator("#login-section")).to_be_visible()
    page.click("#tab-forgot")
    page.fill("#forgot-who", username)
    page.click("#forgot-button")
    expect(page.locator("#reset-form")).to_be_visible()
    reset_code = stack.codes_mailed_to(email, 3)[2]
    assert len(reset_code) == RESET_CODE_LENGTH
    page.fill("#reset-code", reset_code)
    page.fill("#reset-password", NEW_PASSWORD)
    page.click("#reset-button")
    expect(page.locator("#login-notice")).to_have_text("Password changed. Log in with the new password.")
    submit_login(page, username, NEW_PASSWORD)
    expect(page.locator("#whoami")).to_have_text(username)


def test_an_account_without_an_address_can_add_one_and_is_mailed_a_code(
    stack: LiveStack, new_page: Callable[[], Page]
) -> None:
    username, password = stack.new_user("noaddr")
    email = f"{username}@example.com"
    page = new_page()
    log_in(page, stack, username, password)
    expect(page.locator("#email-state")).to_have_text(
        "No email address yet: add one to be able to reset a forgotten password."
    )
    page.fill("#email-new", email)
    page.fill("#email-password", "Not-the-1-password")
    page.click("#email-change-button")
    expect(page.locator("#email-error")).not_to_be_empty()
    page.fill("#email-password", password)
    page.click("#email-change-button")
    expect(page.locator("#email-state")).to_have_text(
        f"{email}, not verified yet: enter the code mailed to it."
    )
    assert stack.codes_mailed_to(email, 1)


@pytest.mark.parametrize("width", [360, 390])
def test_the_demo_page_never_scrolls_sideways_on_a_phone(
    stack: LiveStack, new_page: Callable[[], Page], width: int
) -> None:
    page = new_page()
    page.set_viewport_size({"width": width, "height": 800})
    open_demo(page, stack)
    for tab in ("login", "signup", "forgot"):
        page.click(f"#tab-{tab}")
        assert_no_horizontal_scroll(page)
    username = f"narrow-{secrets.token_hex(4)}"
    _sign_up(page, stack, username, f"{username}.with.a.long.local.part@example.com")
    add_note(page, "a-note-without-any-space-" * 8)
    assert_no_horizontal_scroll(page)
    screenshot(page, f"logged-in-{width}px")
