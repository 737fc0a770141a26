"""Reading a case on both databases: the permission table, the access log each read leaves, emergency access
and its review, and what an erased case still shows (DESIGN.md §1, §5)."""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

from cases import ConcernForm, InvalidConcern, NotPermitted, add_staff, register_concern
from cases.audit import log as case_log
from cases.casework.access import AccessDenied, assign_case, emergency_accesses, mark_reviewed, read_case
from cases.crypto.identity import generate_identity_number
from cases.errors import RecordNotFound
from cases.models import AccessLogEntry, Case, EmergencyAccess, Staff
from tests.cases.route_v2 import PATHS, drive
from tests.conftest import NOW, ROLES
from workflow import GENESIS, Actor, chain_hash

CONCERN = "Eleven har visat en film med våldsbejakande budskap för klasskamraterna och verkar isolerad."
GIVEN, FAMILY = "Ingeborg", "Vallgren-Åkesson"
EMERGENCY = "Hotfull situation i väntrummet; behöver se tidigare kontakter nu."
FIELDS = sorted(["persons.identity_number", "persons.given_name", "persons.family_name", "persons.birth_date",
                 "cases.concern", "consents.evidence", "consents.withdrawal_reason", "case_events.payload"])
INTAKE_STATES = ("registered", "protection_assessment", "pre_assessment")
OTHER_STATES = ("investigation", "sig", "closed")
NEVER = ("reporter", "coordinator", "partner", "auditor", "admin", "system")


@pytest.fixture
def staff(staff, db):
    """One account per role, and the caseworker who takes the cases on: assigned to every case that needed a
    caseworker on its way, so that `staff["caseworker"]` holds only the assignments a test makes."""
    return {**staff, "driver": add_staff(db, "caseworker-driver", "Caseworker on the way", "caseworker")}


def open_case(db, staff, numbers, state="registered", *, start=NOW, number=None):
    """A case in `state`, reached through the real operations (its caseworker steps by `staff["driver"]`, whom
    they assign); returns (ref, number, a moment after it)."""
    child, steps = PATHS[state]
    number = number or numbers["child" if child else "adult"]
    form = ConcernForm(concern=CONCERN, reporter_org="school", identity_number=number, given_name=GIVEN,
                       family_name=FAMILY)
    ref = register_concern(db, staff["reporter"], form, now=start).ref
    last = drive(db, {**staff, "caseworker": staff["driver"]}, ref, steps, start)
    return ref, number, last + timedelta(hours=1)


@pytest.fixture
def numbers(child_number, adult_number):
    return {"child": child_number, "adult": adult_number}


def access_rows(db) -> list[AccessLogEntry]:
    with db.read() as s:
        return list(s.scalars(select(AccessLogEntry).order_by(AccessLogEntry.seq)))


def emergency_count(db) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(EmergencyAccess))


def verify_chain(rows) -> bool:
    previous = GENESIS
    for number, row in enumerate(rows, start=1):
        previous = chain_hash(previous, row.entry)
        if row.seq != number or row.chain_hash != previous:
            return False
    return True


# --- the permission table ----------------------------------------------------------------------------------

