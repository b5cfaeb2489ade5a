"""Forged access tokens against the authorizer, through HTTP-shaped requests.

Each forgery starts from a real token the service issued at ``POST
/auth/token`` and the JWKS it serves; ``tests/attacks.py`` builds them.  Every
one must be refused with 401 ``Bearer error="invalid_token"``, and no
resource code may run: a :class:`Watch` spies on every protected view, on
what ``verify_access_token`` accepts, on the policy the authorizer would
grant, on the session and notes stores, on the network and on file opens
while the request is in flight.  Controls prove each spy would have seen the
thing it guards against.

The registry runs against a module-scoped :class:`Service` (one login per
module, not per case): a forged token must be refused before any store read,
which the watch asserts, so the store is torn down once the login is done.
Tests that need the store (the controls, refresh, sessions, the clock) use
the ordinary function-scoped fixtures and the ``login`` fixture.

The tail of the file runs the nastiest forgeries against the real
``chalice local`` stack over HTTP (``-m e2e``).
"""

from __future__ import annotations

import json
import os
import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from gatehouse.jose.access_tokens import REQUIRED_CLAIMS, verify_access_token
from gatehouse.services import Services
from tests.attacks import (
    ATTACKS,
    EDDSA_ATTACKS,
    Victim,
    attacker_ed25519,
    compact_json,
    segment,
    sign,
    unb64url,
)
from tests.conftest import post_json
from tests.gatehouse.authorizer.forgery_rig import (
    INVALID_TOKEN,
    _protected_entries,
    assert_refused,
    send,
)

# -- controls: the real token passes, and every spy sees what it watches ---------------------


def test_control_the_real_token_reaches_the_view_and_the_spies_see_it(client, watch, victim):
    response = send(client, watch, victim.token)
    assert response.status_code == 200, response.body
    assert watch.views == [("GET", "/notes")]
    assert watch.verified == [victim.payload["sub"]]
    assert watch.policies == [victim.payload["sub"]]
    assert watch.session_reads == [victim.payload["sid"]]
    assert watch.note_reads == [victim.payload["sub"]]
    assert watch.deny_reasons == []


def test_control_a_token_resigned_unchanged_by_the_service_key_is_accepted(
    client, watch, victim, service_key
):
    # The insider cases below change one thing each; unchanged, the same resigning passes.
    resigned = sign(victim.header, victim.payload, service_key.key, service_key.alg)
    assert send(client, watch, resigned).status_code == 200


def test_control_the_services_victim_token_is_valid_so_each_forgery_fails_for_its_change(service):
    rt = service.rt
    claims = verify_access_token(service.victim.token, rt.keyset, rt.rules, now=rt.now())
    assert claims.username == "victim"
    resigned = sign(service.victim.header, service.victim.payload, service.key.key, service.key.alg)
    assert verify_access_token(resigned, rt.keyset, rt.rules, now=rt.now()) == claims


def test_control_the_network_guard_records_and_refuses_lookups(watch):
    with watch.in_flight(), pytest.raises(OSError, match="network access"):
        socket.getaddrinfo("attacker.example", 443)
    with watch.in_flight(), pytest.raises(OSError, match="network access"):
        urllib.request.urlopen("https://attacker.example/jwks.json")
    assert len(watch.network) == 2


def test_control_the_file_guard_records_opens(watch):
    with watch.in_flight(), open(os.devnull, "rb"):
        pass
    assert watch.files == [os.devnull]


def test_control_every_protected_route_is_watched():
    paths = {(method, path) for path, method, _ in _protected_entries()}
    assert ("GET", "/notes") in paths
    assert ("GET", "/admin/users") in paths
    assert len(paths) >= 12


# -- the attacks ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(set(ATTACKS) - {"refresh-token-used-as-a-bearer-token"}))
def test_forged_token_is_refused_and_no_resource_code_runs(service, watch, name):
    assert_refused(send(service.client, watch, ATTACKS[name](service.victim)), watch)


@pytest.mark.parametrize("name", sorted(EDDSA_ATTACKS))
def test_eddsa_specific_forgery_is_refused(service, watch, name):
    assert service.victim.alg == "EdDSA"
    assert_refused(send(service.client, watch, EDDSA_ATTACKS[name](service.victim)), watch)


