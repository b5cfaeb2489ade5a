"""The demo page served by an app that is not this repository's example: it has no notes API, and
the page shows no notes card, only what Gatehouse itself gives every app."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.adopt.test_without_the_example import APP_WITHOUT_NOTES
from tests.browser.demo_page import Traffic, log_in, screenshot
from tests.live_stack import DEMO_PASSWORD, ROOT, LiveStack, live_stack


@pytest.fixture(scope="module")
def bare_stack(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """A Chalice project with Gatehouse and nothing else: its own app.py, this checkout's stages."""
    project = tmp_path_factory.mktemp("bare-app")
    (project / "app.py").write_text(APP_WITHOUT_NOTES, encoding="utf-8")
    (project / ".chalice").mkdir()
    shutil.copy(ROOT / ".chalice" / "config.json", project / ".chalice" / "config.json")
    with live_stack(cwd=project) as running:
        yield running


def test_an_app_without_the_notes_api_shows_no_notes_card(
    bare_stack: LiveStack, new_page: Callable[[], Page]
) -> None:
    page = new_page()
    traffic = Traffic()
    traffic.watch(page)
    log_in(page, bare_stack, "demo", DEMO_PASSWORD)
    expect(page.locator("#sessions li")).to_have_count(1)  # the account's own cards still load
    expect(page.locator("#activity li").first).to_be_visible()
    expect(page.locator("#notes-card")).to_be_hidden()
    screenshot(page, "demo-without-notes")
    assert ("GET", "/notes", 404) in traffic.answers  # the page asked, and the app said there are none
    expect(page.locator("#events li.fail")).to_have_count(0)  # no error shown for a missing example