DENIED, DENIED_BUT_EMERGENCY = "denied", "denied; emergency access possible"
TABLE = [
    *(("intake", state, None, "role") for state in INTAKE_STATES),
    *(("intake", state, None, DENIED_BUT_EMERGENCY) for state in OTHER_STATES),
    ("intake", "registered", EMERGENCY, "role"),  # a ground of one's own needs no emergency
    ("intake", "investigation", EMERGENCY, "emergency"),
    ("intake", "closed", EMERGENCY, "emergency"),
    ("intake", "investigation", "  \n ", DENIED_BUT_EMERGENCY),
    ("caseworker", "registered", None, DENIED_BUT_EMERGENCY),
    ("caseworker", "investigation", None, DENIED_BUT_EMERGENCY),
    ("caseworker", "investigation+assigned", None, "assignment"),
    ("caseworker", "registered+assigned", None, "assignment"),
    ("caseworker", "closed+assigned", None, "assignment"),
    ("caseworker", "investigation+assigned to a colleague", None, DENIED_BUT_EMERGENCY),
    ("caseworker", "investigation+assigned", EMERGENCY, "assignment"),
    ("caseworker", "investigation", EMERGENCY, "emergency"),
    ("caseworker", "investigation+assigned to a colleague", EMERGENCY, "emergency"),
    ("caseworker", "investigation", "", DENIED_BUT_EMERGENCY),
    *(("decider", state, None, "role") for state in (*INTAKE_STATES, *OTHER_STATES)),
    ("decider", "investigation", EMERGENCY, "role"),
    *((role, state, reason, DENIED) for role in NEVER
      for state, reason in (("registered", None), ("investigation", None), ("investigation", EMERGENCY))),
]


def _id(role, setup, reason, _):
    said = "no reason" if reason is None else "reason" if reason.strip() else "blank reason"
    return f"{role}-{setup}-{said}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.usefixtures("flowchart_v2")
def test_read_permission_table(db, staff, numbers, role):
    """Every row of TABLE for `role`, each on a case of its own set-up; all failing rows are reported."""
    rows = [row for row in TABLE if row[0] == role]
    colleague = add_staff(db, "caseworker-2", "Colleague", "caseworker")
    cases = {}
    for _, setup, _, _ in rows:
        if setup not in cases:
            state, _, assigned = setup.partition("+")
            ref, number, later = open_case(db, staff, numbers, state)
            if assigned:
                assignee = staff["caseworker"] if assigned == "assigned" else colleague
                assign_case(db, staff["decider"], ref, assignee.id, now=later)  # intake: only cases in intake
            cases[setup] = (state, ref, number, later)
    failures = []
    for row in rows:
        try:
            _check_read(db, staff[role], *cases[row[1]], reason=row[2], expected=row[3])
        except (Exception, pytest.fail.Exception) as exc:
            failures.append(f"{_id(*row)}: {type(exc).__name__}: {exc}")
    assert not failures, "\n\n".join(failures)


def _check_read(db, actor, state, ref, number, later, *, reason, expected):
    before, emergencies = access_rows(db), emergency_count(db)
    if expected.startswith(DENIED):
        with pytest.raises(AccessDenied) as caught:
            read_case(db, actor, ref, emergency_reason=reason, now=later)
        assert caught.value.emergency_possible == (expected == DENIED_BUT_EMERGENCY)
        assert ([r.seq for r in access_rows(db)], emergency_count(db)) == ([r.seq for r in before], emergencies), \
            "a denied read wrote something"
        return

    record = read_case(db, actor, ref, emergency_reason=reason, now=later)
    assert (record.ref, record.state, record.ground, record.erased) == (ref, state, expected, False)
    assert (record.person["given_name"], record.person["family_name"], record.concern) == (GIVEN, FAMILY, CONCERN)
    assert record.person["identity_number"] == number
    rows = access_rows(db)
    assert [r.seq for r in rows[:len(before)]] == [r.seq for r in before]
    (entry,) = rows[len(before):]
    body = json.loads(entry.entry)
    assert (entry.actor_id, entry.action, entry.ground, entry.case_ref, entry.at) == (
        actor.id, "read", expected, ref, later)
    assert (body["actor"], body["role"], body["ground"], body["case"], body["action"]) == (
        actor.id, actor.role, expected, ref, "read")
    assert body["fields"] == FIELDS
    assert emergency_count(db) == emergencies + (expected == "emergency")
    if expected == "emergency":
        assert len(body["reason"]) == 64  # a salted hash of the reason, never the reason
    else:  # a reason given for a read on a ground of one's own is neither needed nor committed to
        assert body["reason"] == "", "a reason hash was logged for a read that was no emergency"
    assert verify_chain(rows)