def test_refresh_token_used_as_a_bearer_token_is_refused(client, watch, victim_with_refresh):
    token = ATTACKS["refresh-token-used-as-a-bearer-token"](victim_with_refresh)
    assert_refused(send(client, watch, token), watch)
    # ... and the refresh token itself is untouched by the attempt.
    refreshed = post_json(client, "/auth/token", {"grant_type": "refresh_token", "refresh_token": token})
    assert refreshed.status_code == 200, refreshed.body


def test_roles_escalation_is_refused_on_the_admin_route_with_401_not_403(service, watch):
    forged = ATTACKS["roles-escalated-to-admin-keeping-the-signature"](service.victim)
    assert_refused(send(service.client, watch, forged, "GET", "/admin/users"), watch)


ROUTE_SAMPLES = {"{note_id}": "0" * 28, "{session_id}": "A" * 22, "{username}": "demo"}


def _concrete(path: str) -> str:
    for pattern, value in ROUTE_SAMPLES.items():
        path = path.replace(pattern, value)
    return path


@pytest.mark.parametrize(
    ("method", "path"), sorted({(method, path) for path, method, _ in _protected_entries()})
)
@pytest.mark.parametrize(
    "name",
    [
        "alg-nOnE-without-signature",
        "hs256-keyed-with-our-public-key-as-pem",
        "roles-escalated-to-admin-keeping-the-signature",
        "embedded-jwk-of-the-attacker-with-our-kid",
    ],
)
def test_every_protected_route_refuses_forgeries(service, watch, method, path, name):
    forged = ATTACKS[name](service.victim)
    assert_refused(send(service.client, watch, forged, method, _concrete(path)), watch)


# -- kid values never reach the file system ---------------------------------------------------


@pytest.mark.parametrize(
    "kid", ["../../../../../../../../etc/passwd", "/dev/null", "../../../../../../../../dev/null", "$(id)"]
)
def test_kid_naming_a_file_opens_no_file(service, watch, kid):
    v = service.victim
    forged = sign({**v.header, "kid": kid}, v.payload, attacker_ed25519(), "EdDSA")
    assert_refused(send(service.client, watch, forged), watch)
    assert watch.files == []


# -- insider forgeries: the service's own key, the content wrong ------------------------------


def _without(payload: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != name}


def _shifted(payload: dict[str, Any], seconds: int) -> dict[str, Any]:
    return {**payload, "iat": payload["iat"] + seconds, "exp": payload["exp"] + seconds}


