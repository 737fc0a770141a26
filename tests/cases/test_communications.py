"""Kommunicering on both databases: an adverse decision waits for the answer or the end of the time to answer,
or an exception; every record is in the tamper-evident log (codes and hashes) and every read is logged.

The rule is förvaltningslagen (2017:900) 25 § (law.toml `fl_25`); which decisions go against the person is
policy data (policies/hearing.toml).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from cases import ConcernForm, NotPermitted, fire_trigger, register_concern
from cases.errors import InvalidConcern, RecordNotFound
from cases.hearing import CommunicationForm, read_hearing, record_answer, record_communication, record_exception
from cases.models import AccessLogEntry, Case, Communication, TransitionLogEntry
from policies.law import cite
from tests.cases.route_v2 import PATHS, drive
from tests.cases.test_operations import verify_log
from tests.conftest import NOW
from workflow import GuardFailed, LogEntry

MATERIAL = "Utredningen i sin helhet med bedömningen om behov av stöd"
ANSWER = "Personen anser att stödet behövs och vill träffa socialtjänsten"
CLOSE = {"reason": "Inget behov av insats.", "outcome": "no_need"}


@pytest.fixture
def investigation(db, staff, adult_number):
    """An adult's case in investigation, reached by the operations staff use (its last step at `NOW`)."""
    fired = register_concern(db, staff["reporter"], ConcernForm(
        concern="Oro för deltagande i en våldsbejakande grupp.", reporter_org="school",
        identity_number=adult_number), now=NOW - timedelta(days=40))
    drive(db, staff, fired.ref, PATHS["investigation"][1], NOW - timedelta(days=40))
    return fired.ref


TODAY = NOW.date()


def communicate(db, staff, ref, *, sent_on=TODAY, answer_by=None):
    form = CommunicationForm(decision="close_case", recipients=("person",), method="letter", material=MATERIAL,
                             sent_on=sent_on, answer_by=answer_by)
    return record_communication(db, staff["caseworker"], ref, form, now=NOW)


def close(db, staff, ref, *, at=NOW, **payload):
    return fire_trigger(db, staff["decider"], ref, "close_case", {**CLOSE, **payload}, now=at)


def state(db, ref):
    with db.read() as s:
        return s.scalars(select(Case.state).where(Case.ref == ref)).one()


def test_an_adverse_decision_is_refused_before_the_material_is_communicated(db, staff, investigation):
    """Förvaltningslagen (2017:900) 25 § (fl_25): the party is told of the material before a decision against
    them; the refusal says what is missing and names the provision."""
    with pytest.raises(GuardFailed) as caught:
        close(db, staff, investigation)
    refusal = caught.value.refusals[0]
    assert refusal.code == "communication_missing"
    assert cite("fl_25") in refusal.text("sv") and "kommunicera" in refusal.text("sv")
    assert state(db, investigation) == "investigation"


def test_an_adverse_decision_is_refused_while_the_time_to_answer_runs(db, staff, investigation):
    """FL 25 § (fl_25): the party is given a set time to answer; the decision waits for it, and says until when."""
    recorded = communicate(db, staff, investigation, answer_by=NOW.date() + timedelta(days=14))
    assert recorded.answer_by == date(2026, 12, 10)
    with pytest.raises(GuardFailed) as caught:
        close(db, staff, investigation, at=NOW + timedelta(days=14))  # the last day to answer
    refusal = caught.value.refusals[0]
    assert refusal.code == "communication_pending"
    assert "2026-12-10" in refusal.text("en") and "2026-12-11" in refusal.text("en")
    assert state(db, investigation) == "investigation"


def test_an_adverse_decision_is_allowed_once_the_answer_came(db, staff, investigation):
    """FL 25 § (fl_25): once the party has answered, the decision may be taken at once."""
    recorded = communicate(db, staff, investigation)
    record_answer(db, staff["caseworker"], investigation, recorded.id, ANSWER, NOW.date(), now=NOW)
    assert close(db, staff, investigation).state == "closed"


def test_an_adverse_decision_is_allowed_once_the_time_to_answer_ran_out(db, staff, investigation):
    """FL 25 § (fl_25): without an answer the decision waits only until the set time has run out."""
    communicate(db, staff, investigation)  # the default time: fourteen days (policies/hearing.toml)
    assert close(db, staff, investigation, at=NOW + timedelta(days=15)).state == "closed"


def test_an_adverse_decision_is_allowed_with_a_recorded_exception(db, staff, investigation):
    """FL 25 § second paragraph (fl_25): the authority may refrain, e.g. when the decision cannot be postponed;
    the exception is recorded with its reason."""
    record_exception(db, staff["decider"], investigation, "close_case", "urgent",
                     "Beslutet kan inte vänta på grund av flytt.", now=NOW)
    assert close(db, staff, investigation).state == "closed"


def test_a_decision_that_does_not_go_against_the_person_needs_no_communication(db, staff, investigation):
    """FL 25 § (fl_25) binds only decisions against the party: closing as referred elsewhere is not one."""
    assert close(db, staff, investigation, outcome="referred_elsewhere").state == "closed"


@pytest.mark.usefixtures("flowchart_v2")
def test_a_communication_for_another_decision_does_not_count(db, staff, investigation):
    with pytest.raises(InvalidConcern):
        record_exception(db, staff["decider"], investigation, "refer_sig", "urgent", "Brådskande.", now=NOW)
    with pytest.raises(GuardFailed):
        close(db, staff, investigation)


