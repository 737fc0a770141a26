"""Journal notes on both databases: drafts and signing, a signed note that never changes, corrections, who may
write and read them, the journal log and `verify` over it, and the access log of every read.

Documentation is a duty of the social services: socialtjänstlagen (2025:400), the documentation rules
(`law.toml` key `sol_14_3_7`); what was written and signed stays as written, and is put right by a correction.
"""

from __future__ import annotations

import json
import logging
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from cases import ConcernForm, register_concern
from cases.audit.verify import verify
from cases.casework.access import assign_case
from cases.errors import (
    AccessDenied,
    InvalidConcern,
    KeyDestroyed,
    NoteNotFound,
    NoteNotSigned,
    NoteSigned,
    NotPermitted,
)
from cases.journal import NoteForm, correct_note, delete_note, edit_note, read_journal, sign_note, write_note
from cases.journal.timeline import NOTE_FIELD, NoteItem, StepItem
from cases.models import AccessLogEntry, JournalLogEntry, JournalNote
from cases.reports.demo import PATHS, drive
from policies.journal import load_journal
from tests.conftest import NOW
from workflow import Actor

MARKER = "Markörtext-7Q3 hembesök hos familjen"  # must never reach a log line, an event or an audit log
NEVER = ("reporter", "coordinator", "partner", "auditor", "admin", "system")
TODAY = NOW.date()


def form(text=MARKER, *, kind="home_visit", on=TODAY - timedelta(days=1), corrects=None) -> NoteForm:
    return NoteForm(kind=kind, occurred_on=on, text=text, corrects=corrects)


@pytest.fixture
def ref(db, staff, child_number):
    """A child's case in intake, registered through the real operation; intake and the decider have a ground."""
    concern = ConcernForm(concern="Oro för en elev.", reporter_org="school", identity_number=child_number,
                          given_name="Test", family_name="Testsson")
    return register_concern(db, staff["reporter"], concern, now=NOW).ref


def journal_log(db) -> list[dict]:
    with db.read() as session:
        entries = session.scalars(select(JournalLogEntry.entry).order_by(JournalLogEntry.seq))
        return [json.loads(bytes(e)) for e in entries]


def test_a_note_is_a_draft_until_its_author_signs_it(db, staff, ref):
    done = write_note(db, staff["intake"], ref, form(), now=NOW)
    assert not done.signed
    signed = sign_note(db, staff["intake"], ref, done.note_id, now=NOW + timedelta(minutes=1))
    assert signed.signed and signed.seq > done.seq
    (note,) = read_journal(db, staff["intake"], ref, now=NOW).notes
    assert note.signed and note.text == MARKER and note.note_kind == "home_visit" and note.author_role == "intake"
    assert [e["action"] for e in journal_log(db)] == ["write", "sign"]


def test_only_the_author_sees_edits_signs_or_deletes_a_draft(db, staff, ref):
    done = write_note(db, staff["intake"], ref, form(), now=NOW)
    assert read_journal(db, staff["decider"], ref, now=NOW).notes == ()
    for attempt in (lambda: edit_note(db, staff["decider"], ref, done.note_id, form("Annat.")),
                    lambda: sign_note(db, staff["decider"], ref, done.note_id),
                    lambda: delete_note(db, staff["decider"], ref, done.note_id)):
        with pytest.raises(NoteNotFound):
            attempt()
    edit_note(db, staff["intake"], ref, done.note_id, form("Rättat utkast.", kind="meeting"), now=NOW)
    (note,) = read_journal(db, staff["intake"], ref, now=NOW).notes
    assert (note.text, note.note_kind, note.signed) == ("Rättat utkast.", "meeting", False)
    delete_note(db, staff["intake"], ref, done.note_id, now=NOW)
    assert read_journal(db, staff["intake"], ref, now=NOW).notes == ()
    assert [e["action"] for e in journal_log(db)] == ["write", "edit", "delete"]
    assert verify(db, "unused").ok


def test_no_operation_changes_a_signed_note(db, staff, ref):
    """Socialtjänstlagen (2025:400), the documentation rules (`sol_14_3_7`): a signed note stays as written."""
    done = write_note(db, staff["intake"], ref, form(), now=NOW)
    sign_note(db, staff["intake"], ref, done.note_id, now=NOW)
    before = journal_log(db)
    for attempt in (lambda: edit_note(db, staff["intake"], ref, done.note_id, form("Ändrad.")),
                    lambda: sign_note(db, staff["intake"], ref, done.note_id),
                    lambda: delete_note(db, staff["intake"], ref, done.note_id)):
        with pytest.raises(NoteSigned):
            attempt()
    (note,) = read_journal(db, staff["intake"], ref, now=NOW).notes
    assert note.text == MARKER and note.signed
    assert journal_log(db) == before


