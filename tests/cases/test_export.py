"""The auditor's export on both databases: the stored bytes exactly, no personal data, the standalone verifier
agreeing with `cases.audit.verify`, one moment while others write, and an empty instance."""

from __future__ import annotations

import base64
import io
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from cases import ConcernForm, fire_trigger, register_concern
from cases.audit.checkpoints import issue_checkpoint
from cases.audit.export import EXPORT_FORMAT, export_logs
from cases.audit.log import LOGS
from cases.audit.signing import LogSigner
from cases.audit.verify import verify
from cases.casework.access import assign_case, read_case
from cases.journal import NoteForm, sign_note, write_note
from cases.models import Case, Checkpoint
from cases.reports.demo import PATHS, drive, fill_demo
from cases.staff.members import disable_staff
from tests.conftest import NOW
from workflow.hearing import Assessment
from workflow.merkle import EMPTY_ROOT
from workflow.vidoro_verify import Failed, check

MARK = secrets.token_hex(6)  # makes this run's free text findable, and nobody's
CONCERN = f"Oro {MARK}: eleven har visat våldsbejakande filmer för klasskamraterna."
GIVEN, FAMILY = f"Gunvor{MARK}", f"Lindqvist-{MARK}"
EMERGENCY = f"Hot i väntrummet {MARK}; behöver se tidigare kontakter nu."
NOTE_TEXT = f"Hembesök {MARK}: familjen berättade om helgen."
FREE_TEXT_FIELDS = ("reason", "protection_assessment")


@dataclass
class Filled:
    refs: list[str]
    personal: set[str]  # every personal value and free text the operations were given
    held: list[str]  # checkpoints an auditor took before the last writes
    later: datetime  # after every write so far


@pytest.fixture
def signer(tmp_path) -> LogSigner:
    return LogSigner.create(tmp_path / "keys")


def spellings(number: str) -> set[str]:
    """An identity number as people write it: 12 or 10 digits, with or without the dash."""
    return {number, number[2:], f"{number[:8]}-{number[8:]}", f"{number[2:8]}-{number[8:]}"}


@pytest.fixture
def filled(db, staff, signer, child_number, adult_number) -> Filled:
    """Demo cases in every state and two cases of our own, read by a decision maker; checkpoints, then more."""
    return build(db, staff, signer, child_number, adult_number, fill_demo(db, per_state=1, now=NOW))


@pytest.fixture
def few(db, staff, signer, child_number, adult_number) -> Filled:
    """Only the two cases of our own, read, with checkpoints in between (quicker, for what needs no demo)."""
    return build(db, staff, signer, child_number, adult_number, [])


def build(db, staff, signer, child_number: str, adult_number: str, refs: list[str]) -> Filled:
    child = register_concern(db, staff["reporter"], ConcernForm(
        concern=CONCERN, reporter_org="school", identity_number=child_number, given_name=GIVEN,
        family_name=FAMILY), now=NOW).ref
    adult = register_concern(db, staff["reporter"], ConcernForm(
        concern=CONCERN, reporter_org="leisure", identity_number=adult_number), now=NOW).ref
    later = drive(db, staff, adult, PATHS["investigation"][1], NOW) + timedelta(hours=1)
    refs += [child, adult]
    personal = {GIVEN, FAMILY, CONCERN, EMERGENCY} | spellings(child_number) | spellings(adult_number)
    for ref in refs:
        record = read_case(db, staff["decider"], ref, now=later)
        if record.erased:
            continue
        personal |= {v for v in (*record.person.values(), record.concern) if v}  # a relative's matter: no concern
        personal |= {c["evidence"] for c in record.consents if c["evidence"]}
        personal |= {str(e["fields"][f]) for e in record.journal for f in FREE_TEXT_FIELDS if e["fields"].get(f)}
    note = NoteForm(kind="meeting", occurred_on=NOW.date(), text=NOTE_TEXT)  # the journal log, and its text
    sign_note(db, staff["decider"], adult, write_note(db, staff["decider"], adult, note, now=later).note_id, now=later)
    personal.add(NOTE_TEXT)
    held = [issue_checkpoint(db, signer, name).note for name in LOGS]
    read_case(db, staff["intake"], adult, emergency_reason=EMERGENCY, now=later)
    assign_case(db, staff["intake"], child, staff["caseworker"].id, now=later)
    read_case(db, staff["caseworker"], child, now=later)
    fire_trigger(db, staff["intake"], child, "assess_protection", {}, now=later)
    issue_checkpoint(db, signer, "access")
    return Filled(refs, personal, held, later + timedelta(hours=1))


def exported(db, signer, out=None) -> tuple[list[str], list[dict], dict[str, int]]:
    """The export's lines as written, the records they hold, and the counts it returned."""
    out = out or io.StringIO()
    counts = export_logs(db, signer, out, now=NOW)
    lines = out.getvalue().splitlines(keepends=True)
    return lines, [json.loads(line) for line in lines], counts


