"""Correction at the person's request (GDPR article 16): a signed correction note in the case's journal.

A record is never silently changed: the person's request becomes a new note of the kind `subjects.toml` names
(`correction_kind`), signed when it is written, that names the signed note it corrects; the corrected note
stays as it was, and the journal log records the correction (`cases.journal.correct_note`). What is corrected
that is not a note (the concern as registered, a step's text) is put right the same way, by a signed note on
the case, written and signed by the member of staff with a ground on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from cases.actors import utcnow
from cases.db import Database
from cases.journal import NoteDone, NoteForm, correct_note, sign_note, write_note
from policies.subjects import load_subjects
from workflow import Actor

__all__ = ["CorrectionRequest", "record_correction"]


@dataclass(frozen=True)
class CorrectionRequest:
    """What the person asked to have corrected, as the member of staff writes it, and the note it corrects."""

    text: str
    received_on: date
    corrects: str | None = None  # the signed journal note corrected; None: another record of the case

    def __repr__(self) -> str:  # holds personal data: never print it
        return f"CorrectionRequest(corrects={self.corrects!r})"


def record_correction(db: Database, actor: Actor, ref: str, request: CorrectionRequest, *,
                      now: datetime | None = None) -> NoteDone:
    """Write the correction as a signed note on case `ref` (the journal's roles and grounds apply)."""
    now = now or utcnow()
    form = NoteForm(kind=load_subjects().correction_kind, occurred_on=request.received_on, text=request.text,
                    corrects=request.corrects)
    if request.corrects is not None:
        return correct_note(db, actor, ref, form, now=now)
    draft = write_note(db, actor, ref, form, now=now)
    return sign_note(db, actor, ref, draft.note_id, now=now)