HeaderAndPayload = tuple[dict[str, Any] | bytes, dict[str, Any] | bytes]
INSIDER: dict[str, Callable[[Victim, Services], HeaderAndPayload]] = {
    # typ: RFC 9068 access tokens only, never an ID token or a plain JWT.
    # kid and alg: the kid names one of our keys, and alg must be exactly that key's.
    "kid-missing": lambda v, rt: (_without(v.header, "kid"), v.payload),
    "alg-in-lower-case": lambda v, rt: ({**v.header, "alg": v.alg.lower()}, v.payload),
    "alg-missing": lambda v, rt: (_without(v.header, "alg"), v.payload),
    "typ-jwt": lambda v, rt: ({**v.header, "typ": "JWT"}, v.payload),
    "typ-at+JWT-in-other-case": lambda v, rt: ({**v.header, "typ": "at+JWT"}, v.payload),
    "typ-application/at+jwt": lambda v, rt: ({**v.header, "typ": "application/at+jwt"}, v.payload),
    "typ-with-a-trailing-space": lambda v, rt: ({**v.header, "typ": "at+jwt "}, v.payload),
    "typ-missing": lambda v, rt: (_without(v.header, "typ"), v.payload),
    "typ-null": lambda v, rt: ({**v.header, "typ": None}, v.payload),
    "typ-as-a-list": lambda v, rt: ({**v.header, "typ": ["at+jwt"]}, v.payload),
    # crit / b64: extensions we do not understand are refused (RFC 7515 section 4.1.11).
    "crit-naming-an-unknown-header": lambda v, rt: (
        {**v.header, "crit": ["x-bypass"], "x-bypass": True},
        v.payload,
    ),
    "crit-naming-exp": lambda v, rt: ({**v.header, "crit": ["exp"]}, v.payload),
    "crit-empty-list": lambda v, rt: ({**v.header, "crit": []}, v.payload),
    "b64-false": lambda v, rt: ({**v.header, "b64": False, "crit": ["b64"]}, v.payload),
    # Duplicate members: parsers disagree on which one wins, so none may.
    "header-duplicate-typ": lambda v, rt: (
        compact_json({**v.header, "typ": "JWT"})[:-1] + b',"typ":"at+jwt"}',
        v.payload,
    ),
    "header-duplicate-kid": lambda v, rt: (
        compact_json(v.header)[:-1] + b',"kid":' + json.dumps(v.kid).encode() + b"}",
        v.payload,
    ),
    "payload-duplicate-sub-user-then-admin": lambda v, rt: (
        v.header,
        compact_json(v.payload)[:-1] + b',"sub":"admin"}',
    ),
    "payload-duplicate-roles": lambda v, rt: (
        v.header,
        compact_json(v.payload)[:-1] + b',"roles":["admin"]}',
    ),
    "payload-duplicate-exp-same-value": lambda v, rt: (
        v.header,
        compact_json(v.payload)[:-1] + b',"exp":' + str(v.payload["exp"]).encode() + b"}",
    ),
    # Segments that are not JSON objects, or not UTF-8.
    "header-array": lambda v, rt: (b"[]", v.payload),
    "header-invalid-utf8": lambda v, rt: (b'{"alg":"EdDSA","kid":"\xff"}', v.payload),
    "payload-array": lambda v, rt: (v.header, compact_json([v.payload])),
    "payload-string": lambda v, rt: (v.header, b'"admin"'),
    "payload-number": lambda v, rt: (v.header, b"1"),
    "payload-null": lambda v, rt: (v.header, b"null"),
    "payload-invalid-utf8": lambda v, rt: (v.header, compact_json(v.payload)[:-1] + b',"x":"\xc3\x28"}'),
    "payload-utf16": lambda v, rt: (v.header, json.dumps(v.payload).encode("utf-16")),
    # iss / aud.
    "iss-of-another-issuer": lambda v, rt: (v.header, {**v.payload, "iss": "https://attacker.example"}),
    "iss-as-a-list": lambda v, rt: (v.header, {**v.payload, "iss": [v.payload["iss"]]}),
    "aud-of-another-api": lambda v, rt: (v.header, {**v.payload, "aud": "another-api"}),
    "aud-as-a-list-holding-ours": lambda v, rt: (v.header, {**v.payload, "aud": [v.payload["aud"]]}),
    "aud-empty-string": lambda v, rt: (v.header, {**v.payload, "aud": ""}),
    # sub / roles / sid / jti with the wrong type or shape.
    "sub-empty": lambda v, rt: (v.header, {**v.payload, "sub": ""}),
    "sub-an-integer": lambda v, rt: (v.header, {**v.payload, "sub": 1}),
    "sub-a-list": lambda v, rt: (v.header, {**v.payload, "sub": [v.payload["sub"]]}),
    "sub-null": lambda v, rt: (v.header, {**v.payload, "sub": None}),
    "sub-with-a-lone-surrogate": lambda v, rt: (
        v.header,
        compact_json(v.payload)[:-1] + b',"sub":"\\ud800"}',
    ),
    "roles-a-string": lambda v, rt: (v.header, {**v.payload, "roles": "admin"}),
    "roles-with-a-comma-smuggling-admin": lambda v, rt: (v.header, {**v.payload, "roles": ["user,admin"]}),
    "roles-holding-a-non-string": lambda v, rt: (v.header, {**v.payload, "roles": [["admin"]]}),
    "roles-null": lambda v, rt: (v.header, {**v.payload, "roles": None}),
    "sid-an-integer": lambda v, rt: (v.header, {**v.payload, "sid": 1}),
    "jti-empty": lambda v, rt: (v.header, {**v.payload, "jti": ""}),
    # Time.
    "exp-in-the-past-beyond-leeway": lambda v, rt: (
        v.header,
        _shifted(v.payload, -(rt.settings.access_token_ttl + rt.settings.leeway)),
    ),
    "iat-in-the-future-beyond-leeway": lambda v, rt: (v.header, _shifted(v.payload, rt.settings.leeway + 1)),
    "nbf-in-the-future-beyond-leeway": lambda v, rt: (
        v.header,
        {**v.payload, "nbf": v.payload["iat"] + rt.settings.leeway + 1},
    ),
    "exp-a-year-out": lambda v, rt: (v.header, {**v.payload, "exp": v.payload["iat"] + 31_536_000}),
    "exp-before-iat": lambda v, rt: (v.header, {**v.payload, "exp": v.payload["iat"] - 1}),
    "exp-a-float": lambda v, rt: (v.header, {**v.payload, "exp": v.payload["exp"] + 0.5}),
    "exp-a-string": lambda v, rt: (v.header, {**v.payload, "exp": str(v.payload["exp"])}),
    "exp-huge": lambda v, rt: (v.header, {**v.payload, "exp": 10**30}),
    "iat-a-boolean": lambda v, rt: (v.header, {**v.payload, "iat": True}),
    "iat-negative": lambda v, rt: (v.header, {**v.payload, "iat": -1}),
    # Size: one byte over the limit, and far over it.
    "token-one-byte-over-the-size-limit": lambda v, rt: _padded_to(v, rt.settings.max_token_bytes + 1),
    "token-of-sixty-kib": lambda v, rt: _padded_to(v, 60 * 1024),
}
for _claim in REQUIRED_CLAIMS:
    INSIDER[f"{_claim}-missing"] = lambda v, rt, c=_claim: (v.header, _without(v.payload, c))