def of_type(records: list[dict], kind: str) -> list[dict]:
    return [r for r in records if r["type"] == kind]


def stored(db) -> dict:
    """What the export should hold, read straight from the tables."""
    with db.read() as s:
        return {
            "entries": {name: [(seq, bytes(entry)) for seq, entry in s.execute(
                select(log.entries.seq, log.entries.entry).order_by(log.entries.seq))] for name, log in LOGS.items()},
            "checkpoints": [(c.log, c.note) for c in s.scalars(select(Checkpoint).order_by(Checkpoint.log,
                                                                                         Checkpoint.size))],
            "cases": [tuple(row) for row in s.execute(select(Case.ref, Case.state).order_by(Case.ref))],
        }


def failure(lines: list[str], signer: LogSigner, held=()) -> str:
    with pytest.raises(Failed) as caught:
        check(lines, signer.verifier_key, list(held), say=lambda _: None)
    return caught.value.kind


def test_the_export_holds_the_stored_bytes_and_no_personal_data(db, signer, filled, tmp_path):
    want = stored(db)
    done = []
    with open(tmp_path / "export.jsonl", "w", encoding="utf-8") as out:
        counts = export_logs(db, signer, out, now=NOW, progress=done.append)
    raw = (tmp_path / "export.jsonl").read_bytes()
    records = [json.loads(line) for line in raw.decode("utf-8").splitlines()]
    assert [r["type"] for r in records] == sorted((r["type"] for r in records), key=[
        "header", "checkpoint", "entry", "case", "end"].index)
    header = records[0]
    assert header == {"type": "header", "format": EXPORT_FORMAT, "exported_at": NOW.isoformat(),
                      "log_name": signer.name, "verifier_key": signer.verifier_key,
                      "logs": {name: {"origin": signer.origin(name), "size": len(want["entries"][name])}
                               for name in LOGS}}
    for name in LOGS:
        entries = [(r["seq"], r["entry"].encode("utf-8")) for r in of_type(records, "entry") if r["log"] == name]
        assert entries == want["entries"][name]  # byte for byte, in order, numbered from 1 without gaps
    assert len(want["entries"]["access"]) > len(filled.refs) and len(want["entries"]["transitions"]) > 40
    assert [(r["log"], r["note"]) for r in of_type(records, "checkpoint")] == want["checkpoints"]
    assert len(want["checkpoints"]) == len(LOGS) + 1
    assert len(want["entries"]["administration"]) >= len(staff_roles())  # each account's creation
    assert [(r["case"], r["state"]) for r in of_type(records, "case")] == want["cases"]
    assert records[-1] == {"type": "end", "entries": counts}
    assert counts == {name: len(e) for name, e in want["entries"].items()} and sum(done) == sum(counts.values())

    # No personal data: not in the file, nor in the entries once their JSON strings are decoded.
    decoded = "\n".join([raw.decode("utf-8"), *(r["entry"] for r in of_type(records, "entry"))])
    assert len(filled.personal) > 30 and any(MARK in p for p in filled.personal)
    assert sorted(p for p in filled.personal if p in decoded) == []
    assert MARK not in decoded


def test_the_standalone_verifier_agrees_with_the_package(db, signer, filled, tmp_path):
    lines, _, counts = exported(db, signer)
    said = []
    summary = check(lines, signer.verifier_key, filled.held, say=said.append)
    report = verify(db, signer.verifier_key, filled.held)
    assert report.ok, [f.text() for f in report.findings]
    assert said == []
    for name in LOGS:
        assert summary["logs"][name] == {"entries": report.logs[name].entries,
                                         "root": base64.b64encode(report.logs[name].root).decode()}
        assert report.logs[name].entries == counts[name]
    checked = sum(log.checkpoints + log.held for log in report.logs.values())
    assert summary["checkpoints"] == checked == 2 * len(LOGS) + 1
    assert summary["cases"] == report.cases == len(filled.refs)

    # Both refuse a held checkpoint of another signer that took the instance's name …
    other = LogSigner.create(tmp_path / "other", name=signer.name)
    forged = [other.sign("transitions", 1, EMPTY_ROOT)]
    assert [f.kind for f in verify(db, signer.verifier_key, forged).findings] == ["checkpoint_forged"]
    assert failure(exported(db, signer)[0], signer, forged) == "checkpoint_forged"
    # … and name the same case when its state is changed outside the workflow.
    ref = filled.refs[0]
    with db.write() as s:
        s.execute(update(Case).where(Case.ref == ref).values(state="closed"))
    report = verify(db, signer.verifier_key)
    assert [(f.kind, f.where) for f in report.findings] == [("case_state_changed", f"case {ref}")]
    assert failure(exported(db, signer)[0], signer) == "case_state_changed"


