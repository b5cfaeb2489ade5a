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

import builtins
import http.client
import http.server
import io
import json
import os
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from chalice.test import Client
from moto import mock_aws

import app as gatehouse_app
from chalicelib.gatehouse import logs, runtime
from chalicelib.gatehouse.accounts import signup
from chalicelib.gatehouse.runtime import Runtime
from chalicelib.gatehouse.settings import Settings
from chalicelib.gatehouse.storage import aws
from chalicelib.gatehouse.storage.tables import create_tables
from chalicelib.gatehouse.verify import authorizer
from chalicelib.gatehouse.verify.keys import SigningKey, generate_signing_jwk, load_signing_key, public_jwks
from chalicelib.gatehouse.verify.session_check import SessionCheck
from chalicelib.gatehouse.verify.tokens import REQUIRED_CLAIMS, TokenError, verify_access_token
from chalicelib.notes.repository import NoteRepository
from tests.attacks import (
    ATTACKS,
    EDDSA_ATTACKS,
    ES256_ATTACKS,
    Victim,
    attacker_ed25519,
    compact_json,
    es256_high_s,
    segment,
    sign,
    unb64url,
)
from tests.conftest import DEFAULT_PASSWORD, ROOT, FakeClock, json_body, post_json
from tests.live_stack import DEMO_PASSWORD, LiveStack, live_stack

INVALID_TOKEN = 'Bearer error="invalid_token"'


def _token_reasons(cls: type[TokenError] = TokenError) -> set[str]:
    return {cls.reason}.union(*(_token_reasons(sub) for sub in cls.__subclasses__()))


# What the authorizer may log when it refuses a forged token: a token check
# or the bearer-header check, never "authorizer_error" (something crashed)
# and never a session reason (the signature check would have been skipped).
DENY_REASONS = frozenset(_token_reasons() | {"malformed_header", "too_large"})


# -- the watch: what must never happen while a forged token is in flight ---------------


@dataclass
class Watch:
    views: list[tuple[str, str]] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)
    policies: list[str] = field(default_factory=list)
    session_reads: list[str] = field(default_factory=list)
    note_reads: list[str] = field(default_factory=list)
    deny_reasons: list[str] = field(default_factory=list)
    network: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    monkeypatch: pytest.MonkeyPatch | None = None

    @contextmanager
    def in_flight(self) -> Iterator[None]:
        """Record (and refuse) every network call and file open inside the block."""
        assert self.monkeypatch is not None
        with self.monkeypatch.context() as m:

            def no_network(what: str) -> Callable[..., Any]:
                def refuse(*args: Any, **kwargs: Any) -> Any:
                    self.network.append(f"{what}{args!r}")
                    raise OSError(f"network access during a forged-token request: {what}")

                return refuse

            for target, name in [
                (socket, "getaddrinfo"),
                (socket, "gethostbyname"),
                (socket, "create_connection"),
                (socket.socket, "connect"),
                (socket.socket, "connect_ex"),
                (urllib.request, "urlopen"),
                (http.client.HTTPConnection, "connect"),
            ]:
                m.setattr(target, name, no_network(f"{getattr(target, '__name__', target)}.{name}"))

            def recording(original: Callable[..., Any]) -> Callable[..., Any]:
                def open_and_record(file: Any, *args: Any, **kwargs: Any) -> Any:
                    self.files.append(
                        os.fsdecode(file) if isinstance(file, (str, bytes, os.PathLike)) else repr(file)
                    )
                    return original(file, *args, **kwargs)

                return open_and_record

            m.setattr(builtins, "open", recording(builtins.open))
            m.setattr(io, "open", recording(io.open))
            m.setattr(os, "open", recording(os.open))
            yield

    def assert_nothing_ran(self) -> None:
        assert self.views == [], "a protected view ran"
        assert self.verified == [], "verify_access_token accepted the token"
        assert self.policies == [], "the authorizer granted a policy"
        assert self.session_reads == [], "the session store was read for an unverified token"
        assert self.note_reads == [], "the notes repository was read"
        assert self.network == [], "the network was touched"
        assert self.files == [], "a file was opened"
        assert self.deny_reasons, "the authorizer did not log a denial"
        assert set(self.deny_reasons) <= DENY_REASONS, self.deny_reasons


def _protected_entries() -> list[tuple[str, str, Any]]:
    return [
        (path, method, entry)
        for path, methods in gatehouse_app.app.routes.items()
        for method, entry in methods.items()
        if entry.authorizer is not None
    ]