def _padded_to(victim: Victim, size: int) -> HeaderAndPayload:
    """Unknown members padding header and payload so the signed token is exactly ``size`` characters."""

    def padded(part: dict[str, Any], n: int) -> dict[str, Any]:
        return {**part, "x-pad": "a" * n}

    budget = size - len(victim.parts[2]) - 2  # the signature length is fixed per algorithm
    for small in range(4):  # base64 cannot spell every length: a second knob closes the gaps
        payload = padded(victim.payload, small)
        target = budget - len(segment(payload))
        n = 0
        while len(segment(padded(victim.header, n))) < target:
            n += max(1, (target - len(segment(padded(victim.header, n)))) * 3 // 4)
        if len(segment(padded(victim.header, n))) == target:
            return padded(victim.header, n), payload
    raise AssertionError(f"cannot pad to {size}")


@pytest.mark.parametrize("name", sorted(INSIDER))
def test_token_signed_by_the_service_key_with_bad_content_is_refused(service, watch, name):
    header, payload = INSIDER[name](service.victim, service.rt)
    forged = sign(header, payload, service.key.key, service.key.alg)
    assert_refused(send(service.client, watch, forged), watch)


def test_size_padding_lands_just_over_the_limit(service):
    limit = service.rt.settings.max_token_bytes
    header, payload = _padded_to(service.victim, limit + 1)
    assert len(sign(header, payload, service.key.key, service.key.alg)) == limit + 1


def test_token_at_exactly_the_size_limit_is_still_accepted(client, watch, victim, service_key, rt):
    header, payload = _padded_to(victim, rt.settings.max_token_bytes)
    token = sign(header, payload, service_key.key, service_key.alg)
    assert len(token) == rt.settings.max_token_bytes
    assert send(client, watch, token).status_code == 200


def test_authorization_header_over_sixteen_kib_is_refused(service, watch):
    assert_refused(send(service.client, watch, service.victim.token + "." + "A" * 16 * 1024), watch)


def test_real_token_after_exp_plus_leeway_is_refused(client, watch, victim, clock, rt):
    clock.advance(rt.settings.access_token_ttl + rt.settings.leeway)
    assert_refused(send(client, watch, victim.token), watch)


def test_validly_signed_token_naming_another_users_live_session_is_refused(
    client, watch, victim, service_key, make_user, login
):
    # The signature is ours, the claims are well formed, the session is live: but not this user's.
    other = json.loads(unb64url(login(make_user()).split(".")[1]))
    forged = sign(victim.header, {**victim.payload, "sid": other["sid"]}, service_key.key, service_key.alg)
    response = send(client, watch, forged)
    assert response.status_code == 401, response.body
    assert response.headers["WWW-Authenticate"] == INVALID_TOKEN
    assert watch.views == []
    assert watch.policies == []
    assert watch.session_reads == [other["sid"]]


def test_real_token_before_its_iat_minus_leeway_is_refused(client, watch, victim, clock, rt):
    clock.advance(-(rt.settings.leeway + 1))
    assert_refused(send(client, watch, victim.token), watch)
