"""A case's journal: notes written by the staff who work on it, signed and never changed after, corrected by
new notes; and the journal as one timeline of transitions and notes. Above `cases.casework`, whose skeleton and
grounds it uses; nothing beneath imports it.
"""

from __future__ import annotations

from cases.journal.notes import NoteDone, NoteForm, correct_note, delete_note, edit_note, sign_note, write_note
from cases.journal.timeline import Journal, NoteItem, StepItem, read_journal

__all__ = [
    "Journal",
    "NoteDone",
    "NoteForm",
    "NoteItem",
    "StepItem",
    "correct_note",
    "delete_note",
    "edit_note",
    "read_journal",
    "sign_note",
    "write_note",
]