def test_a_correction_is_a_new_signed_note_and_both_are_shown(db, staff, ref):
    first = write_note(db, staff["intake"], ref, form(), now=NOW)
    sign_note(db, staff["intake"], ref, first.note_id, now=NOW)
    fix = correct_note(db, staff["decider"], ref, form("Rättelse: mötet var på skolan.", kind="meeting",
                                                         corrects=first.note_id), now=NOW + timedelta(hours=1))
    assert fix.signed
    notes = {n.id: n for n in read_journal(db, staff["intake"], ref, now=NOW).notes}
    assert notes[first.note_id].corrected_by == (fix.note_id,) and notes[first.note_id].text == MARKER
    assert notes[fix.note_id].corrects == first.note_id and notes[fix.note_id].signed
    assert [(e["action"], e["corrects"]) for e in journal_log(db)][-1] == ("correct", first.note_id)
    with pytest.raises(NoteSigned):
        edit_note(db, staff["decider"], ref, fix.note_id, form("Ändrad rättelse."))


def test_a_draft_is_not_corrected_and_a_note_of_another_case_not_either(db, staff, ref, adult_number):
    draft = write_note(db, staff["intake"], ref, form(), now=NOW)
    with pytest.raises(NoteNotSigned):
        correct_note(db, staff["intake"], ref, form(corrects=draft.note_id), now=NOW)
    other = register_concern(db, staff["reporter"], ConcernForm(
        concern="Oro.", reporter_org="school", identity_number=adult_number), now=NOW).ref
    sign_note(db, staff["intake"], ref, draft.note_id, now=NOW)
    with pytest.raises(NoteNotFound):
        correct_note(db, staff["intake"], other, form(corrects=draft.note_id), now=NOW)


@pytest.mark.parametrize("role", NEVER)
def test_roles_without_a_ground_never_write_or_read_notes(db, staff, ref, role):
    """Deny by default: a reporter, partner, auditor, coordinator, administrator or the system never reads notes."""
    write_note(db, staff["intake"], ref, form(), now=NOW)
    with pytest.raises(NotPermitted):
        write_note(db, staff[role], ref, form(), now=NOW)
    with pytest.raises(NotPermitted):
        read_journal(db, staff[role], ref, now=NOW)


def test_a_caseworker_needs_an_assignment_to_the_case(db, staff, ref):
    with pytest.raises(AccessDenied):
        write_note(db, staff["caseworker"], ref, form(), now=NOW)
    with pytest.raises(AccessDenied):
        read_journal(db, staff["caseworker"], ref, now=NOW)
    assign_case(db, staff["intake"], ref, staff["caseworker"].id, now=NOW)
    done = write_note(db, staff["caseworker"], ref, form(), now=NOW)
    assert read_journal(db, staff["caseworker"], ref, now=NOW).notes[0].id == done.note_id


@pytest.mark.parametrize(("bad", "field"), [
    (form(kind="gossip"), "kind"),
    (form(on=TODAY + timedelta(days=1)), "occurred_on"),
    (form("   "), "text"),
    (form("x" * 10_001), "text"),
    (form("nul\x00byte"), "text"),
])
def test_a_note_needs_a_known_kind_a_past_date_and_text(db, staff, ref, bad, field):
    with pytest.raises(InvalidConcern) as refused:
        write_note(db, staff["intake"], ref, bad, now=NOW)
    assert refused.value.field == field
    assert journal_log(db) == []


def test_the_note_is_sealed_and_no_log_holds_its_text(db, staff, ref, caplog):
    caplog.set_level(logging.DEBUG)
    done = write_note(db, staff["intake"], ref, form(), now=NOW)
    sign_note(db, staff["intake"], ref, done.note_id, now=NOW)
    correct_note(db, staff["intake"], ref, form(corrects=done.note_id), now=NOW)
    read_journal(db, staff["intake"], ref, now=NOW)
    with db.read() as session:
        stored = b"".join(bytes(t) for t in session.scalars(select(JournalNote.text)))
        logs = b"".join(bytes(e) for table in (JournalLogEntry, AccessLogEntry)
                        for e in session.scalars(select(table.entry)))
    for needle in (MARKER.encode(), "Markörtext".encode()):
        assert needle not in stored and needle not in logs
    for record in caplog.records:
        assert "Markörtext" not in record.getMessage() and "Markörtext" not in json.dumps(
            getattr(record, "vidoro", {}), ensure_ascii=False)
    events = {getattr(r, "vidoro", {}).get("event") for r in caplog.records}
    assert {"note_written", "note_signed", "note_corrected", "journal_read"} <= events


