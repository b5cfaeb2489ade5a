"""The demo page's "Recent activity" panel in headless Chromium: the server's events of the account."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.demo_page import Traffic, log_in, open_demo, screenshot, submit_login
from tests.live_stack import USER_PASSWORD, LiveStack


def test_recent_activity_shows_the_failed_attempt_and_the_login_newest_first(
    stack: LiveStack, new_page: Callable[[], Page]
) -> None:
    username = f"activity-{secrets.token_hex(4)}"
    status, _, _ = stack.call("POST", "/auth/register", {"username": username, "password": USER_PASSWORD})
    assert status == 201
    page = new_page()
    traffic = Traffic()
    traffic.watch(page)
    open_demo(page, stack)
    submit_login(page, username, "Not-the-1-password")
    expect(page.locator("#login-error")).not_to_be_empty()
    log_in(page, stack, username, USER_PASSWORD, device="activity laptop")

    rows = page.locator("#activity li")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_attribute("data-kind", "login_succeeded")
    expect(rows.nth(0)).to_contain_text("Signed in")
    expect(rows.nth(0)).to_contain_text('"activity laptop"')
    expect(rows.nth(1)).to_have_attribute("data-kind", "login_failed")
    expect(rows.nth(1)).to_contain_text("Wrong password")
    screenshot(page, "recent-activity")
    assert ("GET", "/auth/events", 200) in traffic.answers

    # Ending every session is recorded too, and Reload shows it.
    page.click("#end-all-sessions")
    expect(page.locator("#login-section")).to_be_visible()
    log_in(page, stack, username, USER_PASSWORD)
    expect(page.locator('#activity li[data-kind="session_ended"]')).to_have_count(1)
    expect(page.locator("#activity li")).to_have_count(4)
