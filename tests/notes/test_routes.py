"""/notes: owner-only CRUD with validated bodies."""

from __future__ import annotations

import json

import pytest

import app as gatehouse_app
from app import notes_table
from tests.conftest import bearer, json_body


@pytest.fixture
def alice(make_user, login):
    return bearer(login(make_user("alice")))


@pytest.fixture
def bob(make_user, login):
    return bearer(login(make_user("bob")))


def send(client, method, path, auth, body=None, raw=None):
    payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
    return client.http.request(
        method, path, headers={"Content-Type": "application/json", **auth}, body=payload
    )


def create(client, auth, text="hello"):
    response = send(client, "POST", "/notes", auth, {"text": text})
    assert response.status_code == 201, response.body
    return json_body(response)


def test_create_note_returns_201_with_id_text_created_at(client, alice, clock):
    note = create(client, alice, "buy milk")
    assert set(note) == {"id", "text", "created_at", "updated_at"}
    assert note["text"] == "buy milk"
    assert note["created_at"] == int(clock())


def test_list_shows_only_my_notes_oldest_first(client, alice, bob, clock):
    first = create(client, alice, "one")
    clock.advance(1)
    second = create(client, alice, "two")
    create(client, bob, "bob's")
    listed = json_body(send(client, "GET", "/notes", alice))
    assert [n["id"] for n in listed] == [first["id"], second["id"]]


def test_get_update_delete_own_note(client, alice, clock):
    note = create(client, alice)
    path = f"/notes/{note['id']}"
    assert json_body(send(client, "GET", path, alice)) == note
    clock.advance(5)
    updated = send(client, "PUT", path, alice, {"text": "changed"})
    assert updated.status_code == 200
    assert json_body(updated)["text"] == "changed"
    assert json_body(updated)["updated_at"] == note["created_at"] + 5
    assert send(client, "DELETE", path, alice).status_code == 204
    assert send(client, "GET", path, alice).status_code == 404


@pytest.mark.parametrize(("method", "body"), [("GET", None), ("PUT", {"text": "mine now"}), ("DELETE", None)])
def test_another_users_note_is_404_never_403(client, alice, bob, method, body):
    note = create(client, alice)
    response = send(client, method, f"/notes/{note['id']}", bob, body)
    assert response.status_code == 404
    assert json_body(response)["error"] == "not_found"
    assert json_body(send(client, "GET", f"/notes/{note['id']}", alice))["text"] == "hello"


@pytest.mark.parametrize(
    "note_id", ["nope", "0" * 27, "0" * 28, "..", "%00", "%2e%2e%2fetc", "0123456789ABCDEF0123456789AB"]
)
def test_unknown_or_malformed_note_id_is_404(client, alice, note_id):
    assert send(client, "GET", f"/notes/{note_id}", alice).status_code == 404


@pytest.mark.parametrize(
    "body",
    [{}, {"text": ""}, {"text": "   "}, {"text": 5}, {"text": None}, {"text": ["a"]}, {"txt": "x"}],
)
def test_invalid_note_body_is_400(client, alice, body):
    response = send(client, "POST", "/notes", alice, body)
    assert response.status_code == 400
    assert json_body(response)["error"] == "invalid_request"


@pytest.mark.parametrize("raw", ["not json", "[]", '"x"', "{", "\udcff"])
def test_non_json_note_body_is_400(client, alice, raw):
    response = send(client, "POST", "/notes", alice, raw=raw.encode("utf-8", "surrogateescape"))
    assert response.status_code == 400


def test_note_longer_than_the_limit_is_400(client, alice, rt):
    limit = gatehouse_app.MAX_NOTE_LENGTH
    assert send(client, "POST", "/notes", alice, {"text": "x" * limit}).status_code == 201
    response = send(client, "POST", "/notes", alice, {"text": "x" * (limit + 1)})
    assert response.status_code == 400
    assert str(limit) in json_body(response)["message"]


def test_body_over_64_kib_is_413(client, alice):
    response = send(client, "POST", "/notes", alice, {"text": "x" * (65 * 1024)})
    assert response.status_code == 413
    assert json_body(response)["error"] == "payload_too_large"


def test_update_of_missing_note_creates_nothing(client, alice):
    response = send(client, "PUT", "/notes/0123456789abcdef0123456789ab", alice, {"text": "ghost"})
    assert response.status_code == 404
    assert json_body(send(client, "GET", "/notes", alice)) == []


def test_wrong_method_is_405_with_stable_code(client, alice):
    response = send(client, "PATCH", "/notes", alice, {"text": "x"})
    assert response.status_code == 405
    assert json_body(response)["error"] == "method_not_allowed"
    assert set(response.headers["Allow"].split(", ")) == {"GET", "POST"}


def test_notes_come_in_pages_linked_by_a_cursor(client, alice, clock):
    created = []
    for i in range(5):
        created.append(create(client, alice, f"note {i}")["id"])
        clock.advance(1)
    seen, path = [], "/notes?limit=2"
    for _ in range(4):
        response = send(client, "GET", path, alice)
        assert response.status_code == 200
        seen.extend(n["id"] for n in json_body(response))
        link = response.headers.get("Link")
        if link is None:
            break
        assert link.endswith('>; rel="next"')
        path = link[1 : link.index(">")]
    assert seen == created


def test_default_page_is_100_notes(client, alice, rt):
    for i in range(101):
        notes_table.table().put_item(
            Item={
                "owner": rt.users.get("alice").account_id,  # notes are keyed by the account id
                "note_id": f"{i:012x}{'0' * 16}",
                "text": "x",
                "created_at": i,
                "updated_at": i,
            }
        )
    first = send(client, "GET", "/notes", alice)
    assert len(json_body(first)) == 100
    assert "cursor=" in first.headers["Link"]


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=101", "limit=abc", "limit=-1", "cursor=nope", "cursor=..%2F"]
)
def test_bad_page_parameters_are_400(client, alice, query):
    response = send(client, "GET", f"/notes?{query}", alice)
    assert response.status_code == 400
    assert json_body(response)["error"] == "invalid_request"
