"""The notes repository against moto: keyed by owner, raising the example's own NoSuchNote."""

from __future__ import annotations

from typing import Any

import pytest

from app import notes_table
from chalicelib.notes.repository import NoSuchNote, Note, NoteRepository, new_note_id


@pytest.fixture
def notes(rt: Any) -> NoteRepository:
    return NoteRepository(notes_table.table())


def _note(owner: str, ms: int, text: str = "hello") -> Note:
    return Note(owner=owner, note_id=new_note_id(ms), text=text, created_at=ms // 1000, updated_at=ms // 1000)


def test_a_created_note_reads_back_for_its_owner_only(notes: NoteRepository) -> None:
    note = _note("alice", 1_000)
    notes.create(note)
    assert notes.get("alice", note.note_id) == note
    with pytest.raises(NoSuchNote):
        notes.get("bob", note.note_id)


def test_ids_sort_by_creation_time() -> None:
    assert new_note_id(1_000) < new_note_id(2_000)
    assert len(new_note_id(0)) == 28


def test_pages_follow_on_from_the_last_id_in_creation_order(notes: NoteRepository) -> None:
    created = [_note("alice", 1_000 * i) for i in range(1, 6)]
    for note in created:
        notes.create(note)
    notes.create(_note("bob", 500))
    first, after = notes.list_page("alice", 2)
    assert [n.note_id for n in first] == [n.note_id for n in created[:2]]
    assert after == created[1].note_id
    rest, _ = notes.list_page("alice", 10, after)
    assert [n.note_id for n in rest] == [n.note_id for n in created[2:]]


def test_update_changes_the_text_and_time_of_the_owners_note_only(notes: NoteRepository) -> None:
    note = _note("alice", 1_000)
    notes.create(note)
    updated = notes.update("alice", note.note_id, "changed", 99)
    assert (updated.text, updated.updated_at, updated.created_at) == ("changed", 99, note.created_at)
    with pytest.raises(NoSuchNote):
        notes.update("bob", note.note_id, "hijack", 100)
    assert notes.get("alice", note.note_id).text == "changed"


def test_delete_removes_the_owners_note_and_refuses_anyone_elses(notes: NoteRepository) -> None:
    note = _note("alice", 1_000)
    notes.create(note)
    with pytest.raises(NoSuchNote):
        notes.delete("bob", note.note_id)
    notes.delete("alice", note.note_id)
    with pytest.raises(NoSuchNote):
        notes.delete("alice", note.note_id)
