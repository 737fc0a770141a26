"""The operations on journal notes: write a draft, edit it, delete it, sign it, correct a signed note.

Documentation is a duty (socialtjänstlagen (2025:400), `law.toml` key `sol_14_3_7`, the documentation rules):
what happened is written down by the staff who work on the case, and what was written stays as written.
So a note is a draft until its author signs it, and only its author sees, edits, signs or deletes it; a
signed note never changes, through any operation here (`NoteSigned`); a mistake in it is put right by a
correction, a new signed note that names the one it corrects, and both stay in the journal.

Each operation opens as every case operation does (`cases.casework.skeleton`: the account, the idempotency
key, the locked case, a ground on it); only the roles with a ground write notes (`policies.journal`), never
emergency access, which reads a case and does nothing to it. Every change appends to the journal log the
note's content hash, kind and what was done (`cases.audit.notes`), never its text; the text is sealed with
the case's key. Notes do not move the case's version: a note written beside a transition form does not make
that form stale.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from cases.actors import utcnow
from cases.audit import log
from cases.audit.notes import DELETED, note_digest
from cases.casework.skeleton import Opened, case_write
from cases.db import Database
from cases.errors import InvalidConcern, NoteNotFound, NoteNotSigned, NoteSigned, NotPermitted
from cases.events import operation
from cases.flowcharts import engine_for_version
from cases.models import JournalNote
from cases.text import check_text
from policies.journal import NOTE_MAX_CHARS, NOTE_ROLES, load_journal
from workflow import Actor, JournalEntry
from workflow.deadlines import local_date

if TYPE_CHECKING:
    from cases.casework.idempotency import Claim

__all__ = ["NoteDone", "NoteForm", "correct_note", "delete_note", "edit_note", "sign_note", "write_note"]

# What the journal log records was done to a note.
WRITTEN, EDITED, SIGNED, CORRECTED = "write", "edit", "sign", "correct"


@dataclass(frozen=True)
class NoteForm:
    """A note as sent: its kind (a code of `policies/journal.toml`), the date of what happened, the text, and
    for a correction the id of the signed note it corrects."""

    kind: str
    occurred_on: date
    text: str
    corrects: str | None = None

    def __repr__(self) -> str:  # holds personal data: never print it
        return f"NoteForm(kind={self.kind!r}, corrects={self.corrects!r})"


@dataclass(frozen=True)
class NoteDone:
    """What a committed change to a note left behind: the note, whether it is signed, its journal log entry."""

    ref: str
    note_id: str
    signed: bool
    seq: int


@operation("note_written")
def write_note(db: Database, actor: Actor, ref: str, form: NoteForm, *, now: datetime | None = None,
               claim: Claim | None = None) -> NoteDone:
    """Write a draft note on case `ref` (a correction is `correct_note`'s, with an event of its own)."""
    if form.corrects is not None:
        raise InvalidConcern("corrects", "a correction is written as one", "en rättelse skrivs som en rättelse")
    return _write(db, actor, ref, form, now=now or utcnow(), claim=claim)


@operation("note_corrected")
def correct_note(db: Database, actor: Actor, ref: str, form: NoteForm, *, now: datetime | None = None,
                 claim: Claim | None = None) -> NoteDone:
    """Write a signed correction of the signed note `form.corrects`: a new note; the corrected one stays as it is."""
    if form.corrects is None:
        raise InvalidConcern("corrects", "name the signed note this corrects",
                             "ange den signerade anteckning som rättas")
    return _write(db, actor, ref, form, now=now or utcnow(), claim=claim)


def _write(db: Database, actor: Actor, ref: str, form: NoteForm, *, now: datetime, claim: Claim | None) -> NoteDone:
    _require_role(actor)
    with case_write(db, actor, ref, now=now, claim=claim) as opened:
        text = _check(opened, form, now)
        corrected = None
        if form.corrects is not None:
            corrected = _note(opened, form.corrects)
            if corrected.signed_at is None:
                raise NoteNotSigned(ref, corrected.id)
        note_id = str(uuid.uuid4())
        key = db.vault.case_key(opened.case.id)  # KeyDestroyed: nothing is written on an erased case
        note = JournalNote(id=note_id, case_id=opened.case.id, author_id=actor.id, author_role=actor.role,
                           kind=form.kind, occurred_on=form.occurred_on,
                           text=key.seal("journal_notes", note_id, "text", text),
                           corrects_id=corrected.id if corrected else None, created_at=now, updated_at=now,
                           signed_at=now if corrected else None)
        opened.session.add(note)
        opened.session.flush()
        seq = _logged(opened, actor, note, CORRECTED if corrected else WRITTEN, now)
        return opened.settled(NoteDone(ref, note_id, note.signed_at is not None, seq))


@operation("note_edited")
def edit_note(db: Database, actor: Actor, ref: str, note_id: str, form: NoteForm, *, now: datetime | None = None,
              claim: Claim | None = None) -> NoteDone:
    """Change the author's own draft `note_id`: its kind, date and text (not what it corrects)."""
    now = now or utcnow()
    _require_role(actor)
    with case_write(db, actor, ref, now=now, claim=claim) as opened:
        note = _own_draft(opened, actor, note_id)
        text = _check(opened, form, now)
        note.kind, note.occurred_on, note.updated_at = form.kind, form.occurred_on, now
        note.text = db.vault.case_key(opened.case.id).seal("journal_notes", note.id, "text", text)
        opened.session.flush()
        seq = _logged(opened, actor, note, EDITED, now)
        return opened.settled(NoteDone(ref, note.id, False, seq))


@operation("note_signed")
def sign_note(db: Database, actor: Actor, ref: str, note_id: str, *, now: datetime | None = None,
              claim: Claim | None = None) -> NoteDone:
    """Sign the author's own draft `note_id`: from now on it never changes."""
    now = now or utcnow()
    _require_role(actor)
    with case_write(db, actor, ref, now=now, claim=claim) as opened:
        note = _own_draft(opened, actor, note_id)
        db.vault.case_key(opened.case.id)  # an erased case's drafts are not signed: nobody can read them
        note.signed_at = note.updated_at = now
        opened.session.flush()
        seq = _logged(opened, actor, note, SIGNED, now)
        return opened.settled(NoteDone(ref, note.id, True, seq))


@operation("note_deleted")
def delete_note(db: Database, actor: Actor, ref: str, note_id: str, *, now: datetime | None = None,
                claim: Claim | None = None) -> NoteDone:
    """Delete the author's own draft `note_id` (a signed note is never deleted); the log keeps that it was."""
    now = now or utcnow()
    _require_role(actor)
    with case_write(db, actor, ref, now=now, claim=claim) as opened:
        note = _own_draft(opened, actor, note_id)
        entry = JournalEntry(at=now, case_ref=ref, actor_id=actor.id, role=actor.role, action=DELETED,
                             note_id=note.id, kind=note.kind, content="")
        opened.session.delete(note)
        opened.session.flush()
        row = log.append(opened.session, entry)
        return opened.settled(NoteDone(ref, note_id, False, row.seq))


def _require_role(actor: Actor) -> None:
    """Deny by default: only the roles with a ground on cases write notes (never the system's jobs)."""
    if actor.role not in NOTE_ROLES:
        raise NotPermitted("write journal notes", actor.role)


def _check(opened: Opened, form: NoteForm, now: datetime) -> str:
    """The note's text, once its kind, date and text are acceptable; else `InvalidConcern` naming the field."""
    if form.kind not in load_journal().kinds:
        raise InvalidConcern("kind", "choose a kind of note from the list", "välj en sorts anteckning i listan")
    if not isinstance(form.occurred_on, date) or isinstance(form.occurred_on, datetime):
        raise InvalidConcern("occurred_on", "a date written YYYY-MM-DD", "ett datum skrivet ÅÅÅÅ-MM-DD")
    zone = engine_for_version(opened.session, opened.case.flowchart_version).chart.timezone
    if form.occurred_on > local_date(now, zone):
        raise InvalidConcern("occurred_on", "the date of what happened cannot be in the future",
                             "datumet för det som hände kan inte ligga i framtiden")
    text = check_text("text", form.text if isinstance(form.text, str) else "").strip()
    if not text:
        raise InvalidConcern("text", "write what happened", "skriv vad som hände")
    if len(text) > NOTE_MAX_CHARS:
        raise InvalidConcern("text", f"at most {NOTE_MAX_CHARS} characters", f"högst {NOTE_MAX_CHARS} tecken")
    return text


def _note(opened: Opened, note_id: str) -> JournalNote:
    """Note `note_id` of the opened case, locked; another's draft is not there to see (`NoteNotFound`)."""
    note = opened.session.scalars(select(JournalNote).where(
        JournalNote.id == note_id, JournalNote.case_id == opened.case.id).with_for_update()).first()
    if note is None or (note.signed_at is None and note.author_id != opened.staff.id):
        raise NoteNotFound(opened.case.ref, note_id)
    return note


def _own_draft(opened: Opened, actor: Actor, note_id: str) -> JournalNote:
    """The actor's own draft `note_id`; a signed note is refused, whatever the operation (`NoteSigned`)."""
    note = _note(opened, note_id)
    if note.signed_at is not None:
        raise NoteSigned(opened.case.ref, note.id)
    return note


def _logged(opened: Opened, actor: Actor, note: JournalNote, action: str, now: datetime) -> int:
    """Append the change to the journal log: the note's content hash and kind, never its text."""
    entry = JournalEntry(at=now, case_ref=opened.case.ref, actor_id=actor.id, role=actor.role, action=action,
                         note_id=note.id, kind=note.kind, content=note_digest(note, opened.case.ref),
                         corrects=note.corrects_id)
    return log.append(opened.session, entry).seq
