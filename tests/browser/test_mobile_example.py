"""The mobile example app (client/examples/capacitor/www) in Chromium, on another origin than the API.

The app's www/ folder (and gatehouse.js beside it, as its README says to copy
it) is served as a dev server would serve it, on ``http://localhost:<port>``;
the API is ``make run``'s stack on ``http://127.0.0.1:<other port>``, given to
the app as ``?api=``.  That is what a Capacitor app on Android
(``https://localhost``) or a web app on its own origin does.  The stack
allows exactly the page's origin.  A CDP session records every request the
page makes, CORS preflights included (Playwright's own request events leave
them out).
"""

from __future__ import annotations

import http.server
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.browser.conftest import ACCESS_TOKEN_TTL, TIMEOUT_MS, assert_no_horizontal_scroll
from tests.live_stack import ROOT, LiveStack, free_port, live_stack

expect.set_options(timeout=TIMEOUT_MS)

WWW = ROOT / "client" / "examples" / "capacitor" / "www"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
ENDED = "Your session has ended. Please log in again."


class ExampleServer:
    """www/ plus /gatehouse.js, on 127.0.0.1; the page is opened as http://localhost:<port>."""

    def __init__(self) -> None:
        files = {f"/{path.name}": path for path in WWW.iterdir() if path.suffix in CONTENT_TYPES}
        files["/"] = WWW / "index.html"
        files["/gatehouse.js"] = ROOT / "client" / "gatehouse.js"

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = files.get(urllib.parse.urlsplit(self.path).path)
                if path is None:
                    self.send_error(404)
                    return
                body = path.read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPES[path.suffix])
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.port = free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.origin = f"http://localhost:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="example-app", daemon=True)

    def __enter__(self) -> ExampleServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@dataclass
class Exchange:
    method: str
    url: str
    post_data: str | None
    request_headers: dict[str, str]
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return urllib.parse.urlsplit(self.url).path

    @property
    def grant(self) -> str | None:
        if self.path != "/auth/token":
            return None
        return urllib.parse.parse_qs(self.post_data or "").get("grant_type", [None])[0]


class Network:
    """Every request of a page and its answer, through the DevTools protocol; and console errors."""

    def __init__(self, page: Page, api: str) -> None:
        self.api = api
        self.exchanges: list[Exchange] = []
        self.console_errors: list[str] = []
        self._by_id: dict[str, Exchange] = {}
        page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        self._cdp = page.context.new_cdp_session(page)
        self._cdp.on("Network.requestWillBeSent", self._sent)
        self._cdp.on("Network.responseReceived", self._answered)
        self._cdp.send("Network.enable")

    def _sent(self, event: dict[str, Any]) -> None:
        request = event["request"]
        headers = {k.lower(): v for k, v in request["headers"].items()}
        exchange = Exchange(request["method"], request["url"], request.get("postData"), headers)
        self._by_id[event["requestId"] + request["method"]] = exchange
        self.exchanges.append(exchange)

    def _answered(self, event: dict[str, Any]) -> None:
        for method in ("OPTIONS", "GET", "POST", "DELETE"):
            exchange = self._by_id.get(event["requestId"] + method)
            if exchange is not None and exchange.status is None:
                exchange.status = event["response"]["status"]
                exchange.headers = {k.lower(): v for k, v in event["response"]["headers"].items()}
                return

    def api_calls(self, since: int = 0) -> list[Exchange]:
        return [e for e in self.exchanges[since:] if e.url.startswith(self.api)]

    def grants(self, since: int = 0) -> list[str | None]:
        return [e.grant for e in self.api_calls(since) if e.path == "/auth/token"]

    def wait_answered(self, page: Page, predicate: Callable[[Exchange], bool]) -> list[Exchange]:
        """The answered exchanges matching predicate, waiting (bounded) for CDP events to arrive."""
        for _ in range(100):
            found = [e for e in self.api_calls() if predicate(e) and e.status is not None]
            if found:
                return found
            page.wait_for_timeout(50)
        seen = [(e.method, e.path, e.status) for e in self.api_calls()]
        raise AssertionError(f"no such answered request among {seen}")


@pytest.fixture(scope="module")
def example() -> Iterator[ExampleServer]:
    with ExampleServer() as server:
        yield server


