"""The demo page's account side in headless Chromium: sign-up, failed logins and lockout, the token countdown.

Each state is also saved as a screenshot in build/screenshots/ for a reviewer.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable

from playwright.sync_api import ConsoleMessage, Page, Response, expect

from tests.browser.conftest import ACCESS_TOKEN_TTL
from tests.browser.demo_page import (
    LOCKOUT_SENTENCE,
    Traffic,
    log_in,
    open_demo,
    path_of,
    screenshot,
    submit_login,
)
from tests.live_stack import USER_PASSWORD, LiveStack

WRONG_PASSWORD = "Not-the-1-password"
LOCKOUT_THRESHOLD = 5  # the stack's default GATEHOUSE_LOCKOUT_THRESHOLD


# The page's clock, set by the test (Playwright's set_fixed_time): Date.now() stands still
# while the page's timers keep running, so the countdowns show exact numbers.
START = time.time()


def test_sign_up_creates_the_account_and_logs_in(stack: LiveStack, new_page: Callable[[], Page]) -> None:
    page = new_page()
    traffic = Traffic()
    traffic.watch(page)
    username = f"signup-{secrets.token_hex(4)}"
    open_demo(page, stack)
    screenshot(page, "log-in-form")

    page.click("#tab-signup")
    page.fill("#signup-username", username)
    page.fill("#signup-password", USER_PASSWORD)
    screenshot(page, "sign-up-form")
    page.click("#signup-button")

    expect(page.locator("#whoami")).to_have_text(username)
    expect(page.locator("#status")).to_have_text(f"Logged in as {username}")
    expect(page.locator("#events")).to_contain_text(f"Signed up as {username}")
    expect(page.locator("#events")).to_contain_text(f"Logged in as {username}")
    expect(page.locator("#sessions li")).to_have_count(1)
    expect(page.locator("#sessions li .badge")).to_have_text(["this device"])
    screenshot(page, "signed-in")
    assert ("POST", "/auth/register", 201) in traffic.answers
    # The account is real: the server lets the same credentials in.
    status, _, _ = stack.call(
        "POST",
        "/auth/token",
        {"grant_type": "password", "username": username, "password": USER_PASSWORD},
    )
    assert status == 200


def test_sign_up_with_a_taken_name_says_so_and_logs_the_failure(
    stack: LiveStack, new_page: Callable[[], Page]
) -> None:
    page = new_page()
    taken, _ = stack.new_user("taken")
    open_demo(page, stack)

    page.click("#tab-signup")
    page.fill("#signup-username", taken)
    page.fill("#signup-password", USER_PASSWORD)
    page.click("#signup-button")

    expect(page.locator("#login-error")).to_have_text("That username is taken.")
    expect(page.locator("#events")).to_contain_text(f"Sign-up failed for {taken}: That username is taken.")
    expect(page.locator("#app-section")).to_be_hidden()
    screenshot(page, "sign-up-name-taken")


def test_failed_logins_are_listed_and_the_lockout_is_one_sentence_with_a_live_wait(
    stack: LiveStack, new_page: Callable[[], Page]
) -> None:
    page = new_page()
    username, _ = stack.new_user("lockout")
    page.clock.set_fixed_time(START)
    open_demo(page, stack)

    for attempt in range(1, LOCKOUT_THRESHOLD + 1):
        submit_login(page, username, WRONG_PASSWORD)
        expect(page.locator("#events li.fail")).to_have_count(attempt)
    expect(page.locator("#login-error")).to_have_text("The username or password is wrong.")
    expect(page.locator("#events li.fail").first).to_contain_text(
        f"Failed login for {username}: The username or password is wrong."
    )
    screenshot(page, "failed-login")

    submit_login(page, username, WRONG_PASSWORD)
    error = page.locator("#login-error")
    expect(error).to_have_text(LOCKOUT_SENTENCE)
    expect(page.locator("#events li.fail").first).to_contain_text(
        re.compile(rf"Login refused for {username}: Too many failed attempts\. Try again in \d+ s\.$")
    )
    screenshot(page, "lockout")
    match = LOCKOUT_SENTENCE.match(error.inner_text())
    assert match is not None
    wait = int(match.group(1))
    assert wait > 5

    page.clock.set_fixed_time(START + 5)
    expect(error).to_have_text(f"Too many failed attempts. Try again in {wait - 5} s.")

    page.clock.set_fixed_time(START + wait)
    expect(error).to_have_text("")
    expect(page.locator("#login-notice")).to_have_text("You can try again now.")


def test_a_stale_notice_goes_away_when_the_next_action_starts(
    stack: LiveStack, new_page: Callable[[], Page]
) -> None:
    page = new_page()
    username, password = stack.new_user("stale")
    log_in(page, stack, username, password)
    page.click("#logout")
    expect(page.locator("#login-notice")).to_have_text("You are logged out.")
    screenshot(page, "logged-out")

    with page.expect_response(lambda r: path_of(r.url) == "/auth/token"):
        submit_login(page, username, WRONG_PASSWORD)

    expect(page.locator("#login-error")).to_have_text("The username or password is wrong.")
    expect(page.locator("#login-notice")).to_have_text("")
    expect(page.locator("#login-notice")).to_be_hidden()


def test_the_token_countdown_runs_and_a_silent_refresh_resets_it(
    stack: LiveStack, new_page: Callable[[], Page]
) -> None:
    page = new_page()
    traffic = Traffic()
    traffic.watch(page)
    username, password = stack.new_user("countdown")
    page.clock.set_fixed_time(START)
    open_demo(page, stack)
    submit_login(page, username, password)
    expect(page.locator("#whoami")).to_have_text(username)

    remaining = page.locator("#token-remaining")
    expect(remaining).to_have_text(f"{ACCESS_TOKEN_TTL} s left")
    expect(page.locator("#token-session")).not_to_be_empty()
    page.clock.set_fixed_time(START + 10)
    expect(remaining).to_have_text(f"{ACCESS_TOKEN_TTL - 10} s left")
    screenshot(page, "token-countdown")

    # Into gatehouse.js's renewal margin: the next request refreshes first.
    page.clock.set_fixed_time(START + ACCESS_TOKEN_TTL - 4)
    expect(remaining).to_have_text("4 s left")
    expect(remaining).to_have_attribute("data-state", "due")
    screenshot(page, "token-due")
    with page.expect_response(lambda r: path_of(r.url) == "/me" and r.status == 200):
        page.click("#ping")

    expect(page.locator("#events")).to_contain_text(
        f"Access token refreshed silently (valid {ACCESS_TOKEN_TTL} s)"
    )
    expect(remaining).to_have_text(f"{ACCESS_TOKEN_TTL} s left")
    expect(page.locator("#token-refreshes")).to_have_text("1")
    screenshot(page, "token-refreshed")
    assert traffic.grants() == ["password", "refresh_token"]
    bearers = [auth for _, path, _, auth in traffic.sent if path == "/me"]
    assert bearers[-1] != bearers[0], "the request after the refresh carried the new access token"


def test_an_expired_token_says_so_until_the_next_request(
    stack: LiveStack, new_page: Callable[[], Page]
) -> None:
    page = new_page()
    username, password = stack.new_user("expired")
    page.clock.set_fixed_time(START)
    open_demo(page, stack)
    submit_login(page, username, password)
    expect(page.locator("#whoami")).to_have_text(username)

    page.clock.set_fixed_time(START + ACCESS_TOKEN_TTL + 1)

    remaining = page.locator("#token-remaining")
    expect(remaining).to_have_text("Expired: the next request renews it")
    screenshot(page, "token-expired")
    page.click("#reload-notes")
    expect(remaining).to_have_text(f"{ACCESS_TOKEN_TTL} s left")
    expect(page.locator("#events")).to_contain_text("Access token refreshed silently")


def test_no_request_of_the_page_fails_and_the_favicon_is_served(
    stack: LiveStack, new_page: Callable[[], Page]
) -> None:
    page = new_page()
    answers: list[Response] = []
    failed: list[str] = []
    console: list[ConsoleMessage] = []
    page.on("response", lambda response: answers.append(response))
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.on("console", lambda message: console.append(message))
    username, password = stack.new_user("assets")

    log_in(page, stack, username, password)
    expect(page.locator("#sessions li")).to_have_count(1)

    assert failed == []
    assert [(r.url, r.status) for r in answers if r.status >= 400] == []
    loaded = {path_of(r.url) for r in answers}
    assert {"/", "/client/demo.css", "/client/demo.js", "/client/gatehouse.js"} <= loaded
    # A CSP violation (an inline style or script slipping in) is reported on the console.
    assert [m.text for m in console if m.type == "error"] == []

    icon = page.locator('link[rel="icon"]').get_attribute("href")
    assert icon == "/client/favicon.svg"
    fetched = page.request.get(stack.base_url + icon)
    assert fetched.status == 200
    assert fetched.headers["content-type"].startswith("image/svg+xml")
    assert page.evaluate("() => document.querySelector('img.logo').naturalWidth") > 0
