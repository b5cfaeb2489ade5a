"""CORS settings and the pure allowlist functions every answering party shares.

The app's answers through ``chalice.test.Client`` are in test_cors_app.py,
the local stack over real HTTP in test_cors_live.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from chalice.cli.factory import CLIFactory

from gatehouse.errors import ConfigError
from gatehouse.origins import DEV_ORIGINS
from gatehouse.settings import load_settings, read_cors_origins
from gatehouse.web import cors

ROOT = Path(__file__).resolve().parents[3]
NEW = "GATEHOUSE_CORS_ORIGINS"
OLD = "GATEHOUSE_CORS_ORIGIN"


# -- GATEHOUSE_CORS_ORIGINS ------------------------------------------------------------------


def test_two_origins_are_both_listed() -> None:
    assert read_cors_origins({NEW: "https://app.example.com,capacitor://localhost"}) == (
        "https://app.example.com",
        "capacitor://localhost",
    )


def test_three_origins_with_mobile_schemes_and_spaces_are_listed_in_order() -> None:
    raw = " ionic://localhost , app://localhost,  http://localhost:8100 "
    assert read_cors_origins({NEW: raw}) == ("ionic://localhost", "app://localhost", "http://localhost:8100")


def test_origins_are_written_as_browsers_send_them() -> None:
    # A browser sends a lower-case origin without the scheme's default port.
    raw = "HTTPS://App.Example.com:443,http://example.org:80,http://example.org:08080,http://[::1]:3000"
    assert read_cors_origins({NEW: raw}) == (
        "https://app.example.com",
        "http://example.org",
        "http://example.org:8080",
        "http://[::1]:3000",
    )


def test_an_origin_listed_twice_is_kept_once() -> None:
    assert read_cors_origins({NEW: "https://a.example.com,https://A.example.com:443"}) == (
        "https://a.example.com",
    )


def test_star_alone_allows_every_origin() -> None:
    assert read_cors_origins({NEW: " * "}) == ("*",)


def test_an_empty_list_allows_nothing_even_where_a_default_would() -> None:
    assert read_cors_origins({NEW: "", "GATEHOUSE_CORS_DEFAULTS": "dev"}) == ()
    assert read_cors_origins({NEW: "  "}) == ()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("https://app.example.com/", "no path"),
        ("https://app.example.com/path", "no path"),
        ("https://app.example.com?x=1", "no path"),
        ("app.example.com", "not an origin"),
        ("null", "not an origin"),
        ("javascript:alert(1)", "not an origin"),
        ("https://user@app.example.com", "not an origin"),
        ("ftp://files.example.com", "scheme 'ftp'"),
        ("file://localhost", "scheme 'file'"),
        ("https://*.example.com", "not an origin"),
        ("http://localhost:*", "port wildcard"),
        ("http://localhost:0", "does not exist"),
        ("http://localhost:70000", "does not exist"),
        ("https://a.example.com https://b.example.com", "not an origin"),
        ("https://a.example.com,,https://b.example.com", "empty entry"),
        ("https://a.example.com,", "empty entry"),
        ("*,https://a.example.com", "only entry"),
    ],
)
def test_anything_but_exact_origins_is_refused_naming_the_variable(raw: str, reason: str) -> None:
    with pytest.raises(ConfigError) as raised:
        read_cors_origins({NEW: raw})
    assert NEW in raised.value.message
    assert reason in raised.value.message


def test_load_settings_carries_the_list() -> None:
    settings = load_settings({NEW: "https://a.example.com,app://localhost"})
    assert settings.cors_origins == ("https://a.example.com", "app://localhost")


# -- the one-origin variable of earlier versions -------------------------------------------------


def test_old_variable_still_works_as_a_list_of_one() -> None:
    assert read_cors_origins({OLD: "https://app.example.com"}) == ("https://app.example.com",)
    assert read_cors_origins({OLD: "*"}) == ("*",)
    assert read_cors_origins({OLD: "capacitor://localhost"}) == ("capacitor://localhost",)


def test_old_variable_replaces_the_dev_default_too() -> None:
    env = {OLD: "https://app.example.com", "GATEHOUSE_CORS_DEFAULTS": "dev"}
    assert read_cors_origins(env) == ("https://app.example.com",)


def test_several_origins_in_the_old_variable_point_to_the_new_one() -> None:
    with pytest.raises(ConfigError) as raised:
        read_cors_origins({OLD: "https://a.example.com,https://b.example.com"})
    assert OLD in raised.value.message
    assert NEW in raised.value.message


def test_a_bad_old_value_names_both_variables() -> None:
    with pytest.raises(ConfigError) as raised:
        read_cors_origins({OLD: "https://a.example.com/"})
    assert OLD in raised.value.message
    assert NEW in raised.value.message


def test_both_variables_agreeing_give_the_new_list() -> None:
    env = {OLD: "https://b.example.com", NEW: "https://a.example.com,https://b.example.com"}
    assert read_cors_origins(env) == ("https://a.example.com", "https://b.example.com")


def test_both_variables_disagreeing_are_refused() -> None:
    with pytest.raises(ConfigError) as raised:
        read_cors_origins({OLD: "https://c.example.com", NEW: "https://a.example.com"})
    assert f"set only {NEW}" in raised.value.message


# -- defaults per stage ------------------------------------------------------------------------


def test_without_configuration_nothing_is_allowed() -> None:
    assert read_cors_origins({}) == ()
    assert load_settings({}).cors_origins == ()


def test_dev_defaults_allow_localhost_and_the_ios_webviews() -> None:
    allowed = read_cors_origins({"GATEHOUSE_CORS_DEFAULTS": "dev"})
    for origin in (
        "http://localhost:3000",
        "http://localhost:5173",
        "https://localhost:8443",
        "http://localhost",
        "http://127.0.0.1:8100",
        "https://127.0.0.1:4200",
        "capacitor://localhost",
        "ionic://localhost",
    ):
        assert cors.allowed_origin(origin, allowed) == origin, origin


@pytest.mark.parametrize(
    "origin",
    [
        "http://localhost.evil.example",
        "http://localhost:3000.evil.example",
        "http://localhost:3000/",
        "http://localhost:",
        "http://localhost:abc",
        "http://localhost:123456",
        "http://127.0.0.2:3000",
        "http://evil.example",
        "capacitor://localhost:8080",
        "app://localhost:8080",
        "app://evil.example",
        "null",
        "",
    ],
)
def test_dev_defaults_allow_nothing_else(origin: str) -> None:
    assert cors.allowed_origin(origin, read_cors_origins({"GATEHOUSE_CORS_DEFAULTS": "dev"})) is None


def test_a_configured_list_replaces_the_dev_defaults() -> None:
    allowed = read_cors_origins({"GATEHOUSE_CORS_DEFAULTS": "dev", NEW: "https://app.example.com"})
    assert allowed == ("https://app.example.com",)
    assert cors.allowed_origin("http://localhost:3000", allowed) is None


def test_an_unknown_default_is_refused_naming_the_variable() -> None:
    with pytest.raises(ConfigError) as raised:
        read_cors_origins({"GATEHOUSE_CORS_DEFAULTS": "prod"})
    assert "GATEHOUSE_CORS_DEFAULTS" in raised.value.message


def _stage_environment(stage: str, environ: dict[str, str]) -> dict[str, str]:
    """The environment the app sees under `chalice local --stage <stage>` / `make run`.

    Chalice's CLI loads the app with the stage's environment variables
    written over the process environment (CLIFactory.load_chalice_app);
    this runs that very code on a copy.
    """
    factory = CLIFactory(str(ROOT), environ=environ)
    config = factory.create_config_obj(chalice_stage_name=stage)
    factory.load_chalice_app(config.environment_variables)
    return environ


def test_the_dev_stage_allows_localhost_without_configuration() -> None:
    env = _stage_environment("dev", {})
    assert read_cors_origins(env) == DEV_ORIGINS


def test_a_list_in_the_environment_of_the_dev_stage_replaces_its_default() -> None:
    env = _stage_environment("dev", {NEW: "https://app.example.com,capacitor://localhost"})
    assert read_cors_origins(env) == ("https://app.example.com", "capacitor://localhost")


def test_the_prod_stage_allows_nothing_until_configured() -> None:
    assert read_cors_origins(_stage_environment("prod", {})) == ()
    assert read_cors_origins(_stage_environment("prod", {NEW: "https://app.example.com"})) == (
        "https://app.example.com",
    )


# -- the headers ---------------------------------------------------------------------------------

LISTED = ("https://a.example.com", "capacitor://localhost")


def test_a_listed_origin_is_reflected_with_vary_and_exposed_headers() -> None:
    headers = cors.response_headers("capacitor://localhost", LISTED)
    assert headers == {
        "Vary": "Origin",
        "Access-Control-Allow-Origin": "capacitor://localhost",
        "Access-Control-Expose-Headers": "WWW-Authenticate, Retry-After",
    }


@pytest.mark.parametrize("origin", ["https://b.example.com", "https://A.example.com", "null", None])
def test_another_origin_gets_only_vary(origin: str | None) -> None:
    assert cors.response_headers(origin, LISTED) == {"Vary": "Origin"}


def test_star_answers_star_for_any_origin_without_vary() -> None:
    for origin in ("https://b.example.com", None):
        headers = cors.response_headers(origin, ("*",))
        assert headers["Access-Control-Allow-Origin"] == "*"
        assert "Vary" not in headers


def test_no_allowlist_means_no_header_at_all() -> None:
    assert cors.response_headers("https://a.example.com", ()) == {}
    assert cors.preflight_headers("https://a.example.com", (), ["GET"]) == {}


def test_preflight_for_a_listed_origin_allows_the_path_methods_and_the_two_headers() -> None:
    headers = cors.preflight_headers("https://a.example.com", LISTED, ["post", "GET"])
    assert headers == {
        "Vary": "Origin",
        "Access-Control-Allow-Origin": "https://a.example.com",
        "Access-Control-Allow-Methods": "GET, OPTIONS, POST",
        "Access-Control-Allow-Headers": "Authorization, Content-Type",
        "Access-Control-Max-Age": "600",
    }
    assert not any(name.lower() == "access-control-allow-credentials" for name in headers)


def test_preflight_for_another_origin_allows_nothing() -> None:
    assert cors.preflight_headers("https://evil.example", LISTED, ["GET"]) == {"Vary": "Origin"}


def test_path_methods_are_the_route_methods_and_options() -> None:
    routes: dict[str, dict[str, Any]] = {"/notes/{note_id}": {"GET": 1, "PUT": 2, "DELETE": 3}}
    assert cors.path_methods(routes, "/notes/{note_id}") == ("DELETE", "GET", "OPTIONS", "PUT")
    assert cors.path_methods(routes, "/other") == ("OPTIONS",)


def test_headers_a_view_set_are_kept_and_vary_is_merged() -> None:
    target: dict[str, Any] = {"Access-Control-Max-Age": "5", "vary": "Accept-Encoding"}
    cors.add_headers(target, cors.response_headers("https://a.example.com", LISTED))
    assert target["vary"] == "Accept-Encoding, Origin"
    assert "Vary" not in target
    assert target["Access-Control-Max-Age"] == "5"
    assert target["Access-Control-Allow-Origin"] == "https://a.example.com"
    cors.add_headers(target, {"Vary": "origin"})
    assert target["vary"] == "Accept-Encoding, Origin"


def test_request_headers_are_found_whatever_their_case() -> None:
    assert cors.header({"origin": "https://a.example.com"}, "Origin") == "https://a.example.com"
    assert cors.header({"ORIGIN": "x"}, "origin") == "x"
    assert cors.header(None, "Origin") is None


def test_the_dev_default_allows_every_app_origin_the_clients_guide_names() -> None:
    # What a developer following docs/CLIENTS.md runs on a phone must work with plain `make run`.
    guide = (ROOT / "docs" / "CLIENTS.md").read_text(encoding="utf-8")
    section = guide.split("## Origins per platform", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "://" in line]
    app_rows = [row for row in rows if not row.startswith(("| web app", "| any page"))]
    origins = {o for row in app_rows for o in re.findall(r"`([a-z]+://localhost)`", row.split("|")[2])}
    assert {"capacitor://localhost", "https://localhost", "app://localhost", "ionic://localhost"} <= origins
    refused = sorted(o for o in origins if cors.allowed_origin(o, DEV_ORIGINS) != o)
    assert not refused, f"make run's default origins refuse {refused}"
