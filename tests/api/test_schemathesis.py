"""Schemathesis against ``make run``'s stack: every operation of openapi.yaml, one by one and in sequences.

``make test-api`` runs this (``pytest -m api tests/api``); the default
``make test`` deselects it.  Generation is deterministic and small, so a run
is repeatable and takes about a minute.

Bearer tokens are added when a request is sent (``Tokens``), not when a case is
generated: Schemathesis builds the example cases while pytest collects, before
the stack is up.  (``schemathesis.pytest.from_fixture``, which would defer
that, fails under pytest 9: it sets the private ``Node._nodeid``.)
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis.errors import Flaky
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import Accounts, Tokens
from tests.live_stack import ROOT, LiveStack

pytestmark = pytest.mark.api

# Per operation, for the fuzzing phase; the examples and coverage phases run
# their own (finite) sets of cases.
MAX_EXAMPLES = 25
STATEFUL_SCENARIOS = 80
STATEFUL_STEPS = 8
STATEFUL_ATTEMPTS = 6
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "use_after_free",
    "ensure_resource_availability",
    "ignored_auth",
    "unsupported_method",
    "allow_header_conformance",
    "missing_required_header",
    "negative_data_rejection",
)
# The seeded admin is the only account with the admin role: the fuzzer may
# disable any other account, but disabling this one would end every admin
# token for the rest of the run.
PROTECTED_ACCOUNTS = frozenset({"admin"})
STAND_IN_ACCOUNT = "demo"
# Failed attempts an account is allowed before 429 (GATEHOUSE_LOCKOUT_THRESHOLD's default).
LOCKOUT_THRESHOLD = 5


def _config() -> schemathesis.Config:
    checks: dict[str, Any] = {"enabled": False}
    for name in CHECKS:
        checks[name] = {"enabled": True}
    # A body over 64 KiB is refused with 413 before its fields are looked at.
    rejections = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]
    checks["negative_data_rejection"]["expected-statuses"] = rejections
    return schemathesis.Config.from_dict(
        {
            "seed": 10,
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "mode": "all",
                # Tokens come from `Tokens`; a generated random one would only be replaced.
                "with-security-parameters": False,
            },
            "checks": checks,
            "phases": {
                "examples": {"enabled": True},
                # Methods a path does not have must get 405.  Not TRACE or QUERY, which
                # chalice local's HTTP server refuses itself (501) before Gatehouse
                # sees them, nor OPTIONS, which the gateway answers (CORS preflight).
                "coverage": {
                    "enabled": True,
                    "unexpected-methods": ["GET", "PUT", "POST", "DELETE", "PATCH"],
                },
                "fuzzing": {"enabled": True},
                # Sequences send schema-valid data, so that links (register -> log in ->
                # refresh -> revoke, create -> read -> update -> delete) get somewhere.
                "stateful": {
                    "enabled": True,
                    "max-steps": STATEFUL_STEPS,
                    "generation": {"mode": "positive"},
                    "inference": {"algorithms": []},
                },
            },
            "request-timeout": 30,
        }
    )


schema = schemathesis.openapi.from_path(ROOT / "openapi.yaml", config=_config())


@schemathesis.hook
def before_call(context: schemathesis.HookContext, case: schemathesis.Case, kwargs: dict[str, Any]) -> None:
    """Keep the fuzzer from disabling the one admin account (links and examples can name it)."""
    name = (case.path_parameters or {}).get("username")
    if isinstance(name, str) and name.strip().lower() in PROTECTED_ACCOUNTS:
        case.path_parameters = {**case.path_parameters, "username": STAND_IN_ACCOUNT}


def _sent_authorization(response: schemathesis.Response) -> str | None:
    value = response.request.headers.get("Authorization")
    return None if value is None else str(value)


@schema.parametrize()
@hypothesis.settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_conforms(case: schemathesis.Case, local_stack: LiveStack, tokens: Tokens) -> None:
    path = case.operation.path
    response = case.call_and_validate(base_url=local_stack.base_url, headers=tokens.headers(path))
    tokens.saw(path, response.status_code, _sent_authorization(response))


def test_sequences_of_operations_conform(local_stack: LiveStack, tokens: Tokens) -> None:
    failures: list[BaseException] = []
    progress = {"scenarios": 0, "steps": 0}

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            self.first_step = True

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            headers = tokens.headers(case.operation.path, may_switch_user=self.first_step)
            self.first_step = False
            return {"base_url": local_stack.base_url, "headers": headers}

        def after_call(self, response: schemathesis.Response, case: schemathesis.Case) -> None:
            super().after_call(response, case)
            progress["steps"] += 1
            tokens.saw(case.operation.path, response.status_code, _sent_authorization(response))

        def validate_response(self, response: Any, case: Any, *args: Any, **kwargs: Any) -> None:
            try:
                super().validate_response(response, case, *args, **kwargs)
            except Exception as failure:
                failures.append(failure)
                raise

        def teardown(self) -> None:
            progress["scenarios"] += 1
            super().teardown()

    settings = hypothesis.settings(
        max_examples=STATEFUL_SCENARIOS,
        stateful_step_count=STATEFUL_STEPS,
        deadline=None,
        derandomize=True,
        database=None,
        # No shrinking: a replay meets a server whose state has moved on.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    for _ in range(STATEFUL_ATTEMPTS):
        try:
            Workflow.run(settings=settings)
        except Flaky:
            # Scenarios draw their next steps from earlier responses, so when
            # Hypothesis revisits a prefix against a server whose state has moved
            # on, it draws differently and stops with FlakyStrategyDefinition.
            # That is no failure (Schemathesis's own runner treats it the same
            # way): every step so far passed its checks.  Keep exploring.
            if failures:
                raise failures[0] from None
        if progress["scenarios"] >= STATEFUL_SCENARIOS:
            break
    assert not failures
    # However often exploration stopped early, enough sequences ran to mean something.
    assert progress["scenarios"] >= STATEFUL_SCENARIOS // 4, progress


# -- the documented error answers Schemathesis cannot provoke on its own -------------
#
# Each sends one request by hand and checks the answer against the description
# of that operation with the conformance checks above.

CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# A value of the right shape for each path parameter.
SAMPLE_PATH_PARAMETERS = {
    "note_id": "0" * 28,
    "session_id": "A" * 22,
    "username": "nobody-here",
    "name": "demo.js",
}
OVERSIZED = {"padding": "x" * (65 * 1024)}


def _operations(*, protected: bool | None = None, with_body: bool = False) -> list[tuple[str, str]]:
    found = []
    for path, item in schema.raw_schema["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "put", "post", "delete", "patch"}:
                continue
            if protected is not None and bool(operation.get("security")) != protected:
                continue
            if with_body and "requestBody" not in operation:
                continue
            found.append((method.upper(), path))
    return found


def _send(
    local_stack: LiveStack,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    content_type: str = "application/json",
) -> tuple[schemathesis.Case, requests.Response]:
    """Send one request as it is and return it with a case of its operation, for ``validate_response``."""
    operation = schema[path][method]
    parameters = {name: SAMPLE_PATH_PARAMETERS[name] for name in re.findall(r"\{(\w+)\}", path)}
    case = operation.Case(path_parameters=parameters)
    sent = dict(headers or {})
    if body is not None:
        sent["Content-Type"] = content_type
    with requests.Session() as http:
        http.trust_env = False
        reply = http.request(
            method, local_stack.base_url + case.formatted_path, headers=sent, data=body, timeout=30
        )
    return case, reply


def _login_body(username: str, password: str) -> bytes:
    return json.dumps({"grant_type": "password", "username": username, "password": password}).encode()


@pytest.mark.parametrize(("method", "path"), _operations(protected=True))
@pytest.mark.parametrize(
    ("authorization", "challenge"),
    [(None, "Bearer"), ("Bearer not.a.token", 'Bearer error="invalid_token"')],
    ids=["no-token", "bad-token"],
)
def test_protected_operations_answer_401_as_documented(
    local_stack: LiveStack, method: str, path: str, authorization: str | None, challenge: str
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    case, reply = _send(local_stack, method, path, headers=headers)
    assert reply.status_code == 401, reply.text
    assert reply.headers["WWW-Authenticate"] == challenge
    case.validate_response(reply, checks=CONFORMANCE)


def _fresh_headers(tokens: Tokens, path: str) -> dict[str, str]:
    """A bearer header from a login made for this test alone.

    The fuzz tests before these may have ended the shared sessions (logout,
    password change, account deletion are all fair game for them), and these
    tests send one request each, so a 401 would say nothing about the route.
    """
    account = tokens.accounts
    token = account.admin_token() if tokens.kind(path) == "admin" else account.user_token()
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(("method", "path"), [op for op in _operations(protected=True) if "/admin/" in op[1]])
def test_admin_operations_answer_403_to_a_user_as_documented(
    local_stack: LiveStack, tokens: Tokens, method: str, path: str
) -> None:
    case, reply = _send(local_stack, method, path, headers=_fresh_headers(tokens, "/me"))
    assert reply.status_code == 403, reply.text
    assert reply.headers["WWW-Authenticate"] == 'Bearer error="insufficient_scope"'
    case.validate_response(reply, checks=CONFORMANCE)


@pytest.mark.parametrize(("method", "path"), _operations(with_body=True))
def test_oversized_bodies_answer_413_as_documented(
    local_stack: LiveStack, tokens: Tokens, method: str, path: str
) -> None:
    body = json.dumps(OVERSIZED).encode()
    case, reply = _send(local_stack, method, path, headers=_fresh_headers(tokens, path), body=body)
    assert reply.status_code == 413, reply.text
    case.validate_response(reply, checks=CONFORMANCE)


@pytest.mark.parametrize(("method", "path"), _operations(with_body=True))
def test_bodies_of_another_media_type_answer_415_as_documented(
    local_stack: LiveStack, tokens: Tokens, method: str, path: str
) -> None:
    headers = _fresh_headers(tokens, path)
    case, reply = _send(local_stack, method, path, headers=headers, body=b"hello", content_type="text/plain")
    assert reply.status_code == 415, reply.text
    case.validate_response(reply, checks=CONFORMANCE)


def test_repeated_failed_logins_answer_429_with_retry_after_as_documented(local_stack: LiveStack) -> None:
    # An account that does not exist is locked out exactly like one that does.
    username = f"nobody-{secrets.token_hex(4)}"
    replies = [
        _send(local_stack, "POST", "/auth/token", body=_login_body(username, "Not-the-1-password"))
        for _ in range(LOCKOUT_THRESHOLD + 1)
    ]
    assert [reply.status_code for _, reply in replies] == [400] * LOCKOUT_THRESHOLD + [429]
    for case, reply in replies:
        case.validate_response(reply, checks=CONFORMANCE)
    assert int(replies[-1][1].headers["Retry-After"]) >= 1


def test_repeated_wrong_current_passwords_answer_429_with_retry_after_as_documented(
    local_stack: LiveStack, accounts: Accounts
) -> None:
    headers = {"Authorization": f"Bearer {accounts.user_token()}"}
    body = json.dumps(
        {"current_password": "Not-the-1-password", "new_password": "Brand-new-Pass-42"}
    ).encode()
    replies = [
        _send(local_stack, "POST", "/auth/password", headers=headers, body=body)
        for _ in range(LOCKOUT_THRESHOLD + 1)
    ]
    assert [reply.status_code for _, reply in replies] == [400] * LOCKOUT_THRESHOLD + [429]
    for case, reply in replies:
        case.validate_response(reply, checks=CONFORMANCE)
    assert int(replies[-1][1].headers["Retry-After"]) >= 1
