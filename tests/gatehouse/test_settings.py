"""Unit tests for gatehouse.settings: defaults, parsing, bounds, errors naming the variable."""

from __future__ import annotations

import dataclasses

import pytest

from gatehouse.errors import ConfigError
from gatehouse.settings import (
    ARGON2_MIN_MEMORY_KIB,
    ARGON2_MIN_TIME_COST,
    Settings,
    authorizer_ttl,
    load_settings,
)
from gatehouse.web.responses import rendering_of

# (variable suffix, Settings field, lowest allowed, highest allowed)
INT_SETTINGS = [
    ("ACCESS_TOKEN_TTL", "access_token_ttl", 30, 24 * 3600),
    ("LEEWAY", "leeway", 0, 300),
    ("SESSION_TTL", "session_ttl", 300, 365 * 24 * 3600),
    ("REFRESH_GRACE", "refresh_grace", 0, 60),
    ("LOCKOUT_THRESHOLD", "lockout_threshold", 1, 100),
    ("LOCKOUT_BASE_SECONDS", "lockout_base_seconds", 1, 3600),
    ("LOCKOUT_MAX_SECONDS", "lockout_max_seconds", 1, 86400),
    ("LOCKOUT_WINDOW_SECONDS", "lockout_window_seconds", 60, 7 * 86400),
    ("LOCKOUT_MAX_CONSECUTIVE", "lockout_max_consecutive", 1, 100),
    ("MAX_SESSIONS_PER_USER", "max_sessions_per_user", 1, 90),
    ("SESSION_CACHE_SECONDS", "session_cache_seconds", 0, 300),
    ("MAX_TOKEN_BYTES", "max_token_bytes", 1024, 65536),
    ("ARGON2_TIME_COST", "argon2_time_cost", 2, 20),
    ("ARGON2_MEMORY_KIB", "argon2_memory_kib", 19456, 1024 * 1024),
    ("ARGON2_PARALLELISM", "argon2_parallelism", 1, 8),
    ("EMAIL_CODE_TTL", "email_code_ttl", 300, 7 * 24 * 3600),
    ("RESET_CODE_TTL", "reset_code_ttl", 60, 3600),
    ("FORGOT_MIN_MS", "forgot_min_ms", 0, 5000),
    ("MFA_REMEMBER_DAYS", "mfa_remember_days", 0, 365),
    ("EVENT_RETENTION_DAYS", "event_retention_days", 1, 3650),
]
INT_IDS = [name for name, *_ in INT_SETTINGS]

STR_SETTINGS = [
    ("ISSUER", "issuer"),
    ("AUDIENCE", "audience"),
    ("USERS_TABLE", "users_table"),
    ("SESSIONS_TABLE", "sessions_table"),
    ("ATTEMPTS_TABLE", "attempts_table"),
    ("EVENTS_TABLE", "events_table"),
    ("SIGNING_KEY_PARAM", "signing_key_param"),
    ("JWKS", "jwks"),
    ("MAIL_FROM", "mail_from"),
    ("MAIL_CONFIGURATION_SET", "mail_configuration_set"),
    ("MFA_ISSUER_NAME", "mfa_issuer_name"),
    ("MFA_KEY_PARAM", "mfa_key_param"),
]

# (variable suffix, Settings field, default)
BOOL_SETTINGS = [
    ("ALLOW_SIGNUP", "allow_signup", True),
    ("CHECK_SESSIONS", "check_sessions", True),
    ("PRELOAD_SIGNING_KEY", "preload_signing_key", False),
    ("DEMO_PAGE", "demo_page", False),
    ("REQUIRE_EMAIL", "require_email", False),
    ("MAIL_ECHO", "mail_echo", False),
    ("ADMIN_REQUIRES_MFA", "admin_requires_mfa", False),
    ("NEW_DEVICE_NOTICE", "new_device_notice", True),
]
BOOL_IDS = [name for name, *_ in BOOL_SETTINGS]


def env(name: str, value: str) -> dict[str, str]:
    return {f"GATEHOUSE_{name}": value}