def test_every_role_is_in_the_table():
    assert {role for role, *_ in TABLE} == set(ROLES)


# --- the access log ----------------------------------------------------------------------------------------


def _reads(db, staff, numbers):
    """A case read on every ground: role, assignment, and emergency by intake and by a caseworker."""
    ref, number, later = open_case(db, staff, numbers, "investigation")
    colleague = add_staff(db, "caseworker-2", "Colleague", "caseworker")
    assign_case(db, staff["decider"], ref, colleague.id, now=later)
    read_case(db, staff["decider"], ref, now=later)
    read_case(db, colleague, ref, now=later)
    read_case(db, staff["intake"], ref, emergency_reason=EMERGENCY, now=later)
    read_case(db, staff["caseworker"], ref, emergency_reason=EMERGENCY, now=later + timedelta(minutes=5))
    return ref, number, later


def test_access_log_holds_no_personal_data(db, staff, numbers):
    _, number, _ = _reads(db, staff, numbers)
    rows = access_rows(db)
    assert [r.ground for r in rows] == ["role", "assignment", "emergency", "emergency"]
    secrets_ = [GIVEN, FAMILY, number, number[2:], f"{number[2:8]}-{number[8:]}", f"{number[:8]}-{number[8:]}",
                CONCERN, CONCERN[:25], EMERGENCY, EMERGENCY[:25], "2007-03-02", "20070302"]
    for row in rows:
        stored = b"|".join([row.entry, row.case_ref.encode(), row.actor_id.encode(), row.action.encode(),
                            row.ground.encode()])
        for secret in secrets_:
            for form in {secret, secret.lower()}:
                assert form.encode() not in stored, f"access log entry {row.seq} holds personal data"
                assert json.dumps(form)[1:-1].encode() not in stored  # nor escaped as JSON


def test_the_emergency_reason_is_sealed_with_the_case_and_committed_to_by_a_salted_hash(db, staff, numbers):
    ref, _, _ = _reads(db, staff, numbers)
    with db.read() as s:
        case_id = s.scalars(select(Case.id).where(Case.ref == ref)).one()
        accesses = {a.seq: a for a in s.scalars(select(EmergencyAccess))}
    rows = {r.seq: r for r in access_rows(db)}
    assert sorted(accesses) == [r.seq for r in rows.values() if r.ground == "emergency"]
    key = db.vault.case_key(case_id)
    for seq, access in accesses.items():
        assert EMERGENCY.encode() not in access.reason
        assert key.open("emergency_accesses", str(seq), "reason", access.reason) == EMERGENCY
        logged = json.loads(rows[seq].entry)["reason"]
        assert logged == hashlib.sha256(access.reason_salt + EMERGENCY.encode()).hexdigest()
    salts = [a.reason_salt for a in accesses.values()]
    assert len(set(salts)) == len(salts)  # the same reason twice is not linkable by its hash


def test_access_log_hash_chain_verifies_and_detects_a_change(db, staff, numbers):
    _reads(db, staff, numbers)
    rows = access_rows(db)
    assert len(rows) == 4 and verify_chain(rows)
    assert rows[0].chain_hash == chain_hash(GENESIS, rows[0].entry)
    altered = [*rows[:1], type(rows[1])(seq=rows[1].seq, entry=rows[1].entry.replace(b'"read"', b'"open"'),
                                        chain_hash=rows[1].chain_hash), *rows[2:]]
    assert not verify_chain(altered)


APPEND_ONLY = [
    "UPDATE access_log SET ground = 'role' WHERE seq = 1",
    "UPDATE access_log SET entry = entry",
    "DELETE FROM access_log WHERE seq = 2",
    "DELETE FROM access_log",
]


