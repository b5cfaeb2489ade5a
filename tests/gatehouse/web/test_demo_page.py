"""The dev demo page: served only when GATEHOUSE_DEMO_PAGE is on, with a strict CSP and no inline code."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from chalice.test import Client

import app as gatehouse_app
from gatehouse.services import Services
from gatehouse.web import demo
from tests.conftest import ROOT, json_body

PATHS = ["/", "/client/gatehouse.js", "/client/demo.js", "/client/demo.css", "/client/favicon.svg"]


@pytest.fixture
def demo_client(make_runtime: Callable[..., Services]) -> Client:
    make_runtime(demo_page=True)
    return Client(gatehouse_app.app, project_dir=str(ROOT))


@pytest.mark.parametrize("path", [*PATHS, "/client/nope.js"])
def test_everything_is_404_when_the_demo_page_is_off(client: Client, path: str) -> None:
    response = client.http.get(path)
    assert response.status_code == 404
    assert json_body(response)["error"] == "not_found"


def test_the_page_is_html_with_a_strict_content_security_policy(demo_client: Client) -> None:
    response = demo_client.http.get("/")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert b'<script type="module" src="/client/demo.js"></script>' in response.body


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("gatehouse.js", "text/javascript"),
        ("demo.js", "text/javascript"),
        ("demo.css", "text/css"),
        ("favicon.svg", "image/svg+xml"),
    ],
)
def test_assets_are_served_with_their_types(demo_client: Client, name: str, content_type: str) -> None:
    response = demo_client.http.get(f"/client/{name}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == f"{content_type}; charset=utf-8"
    assert response.body == (demo.ASSETS / name).read_bytes()


@pytest.mark.parametrize(
    "name", ["nope.js", "index.html.bak", "..%2Fdemo.py", "%2E%2E", "DEMO.JS", "demo.js%00"]
)
def test_only_the_listed_files_are_served(demo_client: Client, name: str) -> None:
    assert demo_client.http.get(f"/client/{name}").status_code == 404


def test_the_served_client_is_the_same_as_client_gatehouse_js() -> None:
    # One source: the package's demo_assets/gatehouse.js links to the npm client's file, and
    # building the wheel stores the file itself.
    assert (demo.ASSETS / "gatehouse.js").read_bytes() == (ROOT / "client" / "gatehouse.js").read_bytes()


def test_every_asset_directory_file_is_served_and_every_served_file_exists() -> None:
    assert {p.name for p in demo.ASSETS.iterdir()} == set(demo.TYPES)


def test_every_file_the_page_links_is_one_the_demo_serves() -> None:
    # A browser asks for /favicon.ico (and logs a 404) unless the page names an icon.
    html = (demo.ASSETS / demo.INDEX).read_text()
    assert '<link rel="icon" href="/client/favicon.svg" type="image/svg+xml">' in html
    linked = re.findall(r'(?:href|src)="([^"]+)"', html)
    assert linked, "the page links its stylesheet, script and icon"
    for url in linked:
        assert url.startswith("/client/"), url
        assert url.removeprefix("/client/") in demo.TYPES, url
    imports = re.findall(r"from '\./([^']+)'", (demo.ASSETS / "demo.js").read_text())
    assert imports == ["gatehouse.js"]
    assert set(imports) <= set(demo.TYPES)


def test_the_page_has_no_inline_script_style_or_event_handler() -> None:
    html = (demo.ASSETS / demo.INDEX).read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)


def test_page_scripts_never_write_html_from_strings() -> None:
    for name in ("demo.js", "gatehouse.js"):
        source = (demo.ASSETS / name).read_text()
        assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(", source), name


def test_only_the_dev_stage_turns_the_demo_page_on() -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    assert config["stages"]["dev"]["environment_variables"]["GATEHOUSE_DEMO_PAGE"] == "true"
    assert "GATEHOUSE_DEMO_PAGE" not in config.get("environment_variables", {})
    for name, stage in config["stages"].items():
        if name != "dev":
            assert "GATEHOUSE_DEMO_PAGE" not in json.dumps(stage), name
