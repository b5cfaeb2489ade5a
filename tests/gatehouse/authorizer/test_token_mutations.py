"""Property: no mutation of a valid access token gets past the authorizer, and none crashes it.

Mutations of a real token (issued through POST /auth/token, with a live
session): bit flips in each segment, segment swaps / repeats / drops,
truncations, and JSON mutations of the header or payload (type changes,
nesting, duplicate members, huge and non-finite numbers, dropped and added
members) re-encoded with the original signature, a forger's signature, a
random one or none.  Checked two ways:

* directly against the authorizer Lambda's entry point (``gatehouse.authorizer.handler``):
  only the untouched token is allowed; everything else is denied through
  ``policy.Unauthorized`` with a documented reason that is never
  ``authorizer_error`` (which would mean an unexpected exception inside);
* through ``chalice.test.Client``: 401, never 5xx, never 200 but for the
  untouched token.

A second property re-signs payload mutations with the service's own key
(including another live user's ``sub`` or ``sid`` swapped in): those are
*validly signed*, so they may be allowed, but only when ``sub`` and ``sid``
are the pair of one live session (the session check binds them).

Deterministic: ``derandomize=True``, no example database, bounded examples.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from chalice.test import Client
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gatehouse import logs
from gatehouse.authorizer.bearer import Unauthorized
from gatehouse.jose.keys import load_signing_key
from tests.conftest import Credentials, bearer
from tests.gatehouse.authorizer import local as authorizer_local

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc/api/GET/me"
# Every reason the authorizer may deny with for a mutated token; see docs/SECURITY.md.
EXPECTED_DENY_REASONS = frozenset(
    {
        "malformed",
        "too_large",
        "unsupported_header",
        "wrong_type",
        "unknown_key",
        "algorithm_mismatch",
        "unsupported_algorithm",
        "bad_signature",
        "invalid_claim",
        "expired",
        "not_yet_valid",
        "lifetime_too_long",
        "malformed_header",
        "missing_token",
        "session_ended",
    }
)
FORGER = Ed25519PrivateKey.generate()


def deterministic(max_examples: int) -> settings:
    # One token per test function (fixtures), many examples against it.
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# -- encoding helpers ----------------------------------------------------------------


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


# -- strategies ------------------------------------------------------------------------

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([0, -1, 2**31, 2**53 + 1, 2**63, 10**30, -(10**30), 2**40])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
# Raw JSON number and value spellings that json.dumps would never produce.
RAW_VALUES = st.sampled_from(
    [
        "NaN",
        "Infinity",
        "-Infinity",
        "1e400",
        "-1e400",
        "9" * 5000,  # past Python's int-parsing digit limit
        "1" + "0" * 300,
        "1.0",
        "1E3",
        "-0",
        "[" * 50 + "]" * 50,
        '{"a":' * 20 + "1" + "}" * 20,
        '"\\ud800"',
        '"\\u0000"',
        "true",
        '"at+jwt"',
    ]
)


@st.composite
def json_mutation(draw: st.DrawFn, original: dict[str, Any]) -> bytes:
    """The JSON text of ``original`` after one mutation."""
    names = sorted(original)
    name = draw(st.sampled_from(names) | st.text(min_size=1, max_size=8))
    kind = draw(
        st.sampled_from(
            ["retype", "restring", "wrap", "drop", "add", "duplicate", "raw", "rename", "not-object"]
        )
    )
    value = original.get(name)
    mutated = dict(original)
    if kind == "restring":
        # Another well-typed value: another user, another session, another key id.
        strings = sorted(k for k, v in original.items() if isinstance(v, str))
        target = draw(st.sampled_from(strings))
        mutated[target] = draw(
            st.sampled_from(["admin", "mallory", original[target] + "x", original[target].upper()])
            | st.text(min_size=1, max_size=12)
        )
    elif kind == "retype":
        replacement = draw(JSON_VALUES)
        same = replacement == value and type(replacement) is type(value)
        mutated[name] = [replacement] if same else replacement
    elif kind == "wrap":
        mutated[name] = draw(st.sampled_from([[value], {"v": value}, str(value), [[[[value]]]]]))
    elif kind == "drop":
        mutated.pop(name, None)
        if mutated == original:
            mutated.pop(names[0])
    elif kind == "add":
        mutated[f"{name}~"] = draw(JSON_VALUES)
    elif kind == "rename":
        mutated[name.upper() + "_"] = mutated.pop(name, 1)
    elif kind == "not-object":
        return compact(draw(st.sampled_from([list(original.items()), list(original), name, None, 1])))
    text = compact(mutated).decode()
    if kind == "duplicate":
        # The same member twice, with the original or another value: dict-based encoders cannot say this.
        second = draw(st.sampled_from([json.dumps(value), json.dumps(draw(JSON_VALUES))]))
        text = text[:-1] + f',"{names[0] if name not in original else name}":{second}}}'
    elif kind == "raw":
        text = text[:-1] + f',"{name}~":{draw(RAW_VALUES)}}}'
    return text.encode()


@st.composite
def forged_signature(draw: st.DrawFn, signing_input: str, original: str) -> str:
    kind = draw(st.sampled_from(["original", "forger", "random", "empty"]))
    if kind == "original":
        return original
    if kind == "forger":
        return b64(FORGER.sign(signing_input.encode()))
    if kind == "random":
        return b64(draw(st.binary(min_size=1, max_size=80)))
    return ""


@st.composite
def mutated_token(draw: st.DrawFn, token: str) -> str:
    h, p, s = token.split(".")
    header, payload = json.loads(unb64(h)), json.loads(unb64(p))
    kind = draw(
        st.sampled_from(["bit-flip", "char-flip", "segments", "truncate", "json-header", "json-payload"])
    )
    if kind == "bit-flip":
        index = draw(st.integers(0, 2))
        raw = bytearray(unb64((h, p, s)[index]))
        position = draw(st.integers(0, len(raw) * 8 - 1))
        raw[position // 8] ^= 1 << (position % 8)
        parts = [h, p, s]
        parts[index] = b64(bytes(raw))
        return ".".join(parts)
    if kind == "char-flip":
        at = draw(st.integers(0, len(token) - 1))
        char = draw(st.sampled_from("AQgw_-+/=. \t\n\x00é") | st.characters(codec="ascii"))
        return token[:at] + char + token[at + 1 :]
    if kind == "segments":
        parts = draw(st.lists(st.sampled_from([h, p, s, ""]), min_size=1, max_size=5))
        return ".".join(parts)
    if kind == "truncate":
        which = draw(st.sampled_from(["token", "header", "payload", "signature"]))
        if which == "token":
            return token[: draw(st.integers(0, len(token) - 1))]
        parts = [h, p, s]
        index = ["header", "payload", "signature"].index(which)
        parts[index] = parts[index][: draw(st.integers(0, len(parts[index]) - 1))]
        return ".".join(parts)
    if kind == "json-header":
        new_h = b64(draw(json_mutation(header)))
        return f"{new_h}.{p}.{draw(forged_signature(f'{new_h}.{p}', s))}"
    new_p = b64(draw(json_mutation(payload)))
    return f"{h}.{new_p}.{draw(forged_signature(f'{h}.{new_p}', s))}"


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture
def authorizer_events() -> Iterator[list[dict[str, Any]]]:
    """The authorizer's structured log lines, parsed."""
    events: list[dict[str, Any]] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            entry = json.loads(record.getMessage())
            if entry.get("event") == "authorizer":
                events.append(entry)

    handler = Keep()
    logs.log.addHandler(handler)
    yield events
    logs.log.removeHandler(handler)


