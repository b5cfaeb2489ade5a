"""Differential: Gatehouse's verifier against PyJWT's ``jwt.decode``, token by token.

About 6,000 valid and tampered access tokens (tests/differential_tokens.py,
seeded and deterministic: bit flips in each segment, character substitutions,
truncations, re-signing with other keys, ``alg`` and ``kid`` swaps, ES256
high-S twins, times at every boundary, and headers and claims edited from
tables of edge values in several JSON spellings, mostly validly signed) go
through both verifiers:

* ours: ``verify_access_token`` with the key set;
* the reference: ``jwt.decode`` with the very same key object, the key the
  header's ``kid`` names (PyJWT has no key set: no ``kid``, a non-string or
  an unknown one is refused here, as ours refuses it), ``algorithms=[that
  key's alg]``, the same audience (``strict_aud``: one string, as ours),
  issuer, required claims and leeway.

They must agree on accept / refuse for every token, except where Gatehouse is
deliberately stricter.  :func:`stricter` restates those rules independently
of the verifier; for a token it flags, only the strict direction is asserted
(ours must refuse; PyJWT may accept):

* the token: canonical unpadded base64url only (PyJWT accepts ``=``
  padding), at most ``max_bytes``;
* the header: ``typ`` must be ``at+jwt`` (PyJWT ignores ``typ``), no
  ``crit`` or ``b64``;
* the JSON of header and payload: UTF-8 only (``json.loads`` of bytes also
  reads UTF-16 and a BOM), no duplicate members (PyJWT keeps the last), no
  ``NaN``/``Infinity``, no lone surrogates, nesting depth at most 4;
* the claims: ``iat``, ``exp`` (and ``nbf``) plain integers in range (PyJWT
  takes ``int()`` of floats, strings, booleans); lifetime ``0 < exp - iat <=
  lifetime + leeway``; ``sub``, ``sid``, ``jti`` non-empty bounded strings;
  ``roles`` a bounded list of short strings without commas (PyJWT checks
  presence only);
* ES256 signatures: low S only (PyJWT accepts the high-S twin).

PyJWT reads the wall clock; here its clock is frozen at ``NOW`` (the control
test proves it reads the frozen one), so boundary times such as ``exp ==
now - leeway`` are compared exactly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
import jwt.api_jwt
import pytest

from gatehouse.jose.access_tokens import (
    MAX_ROLES,
    MAX_TIMESTAMP,
    REQUIRED_CLAIMS,
    TOKEN_TYPE,
    verify_access_token,
)
from gatehouse.jose.errors import TokenError
from gatehouse.jose.jws import MAX_JSON_DEPTH
from gatehouse.jose.signatures import P256_HALF_ORDER, P256_ORDER
from tests.gatehouse.jose.differential_tokens import (
    BASE,
    KEYS,
    NOW,
    RULES,
    b64,
    bit_flips,
    generated,
    resigned_and_swapped,
    substitutions,
    time_boundaries,
    truncations,
    unb64,
)

SEGMENT = re.compile(r"[A-Za-z0-9_-]*")
SURROGATE = re.compile("[\ud800-\udfff]")

# -- the two verifiers ----------------------------------------------------------------------------


def ours(token: str) -> bool:
    try:
        verify_access_token(token, KEYS, RULES, now=NOW)
    except TokenError:
        return False  # any other exception escapes and fails the test
    return True


def reference(token: str) -> bool:
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        key = KEYS.get(kid) if isinstance(kid, str) else None
        if key is None:
            return False
        jwt.decode(
            token,
            key.key,
            algorithms=[key.alg],
            audience=RULES.audience,
            issuer=RULES.issuer,
            leeway=RULES.leeway,
            options={"require": list(REQUIRED_CLAIMS), "strict_aud": True},
        )
    except jwt.PyJWTError:
        return False
    return True


@pytest.fixture(scope="module", autouse=True)
def frozen_pyjwt_clock() -> Iterator[Callable[[int], None]]:
    """PyJWT's ``datetime.now`` returns ``NOW`` (or what the returned setter says)."""
    now = [NOW]

    class Frozen(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Frozen:
            return cls.fromtimestamp(now[0], tz or UTC)

    def set_now(value: int) -> None:
        now[0] = value

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jwt.api_jwt, "datetime", Frozen)
        yield set_now


# -- the deliberate differences, restated ----------------------------------------------------------


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in (*value, *value.values())), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 1


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_surrogate(v) for v in (*value, *value.values()))
    if isinstance(value, list):
        return any(_has_surrogate(v) for v in value)
    return False


