"""An app that uses Gatehouse: the notes API, each user's own notes behind a bearer token.

``Gatehouse(app)`` adds login, tokens, sessions and the authorizer; the
routes below are the app's own, written only with the component's public seam.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from chalice.app import Chalice, Response

from chalicelib.notes.repository import NOTE_ID_PATTERN, NoSuchNote, Note, NoteRepository, new_note_id
from gatehouse import Gatehouse, Identity

app = Chalice(app_name="gatehouse")
gate = Gatehouse(app)
# Each user's notes, keyed so that a user can only address their own.  The account-deleted
# hook runs in the auth function and removes a user's notes with Query + BatchWriteItem.
notes_table = gate.table(
    "notes",
    partition_key="owner",
    sort_key="note_id",
    account_deleted_actions=["Query", "BatchWriteItem"],
)

MAX_PAGE = 100
MAX_NOTE_LENGTH = int(os.environ.get("NOTES_MAX_LENGTH", "10000"))


class InvalidNote(ValueError):
    """The request's note text or paging parameters are not acceptable."""


gate.map_error(NoSuchNote, 404, "not_found")
gate.map_error(InvalidNote, 400, "invalid_request")


def notes() -> NoteRepository:
    return NoteRepository(notes_table.table())


@gate.on_account_deleted
def delete_notes_of(account_id: str) -> None:
    """A deleted account's notes go with it (Gatehouse may call this again: it is idempotent)."""
    notes().delete_all_for(account_id)


@gate.route("/notes", methods=["GET"])
def list_notes(identity: Identity) -> Response:
    # Pages keep every answer far below Lambda's 6 MB response limit.
    params: Mapping[str, str] = gate.request().query_params or {}
    limit = _page_limit(params.get("limit"))
    cursor = params.get("cursor")
    if cursor is not None and not NOTE_ID_PATTERN.fullmatch(cursor):
        raise InvalidNote("cursor is not valid: use the one from the Link header.")
    page, following = notes().list_page(identity.account_id, limit, cursor)
    headers: dict[str, str | list[str]] = {}
    if following is not None:
        headers["Link"] = f'<{gate.url_for("/notes")}?limit={limit}&cursor={following}>; rel="next"'
    return Response(body=[n.public() for n in page], status_code=200, headers=headers)


@gate.route("/notes", methods=["POST"])
def create_note(identity: Identity) -> Response:
    now = gate.now()
    note = Note(
        owner=identity.account_id,
        note_id=new_note_id(int(now * 1000)),
        text=_note_text(),
        created_at=int(now),
        updated_at=int(now),
    )
    notes().create(note)
    return Response(body=note.public(), status_code=201)


@gate.route("/notes/{note_id}", methods=["GET"])
def get_note(identity: Identity, note_id: str) -> Response:
    note_id = _note_id(note_id)  # before the table: a malformed id never touches storage
    return Response(body=notes().get(identity.account_id, note_id).public(), status_code=200)


@gate.route("/notes/{note_id}", methods=["PUT"])
def update_note(identity: Identity, note_id: str) -> Response:
    note_id, text = _note_id(note_id), _note_text()
    note = notes().update(identity.account_id, note_id, text, int(gate.now()))
    return Response(body=note.public(), status_code=200)


@gate.route("/notes/{note_id}", methods=["DELETE"])
def delete_note(identity: Identity, note_id: str) -> Response:
    note_id = _note_id(note_id)
    notes().delete(identity.account_id, note_id)
    return Response(body="", status_code=204)


def _note_text() -> str:
    text = gate.json_body().get("text")
    if not isinstance(text, str) or not text.strip():
        raise InvalidNote("text is required: a non-empty string.")
    if len(text) > MAX_NOTE_LENGTH:
        raise InvalidNote(f"text must be at most {MAX_NOTE_LENGTH} characters.")
    return text


def _note_id(raw: str) -> str:
    # Anything that is not one of our ids cannot name a note: 404, like a
    # note that belongs to somebody else.
    if not NOTE_ID_PATTERN.fullmatch(raw):
        raise NoSuchNote()
    return raw


def _page_limit(raw: str | None) -> int:
    if raw is None:
        return MAX_PAGE
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise InvalidNote(f"limit must be a whole number from 1 to {MAX_PAGE}.")
    return int(raw)