@pytest.fixture
def token(make_user: Callable[..., Credentials], login: Callable[[Credentials], str]) -> str:
    """A real access token with a live session."""
    return login(make_user())


def authorize(candidate: str) -> dict[str, Any] | None:
    """The Lambda-level authorizer: its policy document, or None when it denied."""
    event = {"type": "TOKEN", "authorizationToken": "Bearer " + candidate, "methodArn": METHOD_ARN}
    try:
        policy: dict[str, Any] = authorizer_local.gatehouse_auth(event)
    except Unauthorized:
        return None
    return policy


def last_deny_reason(events: list[dict[str, Any]]) -> str:
    """The reason in the authorizer's last log line, which must be a deny."""
    assert events, "the authorizer logged nothing"
    assert events[-1]["outcome"] == "deny"
    return str(events[-1]["reason"])


def assert_documented_deny(events: list[dict[str, Any]]) -> None:
    """Inside a property: a documented reason, counted (see --hypothesis-show-statistics)."""
    reason = last_deny_reason(events)
    event(f"deny: {reason}")
    assert reason in EXPECTED_DENY_REASONS


# -- properties --------------------------------------------------------------------------


def test_untouched_token_is_allowed_directly_and_over_http(
    token: str, client: Client, authorizer_events: list[dict[str, Any]]
) -> None:
    # The baseline every property below is measured against.
    policy = authorize(token)
    assert policy is not None
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert authorizer_events[-1]["outcome"] == "allow"
    assert client.http.get("/me", headers=bearer(token)).status_code == 200