# -- defaults -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("issuer", "gatehouse"),
        ("audience", "gatehouse-api"),
        ("access_token_ttl", 900),
        ("leeway", 30),
        ("session_ttl", 30 * 24 * 3600),
        ("refresh_grace", 10),
        ("lockout_threshold", 5),
        ("lockout_base_seconds", 30),
        ("lockout_max_seconds", 3600),
        ("lockout_window_seconds", 900),
        ("lockout_max_consecutive", 100),
        ("max_sessions_per_user", 20),
        ("attempts_table", "gatehouse-attempts"),
        ("events_table", "gatehouse-events"),
        ("event_retention_days", 90),
        ("new_device_notice", True),
        ("check_sessions", True),
        ("session_cache_seconds", 5),
        ("max_token_bytes", 8192),
        ("users_table", "gatehouse-users"),
        ("sessions_table", "gatehouse-sessions"),
        ("signing_key_param", "/gatehouse/signing-key"),
        ("jwks", ""),
        ("allow_signup", True),
        ("argon2_time_cost", 2),
        ("argon2_memory_kib", 19456),
        ("argon2_parallelism", 1),
        ("demo_page", False),
    ],
)
def test_empty_environment_gives_the_documented_default(field: str, expected: object) -> None:
    assert getattr(load_settings({}), field) == expected


def test_empty_environment_gives_exactly_the_dataclass_defaults() -> None:
    assert load_settings({}) == Settings()


def test_default_access_token_lifetime_is_fifteen_minutes_and_sessions_thirty_days() -> None:
    settings = load_settings({})
    assert settings.access_token_ttl == 15 * 60
    assert settings.session_ttl == 30 * 86400


def test_argon2_minimums_are_the_owasp_values() -> None:
    assert ARGON2_MIN_MEMORY_KIB == 19456  # 19 MiB
    assert ARGON2_MIN_TIME_COST == 2


def test_default_argon2_parameters_meet_the_owasp_minimums() -> None:
    settings = load_settings({})
    assert settings.argon2_memory_kib >= 19456
    assert settings.argon2_time_cost >= 2
    assert settings.argon2_parallelism >= 1


def test_unrelated_and_unprefixed_variables_are_ignored() -> None:
    settings = load_settings(
        {"ISSUER": "nope", "LEEWAY": "x", "gatehouse_leeway": "x", "GATEHOUSE_UNKNOWN": "y", "PATH": "/bin"}
    )
    assert settings == Settings()


def test_default_authorizer_ttl_is_one_minute() -> None:
    assert authorizer_ttl({}) == 60
    assert authorizer_ttl({"GATEHOUSE_AUTHORIZER_TTL": ""}) == 60


