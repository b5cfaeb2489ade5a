"""Fixtures of the forged-token tests: the watch, a service per signing algorithm, victims."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

import app as gatehouse_app
from chalicelib.notes.repository import NoteRepository
from gatehouse import logs
from gatehouse.services import Services
from gatehouse.settings import Settings
from gatehouse.verify import authorizer
from gatehouse.verify.keys import SigningKey, generate_signing_jwk, load_signing_key, public_jwks
from gatehouse.verify.session_check import SessionCheck
from tests.attacks import (
    Victim,
)
from tests.gatehouse.verify.forgery_rig import (
    CHEAP_HASHING,
    Service,
    Watch,
    _login_body,
    _protected_entries,
    start_service,
)


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


@pytest.fixture(scope="module")
def eddsa_service(base_settings: Settings, signing_jwk: dict[str, str]) -> Service:
    return start_service(base_settings, signing_jwk)


@pytest.fixture
def service(eddsa_service: Service) -> Iterator[Service]:
    gatehouse_app.gate.use_services(eddsa_service.rt)
    yield eddsa_service
    gatehouse_app.gate.use_services(None)


@pytest.fixture
def rt(make_runtime: Callable[..., Services]) -> Services:
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
    gatehouse_app.gate.use_services(es256_module_service.rt)
    yield es256_module_service
    gatehouse_app.gate.use_services(None)
