"""What the demo page's browser tests share: driving the page, watching its traffic, screenshots."""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field

from playwright.sync_api import Page, Request, expect

from tests.browser.conftest import TIMEOUT_MS
from tests.live_stack import ROOT, LiveStack

expect.set_options(timeout=TIMEOUT_MS)

# One PNG per state of the page, for a reviewer to look at (build/ is not committed).
SCREENSHOTS = ROOT / "build" / "screenshots"
LOCKOUT_SENTENCE = re.compile(r"^Too many failed attempts\. Try again in (\d+) s\.$")


@dataclass
class Traffic:
    """What the page sent: (method, path, grant_type or None, Authorization header or None)."""

    sent: list[tuple[str, str, str | None, str | None]] = field(default_factory=list)
    answers: list[tuple[str, str, int]] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("request", self._on_request)
        page.on("response", lambda r: self.answers.append((r.request.method, path_of(r.url), r.status)))

    def _on_request(self, request: Request) -> None:
        grant = None
        if path_of(request.url) == "/auth/token":
            grant = urllib.parse.parse_qs(request.post_data or "").get("grant_type", [None])[0]
        self.sent.append((request.method, path_of(request.url), grant, request.headers.get("authorization")))

    def grants(self) -> list[str | None]:
        return [grant for _, path, grant, _ in self.sent if path == "/auth/token"]


def path_of(url: str) -> str:
    return urllib.parse.urlsplit(url).path


def screenshot(page: Page, state: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("() => window.scrollTo(0, 0)")  # the events card is sticky: show it at the top
    page.screenshot(path=str(SCREENSHOTS / f"{state}.png"), full_page=True)


def open_demo(page: Page, stack: LiveStack) -> None:
    page.goto(stack.base_url + "/")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.locator("#login-section")).to_be_visible()


def log_in(page: Page, stack: LiveStack, username: str, password: str, device: str = "") -> None:
    open_demo(page, stack)
    submit_login(page, username, password, device)
    expect(page.locator("#whoami")).to_have_text(username)
    expect(page.locator("#app-section")).to_be_visible()


def submit_login(page: Page, username: str, password: str, device: str = "") -> None:
    page.click("#tab-login")
    page.fill("#username", username)
    page.fill("#password", password)
    if device:
        page.fill("#device", device)
    page.click("#login-button")


def add_note(page: Page, text: str) -> None:
    page.fill("#note-text", text)
    page.click("#add-note")
    expect(page.locator("#notes .note-text", has_text=text)).to_be_visible()
