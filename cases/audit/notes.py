"""What the journal log commits to for a note, and the check that every stored note is what its log says.

A note's content hash covers the note as stored: its case (pseudonym and id), kind, date, author, what it
corrects, whether and when it was signed, and its text as sealed (the ciphertext: an auditor checks it
without the case's key, and it still checks after the key is destroyed at erasure). Each change to a note
appends a journal log entry with the hash of the note as it stands after the change (`cases.journal`), so
the last entry of each note says what the row must be now. `vidoro audit verify` (`cases.audit.verify`)
runs `check_notes`: a signed note whose text, kind, date or case was changed in the database, a note with no
entry, and a logged note that is gone are each a finding. The logs themselves are verified as every log is;
this checks the rows against them.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from datetime import UTC

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.models import JournalLogEntry, JournalNote

__all__ = ["DELETED", "check_notes", "note_digest"]

DELETED = "delete"  # the action of the last entry of a draft that was deleted: no row may remain


def note_digest(note: JournalNote, case_ref: str) -> str:
    """The hex SHA-256 of `note` as stored, in a canonical form (the same row always gives the same hash)."""
    body = {
        "case": case_ref,
        "case_id": note.case_id,
        "note": note.id,
        "kind": note.kind,
        "occurred": note.occurred_on.isoformat(),
        "author": note.author_id,
        "corrects": note.corrects_id,
        "signed": note.signed_at.astimezone(UTC).isoformat(timespec="microseconds") if note.signed_at else None,
        "text": base64.b64encode(bytes(note.text)).decode(),
    }
    data = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(b"vidoro-journal-note/1\x00" + data).hexdigest()


def check_notes(session: Session, report: Callable[[str, str, str], None]) -> int:
    """Compare every stored note with the last journal log entry about it; `report(kind, where, detail)` each
    difference. Returns how many notes were checked."""
    last: dict[str, tuple[int, dict]] = {}
    for seq, entry in session.execute(select(JournalLogEntry.seq, JournalLogEntry.entry).order_by(JournalLogEntry.seq)):
        try:
            body = json.loads(bytes(entry))
        except ValueError:
            continue  # a malformed entry is the log's own finding (`cases.audit.verify`)
        if isinstance(body, dict) and isinstance(body.get("note"), str):  # the entry, not its search column
            last[body["note"]] = (seq, body)
    checked = 0
    # Each note is checked against its entry alone, its case named by the entry: whether the case itself is
    # stored and in step with its transitions is the transition log's check, not this one.
    for note in session.scalars(select(JournalNote).order_by(JournalNote.created_at, JournalNote.id)):
        checked += 1
        logged = last.pop(note.id, None)
        if logged is None or logged[1].get("action") == DELETED:
            report("note_unlogged", f"note {note.id}", "is stored but no journal log entry says it exists")
            continue
        seq, body = logged
        ref = str(body.get("case"))
        where = f"note {note.id} of case {ref}"
        if body.get("content") != note_digest(note, ref) or body.get("kind") != note.kind:
            signed = "signed " if note.signed_at is not None else ""
            report("note_changed", where, f"the {signed}note as stored is not what journal log entry {seq} holds")
    for note_id, (seq, body) in sorted(last.items(), key=lambda item: item[1][0]):
        if body.get("action") != DELETED:
            report("note_removed", f"note {note_id}", f"is named in journal log entry {seq} but not stored")
    return checked