@pytest.fixture
def watch(monkeypatch: pytest.MonkeyPatch) -> Watch:
    seen = Watch(monkeypatch=monkeypatch)

    for path, method, entry in _protected_entries():
        original = entry.view_function

        def spy(*args: Any, _view: Any = original, _route: Any = (method, path), **kwargs: Any) -> Any:
            seen.views.append(_route)
            return _view(*args, **kwargs)

        monkeypatch.setattr(entry, "view_function", spy)

    verify = authorizer.verify_access_token

    def verify_spy(*args: Any, **kwargs: Any) -> Any:
        claims = verify(*args, **kwargs)
        seen.verified.append(claims.sub)
        return claims

    monkeypatch.setattr(authorizer, "verify_access_token", verify_spy)

    grant = authorizer.auth_response

    def grant_spy(claims: Any, table: Any) -> Any:
        seen.policies.append(claims.sub)
        return grant(claims, table)

    monkeypatch.setattr(authorizer, "auth_response", grant_spy)

    is_live = SessionCheck.is_live

    def session_spy(self: SessionCheck, claims: Any, now: int) -> bool:
        seen.session_reads.append(claims.sid)
        return is_live(self, claims, now)

    monkeypatch.setattr(SessionCheck, "is_live", session_spy)

    list_page = NoteRepository.list_page

    def notes_spy(self: NoteRepository, owner: str, limit: int, after: str | None = None) -> Any:
        seen.note_reads.append(owner)
        return list_page(self, owner, limit, after)

    monkeypatch.setattr(NoteRepository, "list_page", notes_spy)

    event = logs.event

    def event_spy(kind: str, **fields: Any) -> None:
        if kind == "authorizer" and fields.get("outcome") == "deny":
            seen.deny_reasons.append(str(fields.get("reason")))
        event(kind, **fields)

    monkeypatch.setattr(logs, "event", event_spy)
    return seen


def send(client: Any, watch: Watch, token: str, method: str = "GET", path: str = "/notes") -> Any:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with watch.in_flight():
        return client.http.request(method, path, headers=headers, body=b'{"text": "x"}')


def assert_refused(response: Any, watch: Watch) -> None:
    assert response.status_code == 401, response.body
    assert response.headers["WWW-Authenticate"] == INVALID_TOKEN
    assert json_body(response)["error"] == "invalid_token"
    watch.assert_nothing_ran()


# -- what the attacker has ----------------------------------------------------------------

CHEAP_HASHING = {"argon2_time_cost": 1, "argon2_memory_kib": 64}  # hashing is not under test here


def _login_body(client: Any, username: str, password: str) -> dict[str, Any]:
    response = post_json(
        client, "/auth/token", {"grant_type": "password", "username": username, "password": password}
    )
    assert response.status_code == 200, response.body
    body: dict[str, Any] = json_body(response)
    return body


@dataclass(frozen=True)
class Service:
    """A Gatehouse instance, the victim's real token and refresh token from it, and its own key."""

    rt: Runtime
    client: Client
    victim: Victim
    key: SigningKey


def start_service(settings: Settings, signing_jwk: dict[str, str]) -> Service:
    """Create the tables, sign a user up and log in for real; then drop the store."""
    rt = Runtime(
        replace(settings, **CHEAP_HASHING),
        clock=FakeClock(),
        signing_key_source=lambda _: json.dumps(signing_jwk),
    )
    client = Client(gatehouse_app.app, project_dir=str(ROOT))
    with mock_aws():
        create_tables(aws.session().client("dynamodb"), rt.settings)
        runtime.install(rt)
        try:
            signup.create_user(rt, "victim", DEFAULT_PASSWORD, ("user",))
            grant = _login_body(client, "victim", DEFAULT_PASSWORD)
            jwks = client.http.get("/.well-known/jwks.json")
        finally:
            runtime.install(None)
    victim = Victim(grant["access_token"], jwks.body, grant["refresh_token"])
    return Service(rt, client, victim, load_signing_key(json.dumps(signing_jwk)))


@pytest.fixture(scope="module")
def eddsa_service(base_settings: Settings, signing_jwk: dict[str, str]) -> Service:
    return start_service(base_settings, signing_jwk)


@pytest.fixture
def service(eddsa_service: Service) -> Iterator[Service]:
    runtime.install(eddsa_service.rt)
    yield eddsa_service
    runtime.install(None)


@pytest.fixture
def rt(make_runtime: Callable[..., Runtime]) -> Runtime:
    return make_runtime(**CHEAP_HASHING)