@pytest.fixture(scope="module")
def api(browser: Browser, example: ExampleServer) -> Iterator[LiveStack]:
    settings = {
        "GATEHOUSE_ACCESS_TOKEN_TTL": str(ACCESS_TOKEN_TTL),
        "GATEHOUSE_LEEWAY": "0",
        "GATEHOUSE_SESSION_CACHE_SECONDS": "0",
        # The allowlist: exactly the app's origin (the single-origin variable too, for a
        # stack that only knows that one).
        "GATEHOUSE_CORS_ORIGINS": example.origin,
        "GATEHOUSE_CORS_ORIGIN": example.origin,
    }
    with live_stack(settings) as running:
        yield running


def token_for(api: LiveStack, username: str, password: str) -> str:
    status, _, body = api.call(
        "POST", "/auth/token", {"grant_type": "password", "username": username, "password": password}
    )
    assert status == 200, body
    return f"Bearer {body['access_token']}"


def seed_notes(api: LiveStack, username: str, password: str, *texts: str) -> None:
    bearer = token_for(api, username, password)
    for text in texts:
        status, _, body = api.call("POST", "/notes", {"text": text}, {"Authorization": bearer})
        assert status == 201, body


def open_app(page: Page, api: LiveStack, origin: str) -> None:
    page.goto(f"{origin}/?api={urllib.parse.quote(api.base_url, safe=':/')}")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")


def log_in(page: Page, username: str, password: str) -> None:
    expect(page.locator("#login-screen")).to_be_visible()
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-button")
    expect(page.locator("#notes-screen")).to_be_visible()
    expect(page.locator("#whoami")).to_have_text(username)


def stored(page: Page) -> dict[str, str]:
    return dict(page.evaluate("Object.fromEntries(Object.entries(sessionStorage))"))


def note_texts(page: Page, count: int) -> list[str]:
    expect(page.locator("#notes li")).to_have_count(count)
    return sorted(page.locator("#notes li").all_inner_texts())


def test_logs_in_lists_notes_survives_a_restart_and_logs_out(
    api: LiveStack, example: ExampleServer, new_page: Callable[[], Page]
) -> None:
    username, password = api.new_user("mobile")
    seed_notes(api, username, password, "milk", "call the <b>plumber</b>")
    page = new_page()
    network = Network(page, api.base_url)
    open_app(page, api, example.origin)
    expect(page.locator("#storage-kind")).to_have_text("sessionStorage (browser fallback)")
    expect(page.locator("#api-url")).to_have_text(api.base_url)

    log_in(page, username, password)

    assert note_texts(page, 2) == ["call the <b>plumber</b>", "milk"]  # as text, never as markup
    # GET /notes with a bearer token is not a "simple" request: the browser asked first.
    (preflight,) = network.wait_answered(page, lambda e: e.method == "OPTIONS" and e.path == "/notes")
    assert preflight.status in (200, 204)  # 204 locally; the deployed mock integration answers 200
    assert preflight.headers["access-control-allow-origin"] == example.origin
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    access_tokens = {e.request_headers.get("authorization") for e in network.api_calls()} - {None}
    assert access_tokens
    keys = stored(page)
    assert keys["gatehouse.refresh_token"]
    assert not any(f"Bearer {value}" in access_tokens for value in keys.values()), "no access token stored"

    # A restart: the page is loaded anew, memory is gone, the stored session is resumed.
    mark = len(network.exchanges)
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.locator("#notes-screen")).to_be_visible()
    expect(page.locator("#whoami")).to_have_text(username)
    assert note_texts(page, 2) == ["call the <b>plumber</b>", "milk"]
    assert network.grants(mark) == ["refresh_token"], "resumed without the password"

    with page.expect_response(lambda r: r.url == f"{api.base_url}/auth/revoke") as revoked:
        page.click("#logout")
    assert revoked.value.status == 200
    expect(page.locator("#login-screen")).to_be_visible()
    expect(page.locator("#login-notice")).to_have_text("You are logged out.")
    assert "gatehouse.refresh_token" not in stored(page)

    mark = len(network.exchanges)
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.locator("#login-screen")).to_be_visible()
    assert network.grants(mark) == [], "nothing left to resume after logout"
    # The app's strict policy (no inline script or style) held: no violation, no missing file.
    policy = page.get_attribute('meta[http-equiv="Content-Security-Policy"]', "content") or ""
    assert "script-src 'self';" in policy
    assert "unsafe" not in policy
    assert network.console_errors == []