def test_access_log_is_append_only_in_the_database(db, staff, numbers):
    _reads(db, staff, numbers)
    before = [(r.seq, r.ground, r.entry, r.chain_hash) for r in access_rows(db)]
    for statement in APPEND_ONLY:
        with pytest.raises(DBAPIError) as caught, db.write() as s:
            s.execute(text(statement))
        assert "append-only" in str(caught.value), statement
        assert [(r.seq, r.ground, r.entry, r.chain_hash) for r in access_rows(db)] == before, statement


def test_a_read_and_its_log_entry_commit_together(db, staff, numbers, monkeypatch):
    ref, _, later = open_case(db, staff, numbers, "registered")

    def broken(session, entry):
        raise RuntimeError("disk full")

    monkeypatch.setattr(case_log, "append", broken)
    with pytest.raises(RuntimeError):
        read_case(db, staff["intake"], ref, now=later)
    monkeypatch.undo()
    assert access_rows(db) == []


# --- accounts ----------------------------------------------------------------------------------------------


def test_a_disabled_or_mismatched_account_cannot_read(db, staff, numbers):
    ref, _, later = open_case(db, staff, numbers, "investigation")
    assign_case(db, staff["decider"], ref, staff["caseworker"].id, now=later)
    attempts = [
        Actor(staff["caseworker"].id, "decider"),  # claims a role the account does not hold
        Actor(staff["reporter"].id, "intake"),
        Actor("no-such-account", "decider"),
    ]
    for actor in attempts:
        with pytest.raises(NotPermitted):
            read_case(db, actor, ref, emergency_reason=EMERGENCY, now=later)
    with db.write() as s:
        s.execute(update(Staff).where(Staff.id.in_([staff["caseworker"].id, staff["decider"].id]))
                  .values(active=False))
    for actor in (staff["caseworker"], staff["decider"]):
        with pytest.raises(NotPermitted):
            read_case(db, actor, ref, emergency_reason=EMERGENCY, now=later)
    assert access_rows(db) == [] and emergency_count(db) == 0


def test_assigning_a_case(db, staff, numbers):
    ref, _, later = open_case(db, staff, numbers, "investigation")
    for role in ("reporter", "caseworker", "partner", "auditor", "admin", "coordinator", "system"):
        with pytest.raises(NotPermitted):
            assign_case(db, staff[role], ref, staff["caseworker"].id, now=later)
    for target in (staff["intake"].id, staff["decider"].id, "no-such-account"):
        with pytest.raises(InvalidConcern):
            assign_case(db, staff["decider"], ref, target, now=later)
    with pytest.raises(AccessDenied):
        read_case(db, staff["caseworker"], ref, now=later)
    assign_case(db, staff["decider"], ref, staff["caseworker"].id, now=later)
    assert read_case(db, staff["caseworker"], ref, now=later).ground == "assignment"


# --- emergency access and its review -----------------------------------------------------------------------