def test_every_record_enters_the_tamper_evident_log_as_codes_and_hashes(db, staff, investigation):
    recorded = communicate(db, staff, investigation)
    record_answer(db, staff["caseworker"], investigation, recorded.id, ANSWER, NOW.date(), now=NOW)
    record_exception(db, staff["decider"], investigation, "close_case", "not_adverse", "Inte emot.", now=NOW)
    with db.read() as s:
        rows = s.scalars(select(TransitionLogEntry).where(TransitionLogEntry.trigger.like("communication%"))
                         .order_by(TransitionLogEntry.seq)).all()
        stored = s.scalars(select(Communication)).all()
    assert [r.trigger for r in rows] == ["communication_sent", "communication_answered", "communication_exception"]
    entries = [LogEntry.from_canonical(r.entry) for r in rows]
    assert entries[0].codes["decision"] == "close_case" and entries[0].codes["answer_by"] == "2026-12-10"
    assert all(e.from_state == e.to_state == "investigation" and len(e.payload_hash) == 64 for e in entries)
    for text in (MATERIAL, ANSWER, "Inte emot."):
        assert all(text[:12].encode() not in r.entry for r in rows)
        assert all(text[:12].encode() not in (c.material or b"") + (c.answer or b"") for c in stored)
    assert verify_log(db)[-1].trigger == "communication_exception"  # the hash chain holds over them


def test_reading_the_communications_is_logged(db, staff, investigation):
    recorded = communicate(db, staff, investigation)
    with db.read() as s:
        before = len(s.scalars(select(AccessLogEntry)).all())
    seen = read_hearing(db, staff["caseworker"], investigation, now=NOW)
    assert [c.material for c in seen.communications] == [MATERIAL]
    assert seen.communications[0].id == recorded.id and MATERIAL not in repr(seen.communications[0])
    with db.read() as s:
        reads = s.scalars(select(AccessLogEntry).order_by(AccessLogEntry.seq)).all()
    assert len(reads) == before + 1
    assert b"communications.material" in reads[-1].entry and MATERIAL[:12].encode() not in reads[-1].entry


def test_only_those_who_prepare_the_decision_record_a_communication(db, staff, investigation):
    for role in ("intake", "reporter", "auditor"):
        with pytest.raises(NotPermitted):
            communicate(db, {"caseworker": staff[role]}, investigation)


@pytest.mark.parametrize("change, field", [
    ({"recipients": ()}, "recipients"), ({"recipients": ("neighbour",)}, "recipients"),
    ({"method": "pigeon"}, "method"), ({"material": "  "}, "material"),
    ({"answer_by": NOW.date()}, "answer_by"), ({"sent_on": NOW.date() + timedelta(days=1)}, "sent_on"),
])
def test_a_communication_needs_who_how_what_and_a_time_to_answer(db, staff, investigation, change, field):
    form = CommunicationForm(**{"decision": "close_case", "recipients": ("person",), "method": "letter",
                                "material": MATERIAL, "sent_on": NOW.date(), **change})
    with pytest.raises(InvalidConcern) as caught:
        record_communication(db, staff["caseworker"], investigation, form, now=NOW)
    assert caught.value.field == field


def test_an_answer_is_recorded_once_and_only_to_a_communication_of_the_case(db, staff, investigation):
    recorded = communicate(db, staff, investigation)
    with pytest.raises(RecordNotFound):
        record_answer(db, staff["caseworker"], investigation, "no-such-id", ANSWER, NOW.date(), now=NOW)
    record_answer(db, staff["caseworker"], investigation, recorded.id, ANSWER, NOW.date(), now=NOW)
    with pytest.raises(InvalidConcern):
        record_answer(db, staff["caseworker"], investigation, recorded.id, ANSWER, NOW.date(), now=NOW)


def test_a_communication_is_no_stay_on_the_cases_path(db, staff, investigation):
    from cases.casework.outline import case_outline

    before = [s.state for s in case_outline(db, staff["decider"], investigation, now=NOW).stays]
    communicate(db, staff, investigation)
    assert [s.state for s in case_outline(db, staff["decider"], investigation, now=NOW).stays] == before


@pytest.mark.usefixtures("flowchart_v2")
def test_a_reopened_investigation_is_communicated_anew(db, staff, investigation):
    """FL 25 § (fl_25): a reopened investigation has new material. What was communicated or excepted before the
    case left the investigation does not count for the decision that ends the next one."""
    first, whole = PATHS["investigation"][1], PATHS["follow_up"][1]
    assert whole[:len(first)] == first
    record_exception(db, staff["decider"], investigation, "close_case", "urgent",
                     "Beslutet kan inte vänta på grund av flytt.", now=NOW - timedelta(days=35))
    last = drive(db, staff, investigation, whole[len(first):], NOW - timedelta(days=34))
    fire_trigger(db, staff["decider"], investigation, "reopen", {"reason": "Ny oro."}, now=last + timedelta(days=1))
    with pytest.raises(GuardFailed) as caught:
        close(db, staff, investigation, at=last + timedelta(days=2))
    assert caught.value.refusals[0].code == "communication_missing"
    record_exception(db, staff["decider"], investigation, "close_case", "urgent",
                     "Beslutet kan inte vänta på grund av flytt.", now=last + timedelta(days=2))
    assert close(db, staff, investigation, at=last + timedelta(days=3)).state == "closed"