def strict_json(raw: bytes) -> Any:
    """The JSON value under Gatehouse's rules; None where they refuse it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    flaws: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        if len({name for name, _ in items}) != len(items):
            flaws.append("duplicate")
        return dict(items)

    def constant(name: str) -> float:
        flaws.append(name)
        return 0.0

    if text.count("[") + text.count("{") > 64:
        return None
    try:
        value = json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except (ValueError, RecursionError):
        return None
    if flaws or _depth(value) > MAX_JSON_DEPTH or _has_surrogate(value):
        return None
    return value


def _timestamp(value: Any) -> bool:
    return type(value) is int and 0 <= value < MAX_TIMESTAMP


def _text(value: Any, limit: int) -> bool:
    return isinstance(value, str) and 0 < len(value) <= limit


def _claims_are_stricter(payload: dict[str, Any]) -> bool:
    iat, exp = payload.get("iat"), payload.get("exp")
    if not (_timestamp(iat) and _timestamp(exp)) or ("nbf" in payload and not _timestamp(payload["nbf"])):
        return True
    assert isinstance(iat, int)
    assert isinstance(exp, int)
    roles = payload.get("roles")
    return (
        not 0 < exp - iat <= RULES.lifetime + RULES.leeway
        or not _text(payload.get("sub"), 64)
        or not _text(payload.get("sid"), 256)
        or not _text(payload.get("jti"), 256)
        or not isinstance(roles, list)
        or len(roles) > MAX_ROLES
        or not all(_text(r, 64) and "," not in r for r in roles)
    )


def stricter(token: str) -> bool:
    """Whether a rule only Gatehouse has applies to ``token`` (then only ours must refuse)."""
    parts = token.split(".")
    if (
        len(token) > RULES.max_bytes
        or len(parts) != 3
        or not all(SEGMENT.fullmatch(p) and len(p) % 4 != 1 and b64(unb64(p)) == p for p in parts)
    ):
        return True
    header, payload = strict_json(unb64(parts[0])), strict_json(unb64(parts[1]))
    if not isinstance(header, dict) or header.get("typ") != TOKEN_TYPE or "crit" in header or "b64" in header:
        return True
    if header.get("alg") == "ES256":
        signature = unb64(parts[2])
        if len(signature) == 64 and P256_HALF_ORDER < int.from_bytes(signature[32:], "big") < P256_ORDER:
            return True
    return not isinstance(payload, dict) or _claims_are_stricter(payload)


@dataclass
class Tally:
    both_accept: int = 0
    both_refuse: int = 0
    only_stricter_refuses: int = 0
    mismatches: list[str] = field(default_factory=list)


def compare(tokens: list[str]) -> Tally:
    tally = Tally()
    for token in tokens:
        mine, theirs = ours(token), reference(token)
        if stricter(token):
            if mine:
                tally.mismatches.append(f"ours accepted a token its own rules refuse: {token}")
            elif theirs:
                tally.only_stricter_refuses += 1
            else:
                tally.both_refuse += 1
        elif mine != theirs:
            tally.mismatches.append(f"ours {mine}, PyJWT {theirs}: {token}")
        elif mine:
            tally.both_accept += 1
        else:
            tally.both_refuse += 1
    return tally


def _check(tokens: list[str], *, minimum: int) -> Tally:
    tally = compare(tokens)
    assert not tally.mismatches, tally.mismatches[:5]
    assert len(tokens) >= minimum
    return tally


# -- the differential ----------------------------------------------------------------------------------


def test_control_pyjwt_reads_the_frozen_clock(frozen_pyjwt_clock: Callable[[int], None]) -> None:
    token = BASE[0]
    assert reference(token) is True
    frozen_pyjwt_clock(NOW + 10 * RULES.lifetime)
    try:
        assert reference(token) is False  # expired at the later frozen time, whatever the wall clock says
    finally:
        frozen_pyjwt_clock(NOW)


def test_every_issued_token_is_accepted_by_both() -> None:
    tally = _check(BASE, minimum=40)
    assert tally.both_accept == len(BASE)


@pytest.mark.parametrize(
    ("segment", "per_token"), [(0, 12), (1, 16), (2, 16)], ids=["header", "payload", "signature"]
)
def test_bit_flips_in_a_segment_are_refused_by_both(segment: int, per_token: int) -> None:
    tally = _check(bit_flips(segment, per_token), minimum=480)
    assert tally.both_accept == 0


def test_character_substitutions_agree_or_only_the_stricter_rule_refuses() -> None:
    tally = _check(substitutions(16), minimum=700)
    assert tally.only_stricter_refuses == len(BASE)  # the padded signatures


def test_truncations_are_refused_by_both() -> None:
    tally = _check(truncations(), minimum=800)
    assert tally.both_accept == tally.only_stricter_refuses == 0


def test_resigned_and_swapped_tokens_agree_and_only_high_s_twins_differ() -> None:
    tokens = resigned_and_swapped()
    tally = _check(tokens, minimum=600)
    assert tally.both_accept == len(BASE)  # the ones re-signed unchanged by the right key
    assert tally.only_stricter_refuses == len(BASE) // 2  # one high-S twin per ES256 token


def test_times_at_every_boundary_agree_or_only_the_lifetime_cap_refuses() -> None:
    tally = _check(time_boundaries(), minimum=200)
    assert tally.both_accept >= 60
    assert tally.both_refuse >= 60
    assert tally.only_stricter_refuses == 2 * 2  # exp == iat and exp - iat > lifetime + leeway, per alg


@pytest.mark.parametrize("seed", [1, 2])
def test_generated_headers_and_claims_agree_or_only_the_stricter_rule_refuses(seed: int) -> None:
    tally = _check(generated(900, seed), minimum=900)
    # Every outcome is well represented, so neither direction is compared vacuously.
    assert min(tally.both_accept, tally.both_refuse, tally.only_stricter_refuses) >= 60, tally