def staff_roles() -> tuple[str, ...]:
    from tests.conftest import ROLES

    return ROLES


def test_the_standalone_verifier_covers_the_administration_log(db, signer, few):
    """A changed account change in the export is found, against the exported and against a held checkpoint."""
    lines, records, _ = exported(db, signer)
    assert {r["log"] for r in of_type(records, "entry")} == set(LOGS)
    target = next(i for i, line in enumerate(lines) if line.startswith('{"type":"entry","log":"administration"'))
    changed = [*lines[:target], lines[target].replace('\\"create\\"', '\\"disable\\"', 1), *lines[target + 1:]]
    assert changed != lines
    assert failure(changed, signer) == "log_rewritten"
    assert failure(changed, signer, few.held) == "log_rewritten"
    check(lines, signer.verifier_key, few.held, say=lambda _: None)


class WritesOnce(io.StringIO):
    """An output that, when the export writes its first line, lets another writer change the database."""

    def __init__(self, action) -> None:
        super().__init__()
        self.action = action

    def write(self, text: str) -> int:
        if self.action is not None:
            action, self.action = self.action, None
            action()
        return super().write(text)


def test_the_export_is_one_moment_while_others_write(db, staff, signer, few, adult_number):
    before = stored(db)
    during: list[str] = []

    def meanwhile():
        now = few.later
        ref = register_concern(db, staff["reporter"], ConcernForm(
            concern=CONCERN, reporter_org="school", identity_number=adult_number), now=now).ref
        fire_trigger(db, staff["intake"], ref, "start_pre_assessment", {}, now=now + timedelta(days=1))
        fire_trigger(db, staff["intake"], few.refs[0], "start_pre_assessment",  # the child
                     {"protection_assessment": "Ingen akut fara."}, now=now,
                     assessment=Assessment("Hemmet.", "no_protection_needed", child_view="Tryggt."))
        read_case(db, staff["intake"], ref, now=now + timedelta(days=1))
        write_note(db, staff["intake"], ref, NoteForm(kind="other", occurred_on=NOW.date(), text=NOTE_TEXT), now=now)
        disable_staff(db, "auditor-1", by=None, now=now)
        during.extend(issue_checkpoint(db, signer, name).note for name in LOGS)

    lines, records, counts = exported(db, signer, WritesOnce(meanwhile))
    assert len(during) == len(LOGS) and stored(db) != before  # the writes did commit while the export ran
    sizes = {name: len(before["entries"][name]) for name in LOGS}
    assert {name: log["size"] for name, log in records[0]["logs"].items()} == sizes == counts
    assert records[-1]["entries"] == counts
    for name in LOGS:
        entries = [(r["seq"], r["entry"].encode()) for r in of_type(records, "entry") if r["log"] == name]
        assert entries == before["entries"][name]
    assert [(r["log"], r["note"]) for r in of_type(records, "checkpoint")] == before["checkpoints"]
    assert [(r["case"], r["state"]) for r in of_type(records, "case")] == before["cases"]
    check(lines, signer.verifier_key, few.held, say=lambda _: None)

    lines, _, counts = exported(db, signer)  # the next export has everything, under the checkpoints of the writes
    assert counts == {name: len(e) for name, e in stored(db)["entries"].items()}
    assert all(counts[name] > sizes[name] for name in LOGS)
    summary = check(lines, signer.verifier_key, [*few.held, *during], say=lambda _: None)
    assert summary["cases"] == len(few.refs) + 1


def test_an_empty_instance_exports_and_verifies(db, signer):
    lines, records, counts = exported(db, signer)
    assert [r["type"] for r in records] == ["header", "end"]
    assert counts == {name: 0 for name in LOGS} == {name: log["size"] for name, log in records[0]["logs"].items()}
    empty = base64.b64encode(EMPTY_ROOT).decode()
    summary = check(lines, signer.verifier_key, [], say=lambda _: None)
    assert summary == {"logs": {name: {"entries": 0, "root": empty} for name in LOGS}, "checkpoints": 0, "cases": 0}

    held = [issue_checkpoint(db, signer, name).note for name in LOGS]
    lines, records, _ = exported(db, signer)
    assert [r["type"] for r in records] == ["header", *["checkpoint"] * len(LOGS), "end"]
    summary = check(lines, signer.verifier_key, held, say=lambda _: None)
    report = verify(db, signer.verifier_key, held)
    assert report.ok and summary["checkpoints"] == 2 * len(LOGS)
    assert {name: base64.b64encode(log.root).decode() for name, log in report.logs.items()} == {
        name: log["root"] for name, log in summary["logs"].items()} == {name: empty for name in LOGS}
