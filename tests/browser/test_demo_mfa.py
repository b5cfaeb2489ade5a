"""The demo page's second factor in headless Chromium: enrol (QR code, then the recovery codes once),
log in with the app's code, with a recovery code, a remembered browser, and removing the factor.

The codes are computed from the secret the page shows, as an authenticator app would.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

import pyotp
from playwright.sync_api import Page, expect

from tests.browser.demo_page import Traffic, log_in, open_demo, screenshot, submit_login
from tests.live_stack import USER_PASSWORD, LiveStack

OTP_GRANT = "urn:gatehouse:grant-type:mfa-otp"
RECOVERY_GRANT = "urn:gatehouse:grant-type:mfa-recovery-code"


def code(secret: str, steps: int = 0) -> str:
    """The app's code ``steps`` time steps from now (one step either side is accepted)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps)


def enrol(page: Page) -> tuple[str, list[str]]:
    page.click("#mfa-start")
    page.fill("#mfa-password", USER_PASSWORD)
    page.click("#mfa-enrol-button")
    expect(page.locator("#mfa-qr svg")).to_be_visible()
    secret = page.locator("#mfa-secret").inner_text()
    screenshot(page, "mfa-qr-code")
    page.fill("#mfa-confirm-code", code(secret))
    page.click("#mfa-confirm-button")
    expect(page.locator("#mfa-recovery-codes li")).to_have_count(10)
    codes = page.locator("#mfa-recovery-codes li").all_inner_texts()
    screenshot(page, "mfa-recovery-codes")
    page.click("#mfa-codes-done")
    expect(page.locator("#mfa-recovery-codes li")).to_have_count(0)  # shown once, then gone
    expect(page.locator("#mfa-state")).to_contain_text("On")
    return secret, codes


def new_user(stack: LiveStack) -> str:
    username = f"mfa-{secrets.token_hex(4)}"
    status, _, _ = stack.call("POST", "/auth/register", {"username": username, "password": USER_PASSWORD})
    assert status == 201
    return username


def test_enrol_then_log_in_with_the_apps_code(stack: LiveStack, new_page: Callable[[], Page]) -> None:
    page = new_page()
    username = new_user(stack)
    log_in(page, stack, username, USER_PASSWORD)
    expect(page.locator("#token-aal")).to_have_text("password only")
    secret, codes = enrol(page)
    assert len(set(codes)) == 10
    assert secret not in page.content()  # the key left the page with the QR code

    page.click("#logout")
    expect(page.locator("#login-section")).to_be_visible()
    other = new_page()  # a browser without this one's device token: it is asked for the code
    traffic = Traffic()
    traffic.watch(other)
    open_demo(other, stack)
    submit_login(other, username, USER_PASSWORD)
    expect(other.locator("#mfa-form")).to_be_visible()
    screenshot(other, "mfa-code-asked")
    other.fill("#mfa-code", code(secret, 1))  # the next step's code: the current one was spent on enrolling
    other.click("#mfa-button")
    expect(other.locator("#whoami")).to_have_text(username)
    expect(other.locator("#token-aal")).to_contain_text("with a second factor")
    assert traffic.grants() == ["password", OTP_GRANT]


def test_a_recovery_code_instead_and_a_remembered_browser(
    stack: LiveStack, new_page: Callable[[], Page]
) -> None:
    page = new_page()
    username = new_user(stack)
    log_in(page, stack, username, USER_PASSWORD)
    _, codes = enrol(page)
    page.click("#logout")

    other = new_page()
    traffic = Traffic()
    traffic.watch(other)
    open_demo(other, stack)
    submit_login(other, username, USER_PASSWORD)
    other.click("#mfa-use-recovery")
    expect(other.locator("#mfa-recovery")).to_be_visible()
    other.fill("#mfa-recovery", codes[0])
    other.click("#mfa-button")
    expect(other.locator("#whoami")).to_have_text(username)

    # This browser holds the device token of a login with a second factor: it is remembered.
    other.click("#logout")
    submit_login(other, username, USER_PASSWORD)
    expect(other.locator("#whoami")).to_have_text(username)
    assert traffic.grants() == ["password", RECOVERY_GRANT, "password"]

    # A spent recovery code does not work twice.
    third = new_page()
    open_demo(third, stack)
    submit_login(third, username, USER_PASSWORD)
    third.click("#mfa-use-recovery")
    third.fill("#mfa-recovery", codes[0])
    third.click("#mfa-button")
    expect(third.locator("#login-error")).to_contain_text("wrong or was already used")


def test_removing_the_factor_with_a_recovery_code(stack: LiveStack, new_page: Callable[[], Page]) -> None:
    page = new_page()
    username = new_user(stack)
    log_in(page, stack, username, USER_PASSWORD)
    _, codes = enrol(page)
    page.fill("#mfa-remove-code", codes[1])
    page.click("#mfa-remove-button")
    expect(page.locator("#mfa-state")).to_contain_text("Off")
    # The changes are the account's events, shown in its Recent activity at once.
    expect(page.locator('#activity li[data-kind="factor_removed"]')).to_contain_text("Second factor removed")
    expect(page.locator('#activity li[data-kind="recovery_code_used"]')).to_have_count(1)
    expect(page.locator('#activity li[data-kind="factor_added"]')).to_have_count(1)
    other = new_page()
    log_in(other, stack, username, USER_PASSWORD)  # the password alone again


def test_new_recovery_codes_are_shown_once_replace_the_old_and_show_in_recent_activity_by_name(
    stack: LiveStack, new_page: Callable[[], Page]
) -> None:
    page = new_page()
    username = new_user(stack)
    log_in(page, stack, username, USER_PASSWORD)
    secret, old = enrol(page)
    page.fill("#mfa-new-codes-code", code(secret, 1))  # the current step was spent on enrolling
    page.click("#mfa-new-codes-button")
    expect(page.locator("#mfa-recovery-codes li")).to_have_count(10)
    fresh = page.locator("#mfa-recovery-codes li").all_inner_texts()
    assert not set(fresh) & set(old)
    expect(page.locator("#mfa-new-codes-form")).to_be_hidden()
    page.click("#mfa-codes-done")
    expect(page.locator("#mfa-recovery-codes li")).to_have_count(0)  # shown once, then gone
    replaced = page.locator('#activity li[data-kind="recovery_codes_replaced"]')
    expect(replaced).to_contain_text("New recovery codes made")
    assert not any(c in page.locator("#activity").inner_text() for c in fresh)
    # An old code no longer finishes a login; a new one does.
    other = new_page()
    open_demo(other, stack)
    submit_login(other, username, USER_PASSWORD)
    other.click("#mfa-use-recovery")
    other.fill("#mfa-recovery", old[0])
    other.click("#mfa-button")
    expect(other.locator("#login-error")).to_contain_text("wrong or was already used")
    other.fill("#mfa-recovery", fresh[0])
    other.click("#mfa-button")
    expect(other.locator("#whoami")).to_have_text(username)