@deterministic(max_examples=400)
@given(data=st.data())
def test_mutated_token_is_denied_by_the_authorizer_with_a_documented_reason(
    token: str, authorizer_events: list[dict[str, Any]], data: st.DataObject
) -> None:
    authorizer_events.clear()
    candidate = data.draw(mutated_token(token), label="candidate")

    policy = authorize(candidate)

    if candidate == token:
        assert policy is not None
        return
    assert policy is None
    assert_documented_deny(authorizer_events)


@deterministic(max_examples=120)
@given(data=st.data())
def test_mutated_token_is_401_never_5xx_through_the_local_gateway(
    token: str, client: Client, authorizer_events: list[dict[str, Any]], data: st.DataObject
) -> None:
    authorizer_events.clear()
    candidate = data.draw(mutated_token(token), label="candidate")

    response = client.http.get("/me", headers={"Authorization": f"Bearer {candidate}"})

    if candidate == token:
        assert response.status_code == 200
        return
    assert response.status_code == 401, response.body
    if authorizer_events:  # a header the gateway itself refuses never reaches the authorizer
        assert_documented_deny(authorizer_events)


@pytest.fixture
def other_token(make_user: Callable[..., Credentials], login: Callable[[Credentials], str]) -> str:
    """Another user's real access token, with its own live session."""
    return login(make_user())


@deterministic(max_examples=150)
@given(data=st.data())
def test_validly_signed_mutation_is_allowed_only_for_a_sub_and_sid_of_one_live_session(
    token: str,
    other_token: str,
    signing_jwk: dict[str, str],
    authorizer_events: list[dict[str, Any]],
    data: st.DataObject,
) -> None:
    authorizer_events.clear()
    h, p, _ = token.split(".")
    original = json.loads(unb64(p))
    other = json.loads(unb64(other_token.split(".")[1]))
    kind = data.draw(st.sampled_from(["json", "claim-type", "sub", "sid", "sub-and-sid"]), label="kind")
    if kind == "json":
        payload = data.draw(json_mutation(original), label="payload")
    elif kind == "claim-type":
        # Every claim check sees every JSON type: each must deny, none may raise.
        name = data.draw(st.sampled_from(sorted(original)), label="claim")
        payload = compact({**original, name: data.draw(JSON_VALUES, label="value")})
    else:
        # Another user's live session or name, or one nobody has: the session check must notice.
        claims = dict(original)
        for name in kind.split("-and-"):
            claims[name] = data.draw(
                st.sampled_from([other[name], original[name] + "x"]) | st.text(min_size=1, max_size=20),
                label=name,
            )
        payload = compact(claims)
    new_p = b64(payload)
    key = load_signing_key(json.dumps(signing_jwk)).key
    candidate = f"{h}.{new_p}.{b64(key.sign(f'{h}.{new_p}'.encode()))}"

    policy = authorize(candidate)

    if policy is None:
        assert_documented_deny(authorizer_events)
        return
    event("allowed")
    claims = json.loads(payload)
    # Only a pair that is a live session: signing is trusted, the pairing is checked.
    live_sessions = {(original["sub"], original["sid"]), (other["sub"], other["sid"])}
    assert (claims["sub"], claims["sid"]) in live_sessions
    assert policy["principalId"] == claims["sub"]


# One value of every JSON type and edge, for every claim: the sweep the random search may miss.
EVERY_JSON_TYPE: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1.5,
    2**40,
    10**30,
    "",
    "x",
    [],
    ["user"],
    {},
    {"a": 1},
]


@pytest.mark.parametrize("value", EVERY_JSON_TYPE, ids=[repr(v) for v in EVERY_JSON_TYPE])
def test_validly_signed_token_with_any_json_type_in_any_claim_is_denied_with_a_documented_reason(
    token: str,
    signing_jwk: dict[str, str],
    authorizer_events: list[dict[str, Any]],
    value: Any,
) -> None:
    h, p, _ = token.split(".")
    original = json.loads(unb64(p))
    key = load_signing_key(json.dumps(signing_jwk)).key
    for name in sorted(original):
        if value == original[name] and type(value) is type(original[name]):
            continue
        new_p = b64(compact({**original, name: value}))
        authorizer_events.clear()

        policy = authorize(f"{h}.{new_p}.{b64(key.sign(f'{h}.{new_p}'.encode()))}")

        # Another jti, or another list of role names, is still a well-formed token from us.
        if (name == "jti" and isinstance(value, str) and value) or (
            name == "roles" and isinstance(value, list) and all(isinstance(r, str) and r for r in value)
        ):
            assert policy is not None, (name, value)
            continue
        assert policy is None, (name, value)
        assert last_deny_reason(authorizer_events) in EXPECTED_DENY_REASONS, (name, value)


def test_the_deny_reasons_expected_here_are_all_documented_reason_codes() -> None:
    from tests.test_security_doc import documented_reasons

    assert documented_reasons() >= EXPECTED_DENY_REASONS
