"""The demo page's "Forgot password?", "Delete my account" and device token, in headless Chromium.

STAND-IN ROUTES: the server does not serve ``POST /auth/password/forgot``,
``/auth/password/reset`` and ``/auth/account/delete`` yet, so ``RecoveryStandIn``
answers them inside the browser (Playwright's ``page.route``), exactly as the
HTTP contract says, and records what the page sent; nor does a password grant
return a ``device_token`` yet, so ``add_a_device_token`` adds one to the real
answer.  Everything else (the page, login, revoke, sessions) is the real local
stack.  Once the server has these, drop the stand-ins and let the requests
through to the stack.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import Page, Route, expect

from tests.browser.demo_page import log_in, open_demo, path_of, screenshot
from tests.live_stack import LiveStack

THE_CODE = "K7PX-M2QD"
NEW_PASSWORD = "Harbor-Violet-31-pine"


@dataclass
class RecoveryStandIn:
    """Answers the three recovery routes per the contract, for one account, and keeps what it was sent."""

    username: str
    password: str
    received: list[tuple[str, dict[str, Any], str | None]] = field(default_factory=list)

    def install(self, page: Page) -> None:
        page.route("**/auth/password/forgot", self._forgot)
        page.route("**/auth/password/reset", self._reset)
        page.route("**/auth/account/delete", self._delete)

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [body for sent_to, body, _ in self.received if sent_to == path]

    def _take(self, route: Route) -> dict[str, Any] | None:
        request = route.request
        body = json.loads(request.post_data or "null")
        self.received.append((path_of(request.url), body, request.headers.get("authorization")))
        if request.method != "POST" or request.headers.get("content-type") != "application/json":
            _answer(
                route,
                415,
                {"error": "unsupported_media_type", "message": "Send the body as application/json."},
            )
            return None
        return body if isinstance(body, dict) else {}

    def _forgot(self, route: Route) -> None:
        body = self._take(route)
        if body is None:
            return
        if len(body) != 1 or not isinstance(body.get("username", body.get("email")), str):
            _answer(route, 400, {"error": "invalid_request", "message": "Send username or email."})
            return
        _answer(route, 202, {})  # the same answer whether or not the account exists

    def _reset(self, route: Route) -> None:
        body = self._take(route)
        if body is None:
            return
        if set(body) != {"username", "code", "new_password"}:
            _answer(
                route,
                400,
                {"error": "invalid_request", "message": "username, code and new_password are required."},
            )
        elif body["username"] != self.username or body["code"] != THE_CODE:
            _answer(route, 400, {"error": "invalid_code", "message": "The code is wrong, used or expired."})
        else:
            route.fulfill(status=204)

    def _delete(self, route: Route) -> None:
        body = self._take(route)
        if body is None:
            return
        if not (route.request.headers.get("authorization") or "").startswith("Bearer "):
            route.fulfill(status=401, headers={"WWW-Authenticate": "Bearer"})
        elif set(body) != {"current_password"}:
            _answer(route, 400, {"error": "invalid_request", "message": "current_password is required."})
        elif body["current_password"] != self.password:
            _answer(route, 400, {"error": "invalid_request", "message": "The current password is wrong."})
        else:
            route.fulfill(status=204)


def _answer(route: Route, status: int, body: dict[str, Any]) -> None:
    route.fulfill(status=status, content_type="application/json", body=json.dumps(body))


def add_a_device_token(page: Page) -> None:
    """Stand-in: the real token endpoint answers; a password grant's answer gains a device_token."""

    def handle(route: Route) -> None:
        answer = route.fetch()
        body = answer.json() if answer.ok else None
        if body is None or "password" not in (route.request.post_data or ""):
            route.fulfill(response=answer)
            return
        route.fulfill(response=answer, json={**body, "device_token": "stand-in-device-token"})

    page.route("**/auth/token", handle)


def test_forgot_password_then_reset_with_the_mailed_code_against_stand_in_routes(
    stack: LiveStack, new_page: Callable[[], Page]
) -> None:
    page = new_page()
    username, password = stack.new_user("forgot")
    stand_in = RecoveryStandIn(username, password)
    stand_in.install(page)
    open_demo(page, stack)

    page.click("#tab-forgot")
    expect(page.locator("#forgot-form")).to_be_visible()
    expect(page.locator("#login-form")).to_be_hidden()
    page.fill("#forgot-who", username)
    screenshot(page, "forgot-password")
    page.click("#forgot-button")

    expect(page.locator("#reset-form")).to_be_visible()
    expect(page.locator("#login-notice")).to_have_text(
        "If that account has a verified email, a code is on its way to it."
    )
    expect(page.locator("#reset-username")).to_have_value(username)
    expect(page.locator("#reset-code")).to_be_focused()
    assert stand_in.bodies("/auth/password/forgot") == [{"username": username}]
    screenshot(page, "reset-code-form")

    page.fill("#reset-code", "WRONG-CODE")
    page.fill("#reset-password", NEW_PASSWORD)
    page.click("#reset-button")
    expect(page.locator("#login-error")).to_have_text("The code is wrong, used or expired.")
    expect(page.locator("#login-notice")).to_be_hidden()  # the stale "code is on its way" went
    expect(page.locator("#events li.fail").first).to_contain_text(
        f"Password reset failed for {username}: The code is wrong, used or expired."
    )
    screenshot(page, "reset-wrong-code")

    page.fill("#reset-code", THE_CODE)
    page.click("#reset-button")

    expect(page.locator("#login-form")).to_be_visible()
    expect(page.locator("#login-notice")).to_have_text("Password changed. Log in with the new password.")
    expect(page.locator("#login-error")).to_be_hidden()
    expect(page.locator("#username")).to_have_value(username)
    expect(page.locator("#events")).to_contain_text(f"Password reset for {username}")
    assert stand_in.bodies("/auth/password/reset")[-1] == {
        "username": username,
        "code": THE_CODE,
        "new_password": NEW_PASSWORD,
    }
    screenshot(page, "reset-done")


