"""A case's journal as one timeline: its transitions and its notes, newest first; every read of a note logged.

The transitions come from the transition log (who, in what role, when, which step: codes, no text); the notes
from `journal_notes`, their text opened with the case's key. Signed notes are everyone's with a ground on the
case; a draft only its author's. A note that a later signed note corrects is marked as corrected, and both
are shown. Opening the notes is a read of personal data: one access log entry per read, naming the field and
the notes read, in the transaction of the read (`cases.audit`), as a case's read is (`cases.casework.access`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import or_, select

from cases.actors import utcnow
from cases.audit import log
from cases.casework.grounds import read_ground
from cases.casework.skeleton import case_write
from cases.db import Database
from cases.errors import AccessDenied, KeyDestroyed, NotPermitted
from cases.events import operation
from cases.models import JournalNote, Staff, TransitionLogEntry
from policies.journal import NOTE_ROLES
from workflow import AccessEntry, Actor, LogEntry

__all__ = ["NOTE_FIELD", "Journal", "NoteItem", "StepItem", "read_journal"]

NOTE_FIELD = "journal_notes.text"  # the field an access log entry names for a read of notes


@dataclass(frozen=True)
class StepItem:
    """A transition on the timeline: the step (its trigger, from, to), who took it in what role, and when."""

    seq: int
    at: datetime
    trigger: str
    from_state: str | None
    to_state: str
    actor_id: str
    actor_name: str | None
    role: str
    flowchart_version: str

    kind = "step"


@dataclass(frozen=True)
class NoteItem:
    """A journal note on the timeline; `text` is None once the case is erased (its key destroyed)."""

    id: str
    at: datetime  # when it was written
    note_kind: str
    occurred_on: date
    text: str | None
    author_id: str
    author_name: str | None
    author_role: str
    signed_at: datetime | None
    corrects: str | None
    corrected_by: tuple[str, ...]

    kind = "note"

    @property
    def signed(self) -> bool:
        return self.signed_at is not None

    def __repr__(self) -> str:  # holds personal data: never print it
        return f"NoteItem(id={self.id!r}, note_kind={self.note_kind!r}, signed={self.signed})"


@dataclass(frozen=True)
class Journal:
    """The timeline of case `ref`, newest first (transitions and notes by when they were recorded)."""

    ref: str
    items: tuple[StepItem | NoteItem, ...]
    erased: bool = False

    @property
    def notes(self) -> tuple[NoteItem, ...]:
        return tuple(i for i in self.items if isinstance(i, NoteItem))


@operation("journal_read")
def read_journal(db: Database, actor: Actor, ref: str, *, now: datetime | None = None) -> Journal:
    """The journal of case `ref` for `actor`, the read of its notes logged; refused without a ground on it."""
    now = now or utcnow()
    if actor.role not in NOTE_ROLES:
        raise NotPermitted("read journal notes", actor.role)
    with case_write(db, actor, ref, now=now, lock=False) as opened:
        session, case = opened.session, opened.case
        rows = session.execute(select(TransitionLogEntry.seq, TransitionLogEntry.entry)
                               .where(TransitionLogEntry.case_ref == case.ref).order_by(TransitionLogEntry.seq)).all()
        steps = [(seq, LogEntry.from_canonical(bytes(entry))) for seq, entry in rows]
        notes = session.scalars(select(JournalNote).where(
            JournalNote.case_id == case.id,
            or_(JournalNote.signed_at.is_not(None), JournalNote.author_id == actor.id),
        ).order_by(JournalNote.created_at, JournalNote.id)).all()
        names = _names(session, {e.actor_id for _, e in steps} | {n.author_id for n in notes})
        try:
            key = db.vault.case_key(case.id)
        except KeyDestroyed:
            key = None
        corrected: dict[str, list[str]] = {}
        for note in notes:
            if note.corrects_id is not None and note.signed_at is not None:
                corrected.setdefault(note.corrects_id, []).append(note.id)
        items: list[StepItem | NoteItem] = [
            StepItem(seq, e.at, e.trigger, e.from_state, e.to_state, e.actor_id, names.get(e.actor_id), e.role,
                     e.flowchart_version) for seq, e in steps]
        items += [NoteItem(n.id, n.created_at, n.kind, n.occurred_on,
                           key.open("journal_notes", n.id, "text", n.text) if key else None,
                           n.author_id, names.get(n.author_id), n.author_role, n.signed_at, n.corrects_id,
                           tuple(corrected.get(n.id, ()))) for n in notes]
        if key is not None and notes:
            ground = read_ground(session, actor, case)
            if ground is None:  # the skeleton's ground, checked again here: deny by default
                raise AccessDenied(case.ref, emergency_possible=False)
            # which notes were opened, by id (no content), so that an auditor can tell who read a given note
            log.append(session, AccessEntry(at=now, case_ref=case.ref, actor_id=actor.id, role=actor.role,
                                            action="read", ground=ground, fields=(NOTE_FIELD,),
                                            codes={"notes": sorted(n.id for n in notes)}))
        items.sort(key=lambda item: (item.at, isinstance(item, NoteItem)), reverse=True)
        return Journal(case.ref, tuple(items), erased=key is None)


def _names(session, ids: set[str]) -> Mapping[str, str]:
    if not ids:
        return {}
    return dict(session.execute(select(Staff.id, Staff.display_name).where(Staff.id.in_(sorted(ids)))).all())