def test_settings_are_frozen() -> None:
    settings = load_settings({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.leeway = 0  # type: ignore[misc]


# -- integers -------------------------------------------------------------------


@pytest.mark.parametrize(("name", "field", "low", "high"), INT_SETTINGS, ids=INT_IDS)
def test_integer_setting_accepts_both_bounds(name: str, field: str, low: int, high: int) -> None:
    assert getattr(load_settings(env(name, str(low))), field) == low
    assert getattr(load_settings(env(name, str(high))), field) == high


@pytest.mark.parametrize(("name", "field", "low", "high"), INT_SETTINGS, ids=INT_IDS)
def test_integer_setting_changes_only_its_own_field(name: str, field: str, low: int, high: int) -> None:
    value = low + 1 if low + 1 != getattr(Settings(), field) else high
    settings = load_settings(env(name, str(value)))

    assert getattr(settings, field) == value
    assert dataclasses.replace(settings, **{field: getattr(Settings(), field)}) == Settings()


@pytest.mark.parametrize(("name", "field", "low", "high"), INT_SETTINGS, ids=INT_IDS)
def test_integer_setting_below_its_minimum_is_an_error_naming_the_variable(
    name: str, field: str, low: int, high: int
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env(name, str(low - 1)))
    assert f"GATEHOUSE_{name}" in info.value.message
    assert f"between {low} and {high}" in info.value.message


@pytest.mark.parametrize(("name", "field", "low", "high"), INT_SETTINGS, ids=INT_IDS)
def test_integer_setting_above_its_maximum_is_an_error_naming_the_variable(
    name: str, field: str, low: int, high: int
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env(name, str(high + 1)))
    assert f"GATEHOUSE_{name}" in info.value.message
    assert str(high + 1) in info.value.message


@pytest.mark.parametrize(("name", "field", "low", "high"), INT_SETTINGS, ids=INT_IDS)
@pytest.mark.parametrize("raw", ["abc", "1.5", "1e3", "0x10", "ten", "5 5", "--5", "true"])
def test_integer_setting_that_is_not_a_whole_number_is_an_error_naming_the_variable(
    name: str, field: str, low: int, high: int, raw: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env(name, raw))
    assert f"GATEHOUSE_{name}" in info.value.message
    assert "whole number" in info.value.message
    assert repr(raw) in info.value.message


@pytest.mark.parametrize(("name", "field", "low", "high"), INT_SETTINGS, ids=INT_IDS)
def test_empty_integer_setting_means_the_default(name: str, field: str, low: int, high: int) -> None:
    assert getattr(load_settings(env(name, "")), field) == getattr(Settings(), field)


def test_integer_setting_tolerates_surrounding_whitespace() -> None:
    assert load_settings(env("LEEWAY", "  45\n")).leeway == 45


def test_negative_leeway_is_refused() -> None:
    with pytest.raises(ConfigError, match="GATEHOUSE_LEEWAY"):
        load_settings(env("LEEWAY", "-1"))


def test_zero_leeway_is_allowed() -> None:
    assert load_settings(env("LEEWAY", "0")).leeway == 0


@pytest.mark.parametrize(
    ("name", "too_weak"),
    [
        ("ARGON2_MEMORY_KIB", 19455),
        ("ARGON2_MEMORY_KIB", 4096),
        ("ARGON2_TIME_COST", 1),
        ("ARGON2_TIME_COST", 0),
    ],
)
def test_argon2_below_the_owasp_minimum_is_refused(name: str, too_weak: int) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env(name, str(too_weak)))
    assert f"GATEHOUSE_{name}" in info.value.message


def test_argon2_exactly_at_the_owasp_minimum_is_accepted() -> None:
    settings = load_settings({"GATEHOUSE_ARGON2_MEMORY_KIB": "19456", "GATEHOUSE_ARGON2_TIME_COST": "2"})
    assert (settings.argon2_memory_kib, settings.argon2_time_cost) == (19456, 2)


def test_first_invalid_variable_is_reported_even_when_others_are_valid() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"GATEHOUSE_LEEWAY": "10", "GATEHOUSE_SESSION_TTL": "1"})
    assert "GATEHOUSE_SESSION_TTL" in info.value.message
    assert "GATEHOUSE_LEEWAY" not in info.value.message


def test_config_error_is_a_500_server_misconfigured() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env("LEEWAY", "x"))
    assert rendering_of(info.value).status == 500
    assert info.value.code == "server_misconfigured"


# -- booleans -------------------------------------------------------------------


@pytest.mark.parametrize(("name", "field", "default"), BOOL_SETTINGS, ids=BOOL_IDS)
@pytest.mark.parametrize("raw", ["1", "true", "TRUE", "True", "yes", "on", " On "])
def test_boolean_setting_truthy_spellings_mean_true(name: str, field: str, default: bool, raw: str) -> None:
    assert getattr(load_settings(env(name, raw)), field) is True


@pytest.mark.parametrize(("name", "field", "default"), BOOL_SETTINGS, ids=BOOL_IDS)
@pytest.mark.parametrize("raw", ["0", "false", "FALSE", "no", "off", " Off\n"])
def test_boolean_setting_falsy_spellings_mean_false(name: str, field: str, default: bool, raw: str) -> None:
    assert getattr(load_settings(env(name, raw)), field) is False


@pytest.mark.parametrize(("name", "field", "default"), BOOL_SETTINGS, ids=BOOL_IDS)
def test_empty_boolean_setting_means_the_default(name: str, field: str, default: bool) -> None:
    assert getattr(load_settings(env(name, "")), field) is default


@pytest.mark.parametrize(("name", "field", "default"), BOOL_SETTINGS, ids=BOOL_IDS)
@pytest.mark.parametrize("raw", ["maybe", "2", "y", "n", "enabled", "t", "-1", " "])
def test_boolean_setting_that_is_not_a_boolean_is_an_error_naming_the_variable(
    name: str, field: str, default: bool, raw: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env(name, raw))
    assert f"GATEHOUSE_{name}" in info.value.message
    assert "true or false" in info.value.message


