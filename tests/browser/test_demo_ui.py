"""The demo page (GET / of the dev stage) in headless Chromium: what a person would do with it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import ACCESS_TOKEN_TTL, TIMEOUT_MS
from tests.browser.demo_page import Traffic, add_note, log_in, open_demo, path_of, screenshot
from tests.live_stack import LiveStack


# A session logged in when this module starts; the last test comes back to it once its
# access token has really expired (ACCESS_TOKEN_TTL), so that wait overlaps the other tests.
@dataclass
class AgedSession:
    page: Page
    traffic: Traffic
    logged_in_at: float
    first_token: str


@pytest.fixture(scope="module", autouse=True)
def aged(browser: Browser, stack: LiveStack) -> Iterator[AgedSession]:
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    traffic = Traffic()
    traffic.watch(page)
    username, password = stack.new_user("aged")
    log_in(page, stack, username, password)
    logged_in_at = time.time()
    add_note(page, "written before the token expired")
    first_token = next(auth for _, path, _, auth in traffic.sent if path == "/me" and auth)
    yield AgedSession(page, traffic, logged_in_at, first_token)
    context.close()


# -- tests ---------------------------------------------------------------------------


def test_log_in_add_a_note_see_it_and_delete_it(stack: LiveStack, new_page: Callable[[], Page]) -> None:
    page = new_page()
    username, password = stack.new_user("ui")

    log_in(page, stack, username, password)
    add_note(page, "Buy <b>milk</b> & eggs")
    add_note(page, "Call the bank")

    notes = page.locator("#notes .note-text")
    expect(notes).to_have_text(["Buy <b>milk</b> & eggs", "Call the bank"])  # text, never markup
    page.click("#reload-notes")
    expect(notes).to_have_count(2)
    page.locator("#notes li", has_text="Call the bank").locator(".delete-note").click()
    expect(notes).to_have_text(["Buy <b>milk</b> & eggs"])


def test_tokens_live_in_memory_only(stack: LiveStack, new_page: Callable[[], Page]) -> None:
    page = new_page()
    username, password = stack.new_user("memory")
    log_in(page, stack, username, password)

    stored = page.evaluate("() => [localStorage.length, sessionStorage.length, document.cookie]")
    assert stored == [0, 0, ""]
    assert page.context.cookies() == []
    page.reload()  # memory is gone: log in again
    expect(page.locator("#login-section")).to_be_visible()
    expect(page.locator("#app-section")).to_be_hidden()


def test_bad_password_shows_the_error(stack: LiveStack, new_page: Callable[[], Page]) -> None:
    page = new_page()
    username, _ = stack.new_user("badpw")
    open_demo(page, stack)

    page.fill("#username", username)
    page.fill("#password", "Not-the-1-password")
    page.click("#login-button")

    expect(page.locator("#login-error")).to_have_text("The username or password is wrong.")
    expect(page.locator("#app-section")).to_be_hidden()
    expect(page.locator("#login-button")).to_be_enabled()


def test_a_refused_access_token_is_refreshed_transparently(
    stack: LiveStack, new_page: Callable[[], Page]
) -> None:
    page = new_page()
    traffic = Traffic()
    traffic.watch(page)
    username, password = stack.new_user("refresh")
    log_in(page, stack, username, password)
    add_note(page, "still here after the refresh")

    page.evaluate("window.gatehouseDemo.breakAccessToken()")
    with page.expect_response(lambda r: path_of(r.url) == "/notes" and r.status == 200) as retried:
        page.click("#reload-notes")

    assert retried.value.request.method == "GET"
    expect(page.locator("#events")).to_contain_text("Access token refreshed")
    expect(page.locator("#notes .note-text")).to_have_text(["still here after the refresh"])
    expect(page.locator("#app-section")).to_be_visible()
    listings = [status for method, path, status in traffic.answers if (method, path) == ("GET", "/notes")]
    assert listings[-2:] == [401, 200]
    assert traffic.grants() == ["password", "refresh_token"]


def test_parallel_requests_after_a_refused_token_share_one_refresh(
    stack: LiveStack, new_page: Callable[[], Page]
) -> None:
    page = new_page()
    traffic = Traffic()
    traffic.watch(page)
    username, password = stack.new_user("parallel")
    log_in(page, stack, username, password)

    before = len(traffic.answers)
    statuses = page.evaluate(
        """async () => {
            const { client, breakAccessToken } = window.gatehouseDemo;
            breakAccessToken(5); // each request of the batch goes out with a refused token
            const paths = ['/notes', '/me', '/auth/sessions', '/notes', '/me'];
            const responses = await Promise.all(paths.map((path) => client.fetch(path)));
            return responses.map((r) => r.status);
        }"""
    )

    assert statuses == [200] * 5

    def batch() -> list[int]:
        return [status for _, path, status in traffic.answers[before:] if path != "/auth/token"]

    # Playwright reports responses as events, which can arrive after the
    # page's promises have settled: wait (bounded) until the batch is in.  The
    # page's own list reloads after login may land in the same window, so
    # count: five refused, at least the five retries answered, nothing else.
    deadline = time.monotonic() + 5
    while (batch().count(401) < 5 or batch().count(200) < 5) and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert batch().count(401) == 5
    assert batch().count(200) >= 5
    assert set(batch()) == {200, 401}
    assert traffic.grants().count("refresh_token") == 1
    # The session survived (no reuse detection): it still works.
    page.click("#reload-sessions")
    expect(page.locator("#sessions li")).to_have_count(1)
    expect(page.locator("#app-section")).to_be_visible()


def test_ending_a_session_from_another_browser_bounces_the_first_to_the_login_form(
    stack: LiveStack, new_page: Callable[[], Page]
) -> None:
    laptop, phone = new_page(), new_page()
    username, password = stack.new_user("twodev")
    log_in(laptop, stack, username, password, device="Laptop browser")
    log_in(phone, stack, username, password, device="Phone browser")

    phone.click("#reload-sessions")
    sessions = phone.locator("#sessions li")
    expect(sessions).to_have_count(2)
    expect(phone.locator("#sessions li .current")).to_contain_text("Phone browser")
    expect(phone.locator("#sessions li .badge")).to_have_text(["this device"])
    screenshot(phone, "sessions-two-devices")
    phone.locator('#sessions li[data-device="Laptop browser"] .end-session').click()
    expect(sessions).to_have_count(1)

    laptop.click("#reload-notes")

    expect(laptop.locator("#login-section")).to_be_visible()
    expect(laptop.locator("#login-notice")).to_have_text("Your session has ended. Please log in again.")
    expect(laptop.locator("#app-section")).to_be_hidden()
    screenshot(laptop, "session-ended-elsewhere")
    # The phone is untouched.
    phone.click("#reload-notes")
    expect(phone.locator("#app-section")).to_be_visible()


def test_log_out_and_log_out_everywhere(stack: LiveStack, new_page: Callable[[], Page]) -> None:
    pages = {"one": new_page(), "two": new_page(), "three": new_page()}
    username, password = stack.new_user("logout")
    for device, page in pages.items():
        log_in(page, stack, username, password, device=device)
    one, two, three = pages.values()

    with one.expect_response(lambda r: path_of(r.url) == "/auth/revoke") as revoked:
        one.click("#logout")
    assert revoked.value.status == 200
    expect(one.locator("#login-notice")).to_have_text("You are logged out.")
    two.click("#reload-sessions")
    expect(two.locator('#sessions li[data-device="one"]')).to_have_count(0)  # revoked
    expect(two.locator("#sessions li")).to_have_count(2)

    two.click("#logout-everywhere")
    expect(two.locator("#login-section")).to_be_visible()
    three.click("#reload-notes")
    expect(three.locator("#login-notice")).to_have_text("Your session has ended. Please log in again.")


def test_an_access_token_that_really_expired_is_refreshed(aged: AgedSession, stack: LiveStack) -> None:
    # Runs last: by now most of the token's lifetime has passed during the tests above.
    time.sleep(max(0.0, aged.logged_in_at + ACCESS_TOKEN_TTL + 1 - time.time()))
    status, headers, _ = stack.call("GET", "/notes", headers={"Authorization": aged.first_token})
    assert status == 401, "the first access token has expired on the server"
    assert headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'

    with aged.page.expect_response(lambda r: path_of(r.url) == "/notes" and r.status == 200) as listed:
        aged.page.click("#reload-notes")

    assert listed.value.request.headers["authorization"] != aged.first_token
    expect(aged.page.locator("#events")).to_contain_text("Access token refreshed")
    expect(aged.page.locator("#notes .note-text")).to_have_text(["written before the token expired"])
    assert aged.traffic.grants() == ["password", "refresh_token"]
