"""Browser tests: Playwright (Python) driving Debian's Chromium, headless, against the local stack.

Run with ``make test-browser`` (``pytest tests/browser``); a run that does not
name tests/browser never collects them (tests/conftest.py).  Needs
``/usr/bin/chromium`` (``apt-get install chromium``) and the ``playwright``
package from requirements-tools.txt; Playwright's own browser download is never
used.  Without Chromium they are skipped, except in CI (``CI=true``), where
that is a failure.
"""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.live_stack import ROOT, LiveStack, free_port, live_stack

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

HERE = Path(__file__).resolve().parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium phones home, and the closed network refuses its connections.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ACCESS_TOKEN_TTL = 30  # the minimum GATEHOUSE_ACCESS_TOKEN_TTL allows
TIMEOUT_MS = 10_000

# The cross-origin test page: (path -> file, content type).
STATIC_FILES = {
    "/": (HERE / "cross_origin" / "index.html", "text/html; charset=utf-8"),
    "/page.js": (HERE / "cross_origin" / "page.js", "text/javascript; charset=utf-8"),
    "/gatehouse.js": (ROOT / "client" / "gatehouse.js", "text/javascript; charset=utf-8"),
}


class StaticOrigin:
    """A tiny http.server on 127.0.0.1 serving STATIC_FILES: another origin than the API."""

    def __init__(self) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                entry = STATIC_FILES.get(self.path.split("?", 1)[0])
                if entry is None:
                    self.send_error(404)
                    return
                body = entry[0].read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", entry[1])
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="static-origin", daemon=True)

    def __enter__(self) -> StaticOrigin:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: apt-get install -y chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests must run in CI, but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def allowed_origin() -> Iterator[StaticOrigin]:
    with StaticOrigin() as origin:
        yield origin


@pytest.fixture(scope="session")
def other_origin() -> Iterator[StaticOrigin]:
    with StaticOrigin() as origin:
        yield origin


@pytest.fixture(scope="session")
def stack(browser: Browser, allowed_origin: StaticOrigin) -> Iterator[LiveStack]:
    settings = {
        "GATEHOUSE_ACCESS_TOKEN_TTL": str(ACCESS_TOKEN_TTL),
        "GATEHOUSE_LEEWAY": "0",
        # A session ended elsewhere is refused at once, not after the cache's seconds.
        "GATEHOUSE_SESSION_CACHE_SECONDS": "0",
        "GATEHOUSE_CORS_ORIGINS": allowed_origin.origin,
    }
    with live_stack(settings) as running:
        yield running


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[[], Page]]:
    """Pages in fresh contexts (separate cookies, storage: separate browsers, in effect)."""
    contexts: list[BrowserContext] = []

    def make() -> Page:
        # Every context gets an empty profile: Playwright launches Chromium with a new temporary
        # user-data dir, and contexts share nothing.
        context = browser.new_context()
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def assert_no_horizontal_scroll(page: Page) -> None:
    """Nothing on the page is wider than the screen (a phone from 360 px must never scroll sideways)."""
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the page is {widths[0]} px wide on a {widths[1]} px screen"