def test_forgot_password_by_email_asks_for_the_username_with_the_code(
    stack: LiveStack, new_page: Callable[[], Page]
) -> None:
    page = new_page()
    stand_in = RecoveryStandIn("nobody", "")
    stand_in.install(page)
    open_demo(page, stack)

    page.click("#tab-forgot")
    page.fill("#forgot-who", "Someone@Example.org")
    page.click("#forgot-button")

    expect(page.locator("#reset-form")).to_be_visible()
    expect(page.locator("#reset-username")).to_have_value("")
    expect(page.locator("#reset-username")).to_be_focused()
    assert stand_in.bodies("/auth/password/forgot") == [{"email": "Someone@Example.org"}]


def test_delete_my_account_needs_the_current_password_against_a_stand_in_route(
    stack: LiveStack, new_page: Callable[[], Page]
) -> None:
    page = new_page()
    username, password = stack.new_user("delete")
    stand_in = RecoveryStandIn(username, password)
    stand_in.install(page)
    log_in(page, stack, username, password)

    expect(page.locator("#delete-form")).to_be_hidden()
    page.click("#delete-start")
    expect(page.locator("#delete-password")).to_be_focused()
    page.fill("#delete-password", "Not-my-password-1")
    page.click("#delete-button")
    expect(page.locator("#delete-error")).to_have_text("The current password is wrong.")
    expect(page.locator("#app-section")).to_be_visible()
    expect(page.locator("#events li.fail").first).to_contain_text(
        "Account deletion failed: The current password is wrong."
    )
    screenshot(page, "delete-account-wrong-password")

    page.fill("#delete-password", password)
    with page.expect_response(lambda r: path_of(r.url) == "/auth/revoke") as revoked:
        page.click("#delete-button")

    expect(page.locator("#login-section")).to_be_visible()
    expect(page.locator("#login-notice")).to_have_text("Your account is deleted.")
    expect(page.locator("#status")).to_have_text("Logged out")
    expect(page.locator("#username")).to_have_value("")
    expect(page.locator("#events")).to_contain_text(f"Deleted the account {username}")
    screenshot(page, "account-deleted")
    deletes = [(body, auth) for path, body, auth in stand_in.received if path == "/auth/account/delete"]
    assert [body for body, _ in deletes] == [
        {"current_password": "Not-my-password-1"},
        {"current_password": password},
    ]
    assert all(auth and auth.startswith("Bearer ") for _, auth in deletes)
    # This tab forgot its tokens and ended its session on the server too.
    assert revoked.value.status == 200
    assert page.evaluate("() => window.gatehouseDemo.client.loggedIn") is False


def test_a_device_token_from_a_password_grant_is_shown_against_a_stand_in_token_endpoint(
    stack: LiveStack, new_page: Callable[[], Page]
) -> None:
    page = new_page()
    username, password = stack.new_user("device")
    add_a_device_token(page)
    log_in(page, stack, username, password)

    expect(page.locator("dd.device-token")).to_be_visible()
    expect(page.locator("dd.device-token")).to_contain_text("a lockout of the name does not lock it out")
    expect(page.locator("#events")).to_contain_text("This browser got a device token")
    screenshot(page, "device-token")


def test_account_calls_go_through_the_client_when_it_has_them(
    stack: LiveStack, new_page: Callable[[], Page]
) -> None:
    page = new_page()
    stand_in = RecoveryStandIn("nobody", "")
    stand_in.install(page)
    open_demo(page, stack)
    # What a gatehouse.js with forgotPassword / resetPassword looks like to the page.
    page.evaluate(
        """() => {
            const { client } = window.gatehouseDemo;
            const calls = (window.clientCalls = []);
            client.forgotPassword = async (who) => { calls.push(['forgotPassword', who]); return {}; };
            client.resetPassword = async (...args) => { calls.push(['resetPassword', args]); };
        }"""
    )

    page.click("#tab-forgot")
    page.fill("#forgot-who", "someone")
    page.click("#forgot-button")
    expect(page.locator("#reset-form")).to_be_visible()
    page.fill("#reset-code", THE_CODE)
    page.fill("#reset-password", NEW_PASSWORD)
    page.click("#reset-button")
    expect(page.locator("#login-notice")).to_have_text("Password changed. Log in with the new password.")

    assert page.evaluate("() => window.clientCalls") == [
        ["forgotPassword", {"username": "someone"}],
        ["resetPassword", ["someone", THE_CODE, NEW_PASSWORD]],
    ]
    assert stand_in.received == [], "nothing went past the client"