# -- strings --------------------------------------------------------------------


@pytest.mark.parametrize(("name", "field"), STR_SETTINGS, ids=[n for n, _ in STR_SETTINGS])
def test_string_setting_is_read_and_stripped(name: str, field: str) -> None:
    assert getattr(load_settings(env(name, "  custom-value \n")), field) == "custom-value"


@pytest.mark.parametrize(("name", "field"), STR_SETTINGS, ids=[n for n, _ in STR_SETTINGS])
@pytest.mark.parametrize("raw", ["", "   ", "\t\n"])
def test_blank_string_setting_means_the_default(name: str, field: str, raw: str) -> None:
    assert getattr(load_settings(env(name, raw)), field) == getattr(Settings(), field)


def test_every_settings_field_is_read_from_its_own_variable() -> None:
    # A full environment built from the tables above changes every field, so
    # a new setting without a variable (or without tests here) fails this test.
    full: dict[str, str] = {}
    for name, field, low, high in INT_SETTINGS:
        default = getattr(Settings(), field)
        full[f"GATEHOUSE_{name}"] = str(high if default != high else low)
    for name, field in STR_SETTINGS:
        full[f"GATEHOUSE_{name}"] = f"custom-{field}"
    for name, _field, default in BOOL_SETTINGS:
        full[f"GATEHOUSE_{name}"] = "false" if default else "true"
    full["GATEHOUSE_CORS_ORIGINS"] = "https://app.example.com"  # the list: tests/gatehouse/web/test_cors.py
    full["GATEHOUSE_RESET_URL"] = "https://app.example.com/reset"

    settings = load_settings(full)

    fields = {f.name for f in dataclasses.fields(Settings)}
    changed = {name for name in fields if getattr(settings, name) != getattr(Settings(), name)}
    assert changed == fields


# -- authorizer TTL -------------------------------------------------------------


@pytest.mark.parametrize("raw", ["0", "1", "300", "3600", " 120 "])
def test_authorizer_ttl_within_bounds_is_used(raw: str) -> None:
    assert authorizer_ttl({"GATEHOUSE_AUTHORIZER_TTL": raw}) == int(raw)


@pytest.mark.parametrize("raw", ["-1", "3601", "86400", "abc", "1.5", "60s"])
def test_authorizer_ttl_out_of_bounds_or_not_a_number_is_an_error_naming_the_variable(raw: str) -> None:
    with pytest.raises(ConfigError) as info:
        authorizer_ttl({"GATEHOUSE_AUTHORIZER_TTL": raw})
    assert "GATEHOUSE_AUTHORIZER_TTL" in info.value.message


def test_authorizer_ttl_is_not_a_settings_field_and_load_settings_ignores_it() -> None:
    assert load_settings({"GATEHOUSE_AUTHORIZER_TTL": "not-a-number"}) == Settings()


# -- the reset link -----------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "https://app.example.com/reset",
        "https://app.example.com",
        "http://localhost:8000/",
        "http://127.0.0.1",
    ],
)
def test_reset_url_takes_https_or_a_loopback_http_url(raw: str) -> None:
    assert load_settings({"GATEHOUSE_RESET_URL": raw}).reset_url == raw


@pytest.mark.parametrize(
    "raw",
    [
        "http://app.example.com/reset",  # a code must not travel in clear text
        "https://app.example.com/reset?x=1",  # the code is appended as the query
        "https://app.example.com/#reset",
        "javascript:alert(1)",
        "https://app.example.com/a b",
        "app.example.com/reset",
    ],
)
def test_reset_url_that_could_leak_or_break_the_code_is_an_error_naming_the_variable(raw: str) -> None:
    with pytest.raises(ConfigError, match="GATEHOUSE_RESET_URL"):
        load_settings({"GATEHOUSE_RESET_URL": raw})


@pytest.mark.parametrize("raw", ["Acme:Corp", "x" * 65, "tab\there"])
def test_an_issuer_name_authenticator_apps_cannot_show_is_refused(raw: str) -> None:
    with pytest.raises(ConfigError, match="GATEHOUSE_MFA_ISSUER_NAME"):
        load_settings(env("MFA_ISSUER_NAME", raw))
