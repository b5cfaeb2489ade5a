"""docs/SECURITY.md against the code.

* The table "Authorizer reason codes" is parsed: it must list exactly the
  reasons the code can produce (every TokenError subclass, every
  ``Unauthorized("...")`` in gatehouse/verify/), each once.
* Each way the authorizer denies is that one reason in one structured log
  line, without token text.
* Every test the document names as evidence exists.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import app as gatehouse_app
from gatehouse import handlers, logs
from gatehouse.errors import ConfigError
from gatehouse.services import Services
from gatehouse.verify.bearer import Unauthorized
from gatehouse.verify.tokens import TokenError
from tests.conftest import ROOT

SECURITY_DOC = ROOT / "docs" / "SECURITY.md"
REASON_SECTION = "## Authorizer reason codes"
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc/api/GET/me"


def token_error_classes() -> list[type[TokenError]]:
    """Every TokenError subclass, at any depth, in definition order."""
    found: list[type[TokenError]] = []
    pending = list(TokenError.__subclasses__())
    while pending:
        cls = pending.pop(0)
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def _reason_rows() -> list[str]:
    text = SECURITY_DOC.read_text(encoding="utf-8")
    assert REASON_SECTION in text, f"{SECURITY_DOC} has no '{REASON_SECTION}' section"
    section = text.split(REASON_SECTION, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\|\s*`([a-z_]+)`\s*\|", section, flags=re.MULTILINE)


def documented_reasons() -> set[str]:
    return set(_reason_rows())


def _unauthorized_reasons_in_source() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "gatehouse" / "verify").glob("*.py"):
        found |= set(re.findall(r'Unauthorized\("([a-z_]+)"\)', path.read_text(encoding="utf-8")))
    return found


def test_every_test_the_security_doc_names_exists() -> None:
    # Named as `test_name` or `test_name[param-id]`; file paths (tests/test_x.py) do not match.
    named = set(re.findall(r"`(test_[a-z0-9_]+)(?:\[[^\]`]*\])?`", SECURITY_DOC.read_text(encoding="utf-8")))
    defined: set[str] = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        defined |= set(
            re.findall(r"^(?:async )?def (test_[a-z0-9_]+)", path.read_text(encoding="utf-8"), re.M)
        )

    assert len(named) >= 40
    assert sorted(named - defined) == []


def test_every_token_error_subclass_has_its_own_reason() -> None:
    classes = token_error_classes()
    reasons = [cls.reason for cls in classes]

    assert len(classes) >= 12
    assert len(set(reasons)) == len(reasons)
    assert TokenError.reason not in reasons


def test_every_token_error_reason_is_in_the_documented_table() -> None:
    assert {cls.reason for cls in token_error_classes()} <= documented_reasons()


def test_every_authorizer_deny_reason_in_the_code_is_documented() -> None:
    in_code = _unauthorized_reasons_in_source()
    assert {"missing_token", "malformed_header", "session_ended", "authorizer_error"} <= in_code

    assert in_code <= documented_reasons()


def test_the_documented_table_lists_each_reason_once_and_nothing_else() -> None:
    rows = _reason_rows()
    produced = {cls.reason for cls in token_error_classes()} | _unauthorized_reasons_in_source()

    assert len(rows) == len(set(rows))
    assert set(rows) == produced


# -- one denied request, one log line, exactly its reason ------------------------------


@pytest.fixture
def authorizer_events() -> Iterator[list[dict[str, Any]]]:
    events: list[dict[str, Any]] = []
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())
            entry = json.loads(lines[-1])
            if entry.get("event") == "authorizer":
                entry["_line"] = lines[-1]
                events.append(entry)

    handler = Keep()
    logs.log.addHandler(handler)
    yield events
    logs.log.removeHandler(handler)


def _hs256(make_token: Callable[..., str]) -> str:
    return make_token(key=secrets.token_bytes(64), algorithm="HS256")


def _es256_under_our_eddsa_kid(make_token: Callable[..., str]) -> str:
    return make_token(key=ec.generate_private_key(ec.SECP256R1()), algorithm="ES256")


# reason -> a function (make_token, rt) giving the Authorization header value.
DENIALS: dict[str, Callable[[Callable[..., str], Services], str]] = {
    "missing_token": lambda mk, rt: "",
    "malformed_header": lambda mk, rt: "Basic " + mk(),
    "too_large": lambda mk, rt: "Bearer " + "a" * 9000,
    "malformed": lambda mk, rt: "Bearer " + mk()[:-1] + "!",
    "unsupported_header": lambda mk, rt: "Bearer " + mk(header={"crit": ["exp"]}),
    "wrong_type": lambda mk, rt: "Bearer " + mk(header={"typ": "JWT"}),
    "unknown_key": lambda mk, rt: "Bearer " + mk(header={"kid": "retired-key"}),
    "algorithm_mismatch": lambda mk, rt: "Bearer " + _es256_under_our_eddsa_kid(mk),
    "unsupported_algorithm": lambda mk, rt: "Bearer " + _hs256(mk),
    "bad_signature": lambda mk, rt: "Bearer " + mk(key=Ed25519PrivateKey.generate()),
    "invalid_claim": lambda mk, rt: "Bearer " + mk(aud="someone-else"),
    "expired": lambda mk, rt: "Bearer " + mk(iat=rt.now() - 2000, exp=rt.now() - 1100),
    "not_yet_valid": lambda mk, rt: "Bearer " + mk(iat=rt.now() + 600, exp=rt.now() + 1500),
    "lifetime_too_long": lambda mk, rt: "Bearer " + mk(exp=rt.now() + 86_400),
    "session_ended": lambda mk, rt: "Bearer " + mk(),  # a sid no session has
}


def _authorize(header: str) -> None:
    event = {"type": "TOKEN", "authorizationToken": header, "methodArn": METHOD_ARN}
    handlers.gatehouse_auth(event, None)


def _assert_one_deny_line(events: list[dict[str, Any]], reason: str, header: str) -> None:
    assert len(events) == 1, events
    (event,) = events
    assert event["outcome"] == "deny"
    assert event["reason"] == reason
    assert event["route"] == "GET /me"
    token = header.partition(" ")[2]
    for piece in [token, *token.split(".")]:
        if len(piece) >= 8:
            assert piece[:8] not in event["_line"]
    assert not {"token", "authorization", "header", "payload", "claims"} & set(event)


@pytest.mark.parametrize("reason", sorted(DENIALS))
def test_denied_request_logs_exactly_its_reason_and_no_token_text(
    reason: str, make_token: Callable[..., str], rt: Services, authorizer_events: list[dict[str, Any]]
) -> None:
    header = DENIALS[reason](make_token, rt)
    authorizer_events.clear()

    with pytest.raises(Unauthorized) as info:
        _authorize(header)

    assert info.value.reason == reason
    assert str(info.value) == "Unauthorized"  # what API Gateway turns into a 401
    _assert_one_deny_line(authorizer_events, reason, header)


def test_every_documented_reason_a_request_can_cause_is_exercised_here() -> None:
    covered = set(DENIALS) | {"session_check_failed", "authorizer_error"}
    assert covered == documented_reasons()


def test_unreadable_session_store_logs_session_check_failed(
    make_token: Callable[..., str],
    rt: Services,
    authorizer_events: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unreachable(**_kwargs: Any) -> Any:
        raise ConnectionError("dynamodb unreachable")

    monkeypatch.setattr(rt.session_client, "get_item", unreachable)
    header = "Bearer " + make_token()
    authorizer_events.clear()

    with pytest.raises(Unauthorized, match=r"^Unauthorized$"):
        _authorize(header)
    _assert_one_deny_line(authorizer_events, "session_check_failed", header)


def test_misconfigured_runtime_logs_authorizer_error_naming_only_the_exception_type(
    make_token: Callable[..., str],
    rt: Services,
    authorizer_events: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    header = "Bearer " + make_token()

    def broken() -> Services:
        raise ConfigError("GATEHOUSE_JWKS is not set: it must hold the public key set.")

    monkeypatch.setattr(gatehouse_app.gate, "services", broken)
    authorizer_events.clear()

    with pytest.raises(Unauthorized, match=r"^Unauthorized$"):
        _authorize(header)
    _assert_one_deny_line(authorizer_events, "authorizer_error", header)
    assert authorizer_events[0]["error"] == "ConfigError"


def test_allowed_request_logs_the_user_and_no_token_text(
    make_user: Callable[..., Any],
    login: Callable[..., str],
    authorizer_events: list[dict[str, Any]],
) -> None:
    creds = make_user()
    token = login(creds)
    authorizer_events.clear()

    _authorize("Bearer " + token)

    (event,) = authorizer_events
    assert event["outcome"] == "allow"
    assert event["user"] == creds.username
    assert "reason" not in event
    for piece in token.split("."):
        assert piece[:8] not in event["_line"]
    assert jwt.get_unverified_header(token)["kid"] not in event["_line"]
