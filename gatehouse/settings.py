"""Settings read from the environment once, validated, and frozen.

Every knob Gatehouse has lives here so the table in docs/CONFIG.md, the validation and
the defaults cannot drift apart.  A bad value is a :class:`ConfigError` that
names the variable, raised on first use rather than as a 500 per request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from gatehouse.errors import ConfigError
from gatehouse.origins import ANY_ORIGIN, DEV_ORIGINS, OriginListError, parse_origins
from gatehouse.variables import PREFIX as PREFIX
from gatehouse.variables import VerifySettings, load_verify_settings
from gatehouse.variables import read_bool as _bool
from gatehouse.variables import read_int as _int
from gatehouse.variables import read_str as _str
from gatehouse.variables import token_rules as token_rules  # the verifier's rules for some settings

# OWASP Password Storage Cheat Sheet minimum for argon2id.
ARGON2_MIN_MEMORY_KIB = 19 * 1024
ARGON2_MIN_TIME_COST = 2


# The verifier's settings have their defaults and ranges in one place (gatehouse.variables).
_VERIFY = VerifySettings()


@dataclass(frozen=True)
class Settings:
    issuer: str = _VERIFY.issuer
    audience: str = _VERIFY.audience
    access_token_ttl: int = _VERIFY.access_token_ttl
    leeway: int = _VERIFY.leeway
    session_ttl: int = 30 * 24 * 3600
    refresh_grace: int = 10
    lockout_threshold: int = 5
    lockout_base_seconds: int = 30
    lockout_max_seconds: int = 3600
    # Failures count within fixed observation windows of this length, then stop counting.
    lockout_window_seconds: int = 900
    # Consecutive failures on one counter after which it admits nothing until a success, a
    # reset or an unlock (NIST SP 800-63B: at most 100 per account).
    lockout_max_consecutive: int = 100
    # Live sessions one user may hold; a login past the cap ends the oldest.
    max_sessions_per_user: int = 20
    check_sessions: bool = _VERIFY.check_sessions
    session_cache_seconds: int = _VERIFY.session_cache_seconds
    max_token_bytes: int = _VERIFY.max_token_bytes
    users_table: str = "gatehouse-users"
    sessions_table: str = _VERIFY.sessions_table
    attempts_table: str = "gatehouse-attempts"
    # Each account's security events (logins, changes, admin actions), kept this many days.
    events_table: str = "gatehouse-events"
    event_retention_days: int = 90
    # Mail the owner when their account signs in from a device that shows no device token.
    new_device_notice: bool = True
    signing_key_param: str = "/gatehouse/signing-key"
    jwks: str = _VERIFY.jwks
    allow_signup: bool = True
    preload_signing_key: bool = False
    argon2_time_cost: int = ARGON2_MIN_TIME_COST
    argon2_memory_kib: int = ARGON2_MIN_MEMORY_KIB
    argon2_parallelism: int = 1
    # The dev demo page (GET /): off unless a stage turns it on.
    demo_page: bool = False
    # Origins whose pages may read the answers (CORS); none unless configured.
    cors_origins: tuple[str, ...] = ()
    # Account recovery: an email address on the account, password reset by a mailed code.
    require_email: bool = False
    email_code_ttl: int = 24 * 3600
    reset_code_ttl: int = 15 * 60
    reset_url: str = ""
    # The least time POST /auth/password/forgot takes, so that mailing a code
    # (known account) and mailing nothing (unknown) answer alike.
    forgot_min_ms: int = 400
    mail_from: str = ""
    mail_configuration_set: str = ""
    # Print every outgoing message to stdout too (the local stack: a developer sees the codes).
    mail_echo: bool = False
    # The second factor (TOTP): the name authenticator apps show next to the account,
    # the SSM parameter holding the data key that seals the secrets, how many days a
    # device may skip the second factor after one (0: never), and whether Gatehouse's
    # own admin routes need a token from a login with a second factor (aal 2).
    mfa_issuer_name: str = "Gatehouse"
    mfa_key_param: str = "/gatehouse/mfa-key"
    mfa_remember_days: int = 30
    admin_requires_mfa: bool = False


def _url(env: Mapping[str, str], name: str) -> str:
    """An https URL (http only for a loopback host), without a query: mailed links must be safe to click."""
    raw = _str(env, name, "")
    if raw and not re.fullmatch(
        r"(https://[^\s?#]+|http://(localhost|127\.0\.0\.1)(:[0-9]{1,5})?(/[^\s?#]*)?)", raw
    ):
        raise ConfigError(
            f"{PREFIX}{name} must be an https URL without query or fragment "
            f"(http only for localhost), got {raw!r}"
        )
    return raw


def _issuer_name(env: Mapping[str, str], default: str) -> str:
    """What authenticator apps show: printable, at most 64 characters, no colon (the URI's separator)."""
    raw = _str(env, "MFA_ISSUER_NAME", default)
    if len(raw) > 64 or ":" in raw or not raw.isprintable():
        raise ConfigError(f"{PREFIX}MFA_ISSUER_NAME must be printable, at most 64 characters, no colon")
    return raw


def load_settings(env: Mapping[str, str]) -> Settings:
    d = Settings()
    v = load_verify_settings(env)
    return Settings(
        issuer=v.issuer,
        audience=v.audience,
        access_token_ttl=v.access_token_ttl,
        leeway=v.leeway,
        session_ttl=_int(env, "SESSION_TTL", d.session_ttl, 300, 365 * 24 * 3600),
        refresh_grace=_int(env, "REFRESH_GRACE", d.refresh_grace, 0, 60),
        lockout_threshold=_int(env, "LOCKOUT_THRESHOLD", d.lockout_threshold, 1, 100),
        lockout_base_seconds=_int(env, "LOCKOUT_BASE_SECONDS", d.lockout_base_seconds, 1, 3600),
        lockout_max_seconds=_int(env, "LOCKOUT_MAX_SECONDS", d.lockout_max_seconds, 1, 86400),
        lockout_window_seconds=_int(env, "LOCKOUT_WINDOW_SECONDS", d.lockout_window_seconds, 60, 7 * 86400),
        lockout_max_consecutive=_int(env, "LOCKOUT_MAX_CONSECUTIVE", d.lockout_max_consecutive, 1, 100),
        max_sessions_per_user=_int(env, "MAX_SESSIONS_PER_USER", d.max_sessions_per_user, 1, 90),
        check_sessions=v.check_sessions,
        session_cache_seconds=v.session_cache_seconds,
        max_token_bytes=v.max_token_bytes,
        users_table=_str(env, "USERS_TABLE", d.users_table),
        sessions_table=v.sessions_table,
        attempts_table=_str(env, "ATTEMPTS_TABLE", d.attempts_table),
        events_table=_str(env, "EVENTS_TABLE", d.events_table),
        event_retention_days=_int(env, "EVENT_RETENTION_DAYS", d.event_retention_days, 1, 3650),
        new_device_notice=_bool(env, "NEW_DEVICE_NOTICE", d.new_device_notice),
        signing_key_param=_str(env, "SIGNING_KEY_PARAM", d.signing_key_param),
        jwks=v.jwks,
        allow_signup=_bool(env, "ALLOW_SIGNUP", d.allow_signup),
        preload_signing_key=_bool(env, "PRELOAD_SIGNING_KEY", d.preload_signing_key),
        argon2_time_cost=_int(env, "ARGON2_TIME_COST", d.argon2_time_cost, ARGON2_MIN_TIME_COST, 20),
        argon2_memory_kib=_int(
            env, "ARGON2_MEMORY_KIB", d.argon2_memory_kib, ARGON2_MIN_MEMORY_KIB, 1024 * 1024
        ),
        argon2_parallelism=_int(env, "ARGON2_PARALLELISM", d.argon2_parallelism, 1, 8),
        demo_page=_bool(env, "DEMO_PAGE", d.demo_page),
        cors_origins=read_cors_origins(env),
        require_email=_bool(env, "REQUIRE_EMAIL", d.require_email),
        email_code_ttl=_int(env, "EMAIL_CODE_TTL", d.email_code_ttl, 300, 7 * 24 * 3600),
        reset_code_ttl=_int(env, "RESET_CODE_TTL", d.reset_code_ttl, 60, 3600),
        reset_url=_url(env, "RESET_URL"),
        forgot_min_ms=_int(env, "FORGOT_MIN_MS", d.forgot_min_ms, 0, 5000),
        mail_from=_str(env, "MAIL_FROM", d.mail_from),
        mail_configuration_set=_str(env, "MAIL_CONFIGURATION_SET", d.mail_configuration_set),
        mail_echo=_bool(env, "MAIL_ECHO", d.mail_echo),
        mfa_issuer_name=_issuer_name(env, d.mfa_issuer_name),
        mfa_key_param=_str(env, "MFA_KEY_PARAM", d.mfa_key_param),
        mfa_remember_days=_int(env, "MFA_REMEMBER_DAYS", d.mfa_remember_days, 0, 365),
        admin_requires_mfa=_bool(env, "ADMIN_REQUIRES_MFA", d.admin_requires_mfa),
    )


def authorizer_ttl(env: Mapping[str, str]) -> int:
    """How long API Gateway caches one token's policy (seconds, 0 to 3600).

    Read at import time because Chalice bakes it into the deployed API; it is
    part of the revocation delay bound, hence the short default.
    """
    return _int(env, "AUTHORIZER_TTL", 60, 0, 3600)


def read_cors_origins(env: Mapping[str, str]) -> tuple[str, ...]:
    """The origins browser pages may call the API from (see :mod:`gatehouse.web.cors`).

    ``GATEHOUSE_CORS_ORIGINS``: comma-separated exact origins, or ``*``; set
    (even to nothing) it is the whole list.  Deployed, one template parameter
    sets it for every function and for the gateway's own answers, so the two
    cannot disagree.  ``GATEHOUSE_CORS_ORIGIN``, the older one-origin form,
    still works as a list of one.  With neither set, the list is the default
    that ``GATEHOUSE_CORS_DEFAULTS`` names: ``dev`` (localhost on any port,
    the Capacitor/Ionic WebViews; the ``dev`` stage sets it) or ``none``.
    The default cannot be the list itself in a stage's variables: Chalice
    lets those override the process environment, and a list given to
    ``make run`` must replace the default.
    """
    name, old = PREFIX + "CORS_ORIGINS", PREFIX + "CORS_ORIGIN"
    origins: tuple[str, ...] | None = None
    if name in env:
        try:
            origins = parse_origins(env[name])
        except OriginListError as error:
            raise ConfigError(
                f"{name} must be * or comma-separated origins like https://app.example.com,"
                f"capacitor://localhost: {error}"
            ) from None
    raw_old = env.get(old, "").strip()
    if raw_old:
        if "," in raw_old:
            raise ConfigError(f"{old} takes one origin; list several in {name} instead")
        try:
            (one,) = parse_origins(raw_old)
        except OriginListError as error:
            raise ConfigError(f"{old} must be * or one origin (for several use {name}): {error}") from None
        if origins is None:
            return (one,)
        if one not in origins and ANY_ORIGIN not in origins:
            raise ConfigError(f"{old} is {one!r}, which {name} does not list: set only {name}")
    if origins is not None:
        return origins
    defaults = _str(env, "CORS_DEFAULTS", "none")
    if defaults == "dev":
        return DEV_ORIGINS
    if defaults != "none":
        raise ConfigError(f"{PREFIX}CORS_DEFAULTS must be dev or none, got {defaults!r}")
    return ()
