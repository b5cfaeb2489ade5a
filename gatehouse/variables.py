"""Reading ``GATEHOUSE_*`` variables, and the few settings a token verifier needs.

:mod:`gatehouse.settings` reads every variable with the readers below and
takes the verifier's settings from :func:`load_verify_settings`, so their
names, defaults and ranges exist once.  The deployed authorizer function
reads only these (``gatehouse.authorizer.handler``): importing the full
:class:`~gatehouse.settings.Settings` dataclass would import ``dataclasses``
(and with it ``inspect`` and ``ast``), milliseconds of every cold start for
settings the verifier never uses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple, Protocol

from gatehouse.errors import ConfigError

if TYPE_CHECKING:
    from gatehouse.jose.access_tokens import TokenRules

PREFIX = "GATEHOUSE_"
# Plain ASCII digits only: int() would also take "1_000", "+5" or Arabic-Indic digits.
_WHOLE_NUMBER = re.compile(r"-?[0-9]+")


def read_int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(PREFIX + name)
    if raw is None or raw == "":
        return default
    if not _WHOLE_NUMBER.fullmatch(raw.strip()):
        raise ConfigError(f"{PREFIX}{name} must be a whole number, got {raw!r}")
    value = int(raw.strip())
    if not low <= value <= high:
        raise ConfigError(f"{PREFIX}{name} must be between {low} and {high}, got {value}")
    return value


def read_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(PREFIX + name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{PREFIX}{name} must be true or false, got {raw!r}")


def read_str(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(PREFIX + name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip()


class VerifySettings(NamedTuple):
    """What verifying a token and checking its session need; the defaults are the settings' own."""

    issuer: str = "gatehouse"
    audience: str = "gatehouse-api"
    access_token_ttl: int = 900
    leeway: int = 30
    max_token_bytes: int = 8192
    check_sessions: bool = True
    session_cache_seconds: int = 5
    sessions_table: str = "gatehouse-sessions"
    jwks: str = ""


def load_verify_settings(env: Mapping[str, str]) -> VerifySettings:
    """The verifier's settings from ``env``; a bad value is a :class:`ConfigError` naming its variable."""
    d = VerifySettings()
    return VerifySettings(
        issuer=read_str(env, "ISSUER", d.issuer),
        audience=read_str(env, "AUDIENCE", d.audience),
        access_token_ttl=read_int(env, "ACCESS_TOKEN_TTL", d.access_token_ttl, 30, 24 * 3600),
        leeway=read_int(env, "LEEWAY", d.leeway, 0, 300),
        max_token_bytes=read_int(env, "MAX_TOKEN_BYTES", d.max_token_bytes, 1024, 65536),
        check_sessions=read_bool(env, "CHECK_SESSIONS", d.check_sessions),
        session_cache_seconds=read_int(env, "SESSION_CACHE_SECONDS", d.session_cache_seconds, 0, 300),
        sessions_table=read_str(env, "SESSIONS_TABLE", d.sessions_table),
        jwks=read_str(env, "JWKS", d.jwks),
    )


class _RuleSettings(Protocol):
    """What :func:`token_rules` reads: :class:`VerifySettings` or the full ``Settings``."""

    @property
    def issuer(self) -> str: ...
    @property
    def audience(self) -> str: ...
    @property
    def access_token_ttl(self) -> int: ...
    @property
    def leeway(self) -> int: ...
    @property
    def max_token_bytes(self) -> int: ...


def token_rules(s: _RuleSettings) -> TokenRules:
    """The verifier's rules for some settings (the issuer signs with the same)."""
    from gatehouse.jose.access_tokens import TokenRules

    return TokenRules(
        issuer=s.issuer,
        audience=s.audience,
        lifetime=s.access_token_ttl,
        leeway=s.leeway,
        max_bytes=s.max_token_bytes,
    )