@pytest.fixture
def victim(client: Any, make_user: Callable[..., Any], login: Callable[..., str]) -> Victim:
    """For tests that need the store: a real token from the ``login`` fixture, and the JWKS as served."""
    token = login(make_user())
    jwks = client.http.get("/.well-known/jwks.json")
    assert jwks.status_code == 200
    return Victim(token=token, jwks_raw=jwks.body)


@pytest.fixture
def victim_with_refresh(client: Any, make_user: Callable[..., Any]) -> Victim:
    creds = make_user()
    grant = _login_body(client, creds.username, creds.password)
    jwks = client.http.get("/.well-known/jwks.json")
    return Victim(token=grant["access_token"], jwks_raw=jwks.body, refresh_token=grant["refresh_token"])


@pytest.fixture
def service_key(signing_jwk: dict[str, str]) -> SigningKey:
    """The service's own signing key: for tokens whose signature is fine but whose content is not."""
    return load_signing_key(json.dumps(signing_jwk))


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
    assert claims.sub == "victim"
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
INSIDER: dict[str, Callable[[Victim, Runtime], HeaderAndPayload]] = {
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


# -- a service signing with ES256 (and still publishing its EdDSA key) --------------------------


@pytest.fixture(scope="module")
def es256_module_service(base_settings: Settings, signing_jwk: dict[str, str]) -> Service:
    es_jwk = generate_signing_jwk("ES256")
    settings = replace(base_settings, jwks=json.dumps(public_jwks([es_jwk, signing_jwk])))
    started = start_service(settings, es_jwk)
    assert started.victim.alg == "ES256"
    assert len(started.victim.jwks["keys"]) == 2
    return started


@pytest.fixture
def es256(es256_module_service: Service) -> Iterator[Service]:
    runtime.install(es256_module_service.rt)
    yield es256_module_service
    runtime.install(None)


def test_control_the_es256_services_victim_token_is_valid(es256):
    rt = es256.rt
    assert verify_access_token(es256.victim.token, rt.keyset, rt.rules, now=rt.now()).sub == "victim"


ES256_GENERIC = [
    "alg-none-without-signature",
    "alg-nOnE-keeping-the-real-signature",
    "empty-signature",
    "signature-all-zero-bytes",
    "signature-truncated-to-half",
    "hs256-with-an-empty-key-and-our-kid",
    "hs256-keyed-with-our-public-key-as-pem",
    "hs256-keyed-with-our-public-key-as-pem-without-trailing-newline",
    "hs256-keyed-with-our-public-key-as-der",
    "hs256-keyed-with-our-public-key-as-raw-bytes",
    "hs384-keyed-with-our-public-key-as-jwk-json",
    "hs512-keyed-with-our-public-key-as-jwks-json-as-served",
    "embedded-p256-jwk-of-the-attacker-es256-with-our-kid",
    "x5c-self-signed-p256-certificate-es256-with-our-kid",
    "jku-pointing-at-the-attacker-with-our-kid",
    "signed-by-another-key-of-the-same-algorithm-with-our-kid",
    "signed-by-the-attacker-in-the-other-family-with-our-kid",
    "alg-relabelled-to-the-other-family-keeping-the-signature",
    "roles-escalated-to-admin-keeping-the-signature",
    "refresh-token-used-as-a-bearer-token",
]


@pytest.mark.parametrize("name", sorted(ES256_ATTACKS) + ES256_GENERIC)
def test_forgery_against_an_es256_service_is_refused(es256, watch, name):
    build = ES256_ATTACKS.get(name) or ATTACKS[name]
    assert_refused(send(es256.client, watch, build(es256.victim)), watch)


def test_valid_eddsa_signature_under_the_es256_kid_is_refused(es256, service_key, watch):
    # Both keys are ours and trusted; the kid must still pin the algorithm.
    v = es256.victim
    forged = sign({**v.header, "alg": "EdDSA"}, v.payload, service_key.key, "EdDSA")
    assert_refused(send(es256.client, watch, forged), watch)


def test_valid_es256_signature_under_the_eddsa_kid_is_refused(es256, service_key, watch):
    v = es256.victim
    forged = sign({**v.header, "kid": service_key.kid}, v.payload, es256.key.key, "ES256")
    assert_refused(send(es256.client, watch, forged), watch)


def test_es256_high_s_twin_of_a_real_token_is_refused(es256, watch):
    # ECDSA malleability: (r, n - s) is a second valid signature over the same claims.  The
    # service signs low S only and the verifier accepts nothing else: one token, one spelling.
    assert_refused(send(es256.client, watch, es256_high_s(es256.victim)), watch)


# -- end to end: the nastiest forgeries against `chalice local` over real HTTP ------------------

E2E_ATTACKS = [
    "alg-nOnE-without-signature",
    "alg-none-keeping-the-real-signature",
    "empty-signature",
    "hs256-with-an-empty-key-and-our-kid",
    "hs256-keyed-with-our-public-key-as-pem",
    "hs256-keyed-with-our-public-key-as-jwks-json-as-served",
    "embedded-jwk-of-the-attacker-with-our-kid",
    "jku-pointing-at-the-attacker-with-our-kid",
    "x5u-pointing-at-the-attacker-with-the-attacker-kid",
    "x5c-self-signed-ed25519-certificate-with-our-kid",
    "kid-path-traversal-to-dev-null-hs256-with-an-empty-key",
    "kid-sql-or-1-equals-1-signed-by-the-attacker",
    "roles-escalated-to-admin-keeping-the-signature",
    "sub-changed-to-admin-keeping-the-signature",
    "signed-by-another-key-of-the-same-algorithm-with-our-kid",
    "ed25519-signature-with-s-plus-the-group-order",
    "header-invalid-utf8-keeping-the-signature",
    "refresh-token-used-as-a-bearer-token",
]
_no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class _KeyServer(http.server.BaseHTTPRequestHandler):
    """Where jku / x5u point in the e2e run: the server must never call it."""

    hits: list[str]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        body = b'{"keys":[]}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Live:
    stack: LiveStack
    key_server_url: str
    key_server_hits: list[str]


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    hits: list[str] = []
    server = http.server.HTTPServer(("127.0.0.1", 0), type("Handler", (_KeyServer,), {"hits": hits}))
    serving = threading.Thread(target=server.serve_forever, name="attacker-key-server", daemon=True)
    serving.start()
    try:
        with live_stack() as stack:
            yield Live(stack, f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json", hits)
    finally:
        server.shutdown()
        server.server_close()
        serving.join(timeout=10)


@pytest.fixture(scope="module")
def live_victim(live: Live) -> Victim:
    status, _, grant = live.stack.call(
        "POST", "/auth/token", {"grant_type": "password", "username": "demo", "password": DEMO_PASSWORD}
    )
    assert status == 200, grant
    # The exact bytes served: one of the key-confusion secrets is the JWKS document itself.
    with _no_proxy.open(live.stack.base_url + "/.well-known/jwks.json", timeout=10) as reply:
        jwks = reply.read()
    return Victim(grant["access_token"], jwks, grant["refresh_token"], attacker_url=live.key_server_url)


@pytest.mark.e2e
def test_e2e_control_the_real_demo_token_reaches_the_resource(live, live_victim):
    status, _, body = live.stack.call("GET", "/me", headers={"Authorization": f"Bearer {live_victim.token}"})
    assert status == 200, body
    assert body["username"] == "demo"


@pytest.mark.e2e
def test_e2e_control_the_attacker_key_server_hears_a_fetch(live):
    with _no_proxy.open(live.key_server_url + "?control", timeout=10) as reply:
        assert reply.status == 200
    assert live.key_server_hits == ["/.well-known/jwks.json?control"]


@pytest.mark.e2e
@pytest.mark.parametrize("name", E2E_ATTACKS)
def test_e2e_forged_token_is_refused_over_http(live, live_victim, name):
    build = ATTACKS.get(name) or EDDSA_ATTACKS[name]
    path = "/admin/users" if "admin" in name else "/notes"
    headers = {"Authorization": f"Bearer {build(live_victim)}"}
    status, answer_headers, body = live.stack.call("GET", path, headers=headers)
    assert status == 401, body
    assert answer_headers["WWW-Authenticate"] == INVALID_TOKEN
    assert body["error"] == "invalid_token"
    assert live.stack.process.poll() is None


@pytest.mark.e2e
def test_e2e_server_is_still_up_fetched_no_key_and_logged_no_traceback(live, live_victim):
    # Runs after the forgeries above (file order).
    status, _, body = live.stack.call("GET", "/me", headers={"Authorization": f"Bearer {live_victim.token}"})
    assert status == 200, body
    assert live.stack.process.poll() is None
    fetched = [hit for hit in live.key_server_hits if not hit.endswith("?control")]
    assert fetched == [], "the server fetched a key from a URL a token named"
    output = live.stack.output()
    assert "Traceback" not in output
    assert '"reason":"authorizer_error"' not in output
    assert output.count('"outcome":"deny"') >= len(E2E_ATTACKS)
