"""gatehouse.js on a page from another origin than the API: CORS, including on 401/403 answers.

The page comes from a tiny http.server (conftest.StaticOrigin) whose origin
is the one in the stack's GATEHOUSE_CORS_ORIGINS; a second one, not listed,
shows the browser really enforces it.  Both are http://127.0.0.1:<port>,
which the dev stage's default would allow: the list set in the environment
must replace that default for the second page to be refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import TIMEOUT_MS, StaticOrigin
from tests.live_stack import DEMO_PASSWORD, LiveStack

expect.set_options(timeout=TIMEOUT_MS)


def open_page(new_page: Callable[[], Page], origin: StaticOrigin) -> Page:
    page = new_page()
    page.goto(origin.origin + "/")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    return page


def run(page: Page, script: str, *args: Any) -> Any:
    return page.evaluate(script, list(args))


def test_client_logs_in_writes_and_refreshes_from_another_origin(
    stack: LiveStack, allowed_origin: StaticOrigin, new_page: Callable[[], Page]
) -> None:
    page = open_page(new_page, allowed_origin)
    username, password = stack.new_user("xorigin")

    result = run(
        page,
        """async ([api, username, password]) => {
            const { client, events } = window.testPage.makeClient(api);
            await client.login(username, password, { device: 'cross-origin page' });
            const created = await client.fetch('/notes', {            // JSON + bearer: preflighted
                method: 'POST',
                headers: { 'Content-Type': 'application/json' },
                body: JSON.stringify({ text: 'from another origin' }),
            });
            window.testPage.breakAccessToken();                      // the next request gets a 401
            const listed = await client.fetch('/notes');
            const notes = await listed.json();
            const removed = await client.fetch(`/notes/${notes[0].id}`, { method: 'DELETE' });
            await client.logout();
            return { created: created.status, listed: listed.status, removed: removed.status,
                     texts: notes.map((n) => n.text), events };
        }""",
        stack.base_url,
        username,
        password,
    )

    assert result == {
        "created": 201,
        "listed": 200,
        "removed": 204,
        "texts": ["from another origin"],
        "events": ["login", "refresh", "logout"],
    }


def test_401_403_and_error_bodies_are_readable_from_another_origin(
    stack: LiveStack, allowed_origin: StaticOrigin, new_page: Callable[[], Page]
) -> None:
    page = open_page(new_page, allowed_origin)
    username, _ = stack.new_user("xerrors")

    result = run(
        page,
        """async ([api, username, demoPassword]) => {
            const read = async (response) => ({
                status: response.status,
                challenge: response.headers.get('WWW-Authenticate'),
                body: await response.json(),
            });
            const refused = { headers: { Authorization: 'Bearer nope' } };
            const garbage = await read(await fetch(`${api}/notes`, refused));
            const missing = await read(await fetch(`${api}/notes`));
            const { client } = window.testPage.makeClient(api);
            let badLogin = null;
            try {
                await client.login(username, 'Not-the-1-password');
            } catch (error) {
                const { name, status, code, message } = error;
                badLogin = { name, status, code, message };
            }
            await client.login('demo', demoPassword);
            const forbidden = await read(await client.fetch('/admin/users'));
            return { garbage, missing, badLogin, forbidden };
        }""",
        stack.base_url,
        username,
        DEMO_PASSWORD,
    )

    assert result["garbage"]["status"] == 401
    assert result["garbage"]["challenge"] == 'Bearer error="invalid_token"'
    assert result["garbage"]["body"]["error"] == "invalid_token"
    assert result["missing"]["status"] == 401
    assert result["missing"]["challenge"] == "Bearer"
    assert result["badLogin"] == {
        "name": "GatehouseError",
        "status": 400,
        "code": "invalid_grant",
        "message": "The username or password is wrong.",
    }
    assert result["forbidden"]["status"] == 403
    assert result["forbidden"]["challenge"] == 'Bearer error="insufficient_scope"'


def test_a_page_from_an_origin_not_allowed_cannot_read_the_api(
    stack: LiveStack, other_origin: StaticOrigin, new_page: Callable[[], Page]
) -> None:
    page = open_page(new_page, other_origin)

    result = run(
        page,
        """async ([api, password]) => {
            const { client } = window.testPage.makeClient(api);
            try {
                await client.login('demo', password);
                return 'logged in';
            } catch (error) {
                return error.name;
            }
        }""",
        stack.base_url,
        DEMO_PASSWORD,
    )

    assert result == "TypeError"  # the browser's CORS failure: "Failed to fetch"