def test_a_refused_access_token_is_read_by_the_page_and_refreshed(
    api: LiveStack, example: ExampleServer, new_page: Callable[[], Page]
) -> None:
    username, password = api.new_user("mobile401")
    seed_notes(api, username, password, "still here")
    page = new_page()
    network = Network(page, api.base_url)
    open_app(page, api, example.origin)
    log_in(page, username, password)
    assert note_texts(page, 1) == ["still here"]

    # The next list request leaves with a token the API refuses, as an expired one would be.
    def refuse_once(route: Route) -> None:
        route.continue_(headers={**route.request.headers, "authorization": "Bearer not.a.valid-token"})

    page.route(f"{api.base_url}/notes", refuse_once, times=1)
    mark = len(network.exchanges)
    with page.expect_response(lambda r: r.url == f"{api.base_url}/notes" and r.status == 200):
        page.click("#reload")

    listings = network.wait_answered(page, lambda e: (e.method, e.path, e.status) == ("GET", "/notes", 200))
    calls = [e for e in network.api_calls(mark) if e.method != "OPTIONS"]
    answers = [(e.method, e.path, e.grant, e.status) for e in calls]
    assert answers == [
        ("GET", "/notes", None, 401),
        ("POST", "/auth/token", "refresh_token", 200),
        ("GET", "/notes", None, 200),
    ]
    refused = next(e for e in network.api_calls(mark) if e.status == 401)
    # What lets the page read the 401 at all, and see why it was refused.
    assert refused.headers["access-control-allow-origin"] == example.origin
    assert "www-authenticate" in refused.headers["access-control-expose-headers"].lower()
    assert refused.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert listings[-1].request_headers["authorization"] != refused.request_headers.get("authorization")
    expect(page.locator("#notes-screen")).to_be_visible()
    assert note_texts(page, 1) == ["still here"]
    expect(page.locator("#notes-error")).to_have_text("")


def test_a_session_ended_elsewhere_sends_the_app_back_to_the_login_form(
    api: LiveStack, example: ExampleServer, new_page: Callable[[], Page]
) -> None:
    username, password = api.new_user("mobileend")
    page = new_page()
    open_app(page, api, example.origin)
    log_in(page, username, password)
    expect(page.locator("#notes-empty")).to_be_visible()

    # "Log out everywhere" from another device.
    bearer = token_for(api, username, password)
    status, _, _ = api.call("DELETE", "/auth/sessions", headers={"Authorization": bearer})
    assert status == 204
    page.click("#reload")

    expect(page.locator("#login-screen")).to_be_visible()
    expect(page.locator("#login-notice")).to_have_text(ENDED)
    assert "gatehouse.refresh_token" not in stored(page)


def test_the_app_on_an_origin_not_allowed_cannot_reach_the_api(
    api: LiveStack, example: ExampleServer, new_page: Callable[[], Page]
) -> None:
    username, password = api.new_user("mobilecors")
    page = new_page()
    # The same files from http://127.0.0.1:<port>: another origin, not on the list.
    open_app(page, api, f"http://127.0.0.1:{example.port}")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-button")

    expect(page.locator("#login-error")).to_have_text(f"Cannot reach the API at {api.base_url}.")
    expect(page.locator("#notes-screen")).to_be_hidden()


def test_a_refused_login_says_why_and_a_note_can_be_added(
    api: LiveStack, example: ExampleServer, new_page: Callable[[], Page]
) -> None:
    username, password = api.new_user("mobile-err")
    page = new_page()
    open_app(page, api, example.origin)
    page.fill("#username", username)
    page.fill("#password", "Not-the-1-password")
    page.click("#login-button")
    expect(page.locator("#login-error")).to_be_visible()
    expect(page.locator("#login-error")).to_have_text("The username or password is wrong.")
    expect(page.locator("#login-screen")).to_be_visible()

    page.fill("#password", password)
    page.click("#login-button")
    expect(page.locator("#notes-screen")).to_be_visible()
    expect(page.locator("#login-error")).to_be_hidden()
    page.fill("#note-text", "bought from the app")
    page.click("#add-note")
    assert note_texts(page, 1) == ["bought from the app"]


@pytest.mark.parametrize("width", [360, 390])
def test_no_horizontal_scroll_on_a_phone(
    api: LiveStack, example: ExampleServer, new_page: Callable[[], Page], width: int
) -> None:
    username, password = api.new_user("narrow-" + "x" * 20)
    seed_notes(api, username, password, "a-very-long-word-" * 12, "short")
    page = new_page()
    page.set_viewport_size({"width": width, "height": 740})
    open_app(page, api, example.origin)
    page.fill("#username", username)
    page.fill("#password", "Not-the-1-password")
    page.click("#login-button")
    expect(page.locator("#login-error")).not_to_be_empty()
    assert_no_horizontal_scroll(page)
    page.fill("#password", password)
    page.click("#login-button")
    expect(page.locator("#notes-screen")).to_be_visible()
    note_texts(page, 2)
    assert_no_horizontal_scroll(page)