def test_every_read_of_notes_is_in_the_access_log(db, staff, ref):
    note = write_note(db, staff["intake"], ref, form(), now=NOW).note_id
    with db.read() as session:
        before = session.scalars(select(AccessLogEntry.seq)).all()
    read_journal(db, staff["intake"], ref, now=NOW)
    with db.read() as session:
        rows = session.scalars(select(AccessLogEntry).where(AccessLogEntry.seq.not_in(before))).all()
    (row,) = rows
    body = json.loads(bytes(row.entry))
    assert (row.case_ref, row.actor_id, row.action, row.ground) == (ref, staff["intake"].id, "read", "role")
    assert body["fields"] == [NOTE_FIELD] and body["codes"] == {"notes": [note]}  # which note, by id


def test_the_timeline_holds_the_steps_and_the_notes_newest_first(db, staff, adult_number):
    _child, steps = PATHS["pre_assessment"]
    concern = ConcernForm(concern="Oro.", reporter_org="school", identity_number=adult_number)
    ref = register_concern(db, staff["reporter"], concern, now=NOW).ref
    last = drive(db, staff, ref, steps, NOW)
    done = write_note(db, staff["intake"], ref, form(), now=last + timedelta(minutes=5))
    items = read_journal(db, staff["intake"], ref, now=last).items
    assert isinstance(items[0], NoteItem) and items[0].id == done.note_id
    assert all(isinstance(i, StepItem) for i in items[1:]) and items[-1].trigger == "register"
    assert [i.at for i in items] == sorted((i.at for i in items), reverse=True)
    assert items[1].to_state == "pre_assessment" and items[1].actor_name


@pytest.mark.parametrize("change", [
    "UPDATE journal_notes SET text = :other",
    "UPDATE journal_notes SET kind = 'other'",
    "UPDATE journal_notes SET occurred_on = :day",
    "DELETE FROM journal_notes",
])
def test_verify_finds_a_signed_note_changed_in_the_database(db, staff, ref, change):
    """A signed note changed by direct SQL no longer matches its journal log entry: `verify` names it."""
    done = write_note(db, staff["intake"], ref, form(), now=NOW)
    sign_note(db, staff["intake"], ref, done.note_id, now=NOW)
    other = write_note(db, staff["intake"], ref, form("Ett annat utkast."), now=NOW)
    assert verify(db, "unused").ok
    with db.write() as session:
        sealed = session.get(JournalNote, other.note_id).text
        session.execute(text(f"{change} WHERE id = :id"),
                        {"other": sealed, "day": date(2026, 1, 1), "id": done.note_id})
    findings = [(f.kind, f.log) for f in verify(db, "unused").findings]
    expected = "note_removed" if change.startswith("DELETE") else "note_changed"
    assert findings == [(expected, "journal")]


def test_journal_kinds_have_words_in_both_languages():
    kinds = load_journal().kinds
    assert set(kinds) == {"contact", "meeting", "home_visit", "phone_call", "information_received", "other",
                          "rectification"}  # a correction at the person's request (policies/subjects.toml)
    assert all(label.sv and label.en for label in kinds.values())


def test_an_unknown_account_writes_nothing(db, staff, ref):
    with pytest.raises(NotPermitted):
        write_note(db, Actor("00000000-0000-0000-0000-000000000000", "intake"), ref, form(), now=NOW)


def test_an_erased_case_keeps_its_notes_unreadable_and_its_journal_verifiable(db, staff, adult_number):
    """Erasure destroys the case's key: the notes can no longer be read by anyone, and the journal log and the
    notes' content hashes (over ciphertext) still verify."""
    _child, steps = PATHS["erased"]
    ref = register_concern(db, staff["reporter"], ConcernForm(
        concern="Oro.", reporter_org="school", identity_number=adult_number), now=NOW).ref
    done = write_note(db, staff["intake"], ref, form(on=TODAY), now=NOW)
    sign_note(db, staff["intake"], ref, done.note_id, now=NOW)
    last = drive(db, staff, ref, steps, NOW)
    journal = read_journal(db, staff["decider"], ref, now=last)
    assert journal.erased and [n.text for n in journal.notes] == [None]
    with pytest.raises(KeyDestroyed):
        write_note(db, staff["decider"], ref, form(), now=last)
    assert verify(db, "unused").ok