def test_emergency_accesses_are_listed_for_review_until_reviewed_by_someone_else(db, staff, numbers):
    ref, _, later = open_case(db, staff, numbers, "investigation")
    read_case(db, staff["decider"], ref, now=later)  # a read on a ground is no emergency
    by_intake = read_case(db, staff["intake"], ref, emergency_reason=EMERGENCY, now=later)
    by_caseworker = read_case(db, staff["caseworker"], ref, emergency_reason=EMERGENCY, now=later)
    assert by_intake.ground == by_caseworker.ground == "emergency"
    seqs = [r.seq for r in access_rows(db) if r.ground == "emergency"]
    assert len(seqs) == 2

    for reviewer in ("auditor", "decider"):
        pending = emergency_accesses(db, staff[reviewer])
        assert [(p.seq, p.case_ref, p.actor_id, p.at, p.reviewed) for p in pending] == [
            (seqs[0], ref, staff["intake"].id, later, False), (seqs[1], ref, staff["caseworker"].id, later, False)]
    for role in ROLES:
        if role not in ("auditor", "decider"):
            with pytest.raises(NotPermitted):
                emergency_accesses(db, staff[role])
            with pytest.raises(NotPermitted):
                mark_reviewed(db, staff[role], seqs[0], verdict="justified", now=later)

    mark_reviewed(db, staff["auditor"], seqs[0], verdict="justified", now=later + timedelta(days=1))
    assert [p.seq for p in emergency_accesses(db, staff["decider"])] == [seqs[1]]
    everything = emergency_accesses(db, staff["auditor"], pending_only=False)
    assert [(p.seq, p.reviewed) for p in everything] == [(seqs[0], True), (seqs[1], False)]
    with db.read() as s:
        reviewed = s.get(EmergencyAccess, seqs[0])
        assert (reviewed.reviewed_by, reviewed.reviewed_at) == (staff["auditor"].id, later + timedelta(days=1))

    # the caseworker who opened the case is later made an auditor: still not the one to review it
    with db.write() as s:
        s.execute(update(Staff).where(Staff.id == staff["caseworker"].id).values(role="auditor"))
    with pytest.raises(NotPermitted):
        mark_reviewed(db, Actor(staff["caseworker"].id, "auditor"), seqs[1], verdict="justified", now=later)
    assert [p.seq for p in emergency_accesses(db, staff["auditor"])] == [seqs[1]]
    mark_reviewed(db, staff["decider"], seqs[1], verdict="justified", now=later)
    assert emergency_accesses(db, staff["auditor"]) == []
    with pytest.raises(RecordNotFound) as missing:  # no such access: a 404, not a case that is not there
        mark_reviewed(db, staff["auditor"], 999, verdict="justified", now=later)
    assert missing.value.kind == "emergency access"
    assert verify_chain(access_rows(db))


def test_an_emergency_access_is_reviewed_once(db, staff, numbers):
    """A second review of the same access is refused; the first reviewer and moment stay on record."""
    ref, _, later = open_case(db, staff, numbers, "investigation")
    read_case(db, staff["caseworker"], ref, emergency_reason=EMERGENCY, now=later)
    (seq,) = [r.seq for r in access_rows(db) if r.ground == "emergency"]
    reviewed_at = later + timedelta(days=1)
    mark_reviewed(db, staff["auditor"], seq, verdict="justified", now=reviewed_at)
    second_decider = add_staff(db, "decider-2", "Second decider", "decider")
    for reviewer in (staff["decider"], staff["auditor"], second_decider):
        with pytest.raises(InvalidConcern) as caught:
            mark_reviewed(db, reviewer, seq, verdict="justified", now=reviewed_at + timedelta(days=1))
        assert caught.value.field == "seq", reviewer.role
    with db.read() as s:
        access = s.get(EmergencyAccess, seq)
        assert (access.reviewed_by, access.reviewed_at) == (staff["auditor"].id, reviewed_at)
    assert [(p.seq, p.reviewed) for p in emergency_accesses(db, staff["decider"], pending_only=False)] == [
        (seq, True)]
    assert emergency_accesses(db, staff["decider"]) == []


# --- erased cases ------------------------------------------------------------------------------------------


def test_reading_an_erased_case_shows_nothing_personal_and_logs_nothing(db, staff, numbers):
    ref, _, later = open_case(db, staff, numbers, "erased", start=NOW - timedelta(days=2000),
                              number=generate_identity_number(date(1985, 6, 1), 77))
    for role, reason in (("decider", None), ("intake", EMERGENCY), ("caseworker", EMERGENCY)):
        record = read_case(db, staff[role], ref, emergency_reason=reason, now=later)
        assert (record.ref, record.state, record.erased) == (ref, "erased", True), role
        assert (record.person, record.concern, record.consents, record.journal) == ({}, None, (), ()), role
        assert GIVEN not in repr(record)
        assert access_rows(db) == [] and emergency_count(db) == 0, f"reading an erased case as {role} was logged"
    with pytest.raises(AccessDenied):
        read_case(db, staff["reporter"], ref, emergency_reason=EMERGENCY, now=later)
