"""Structured assessments on both databases: the protection assessment and the pre-assessment are records of
what was assessed, the decision and, for a child on the day of the step, the child's own view or why the child
was not heard; written with the step, sealed, in the log as codes and a hash, and read with the read logged.

The child's right to be heard: socialtjänstlagen (2025:400), the provision on the child's right to be heard
(law.toml `sol_child_heard`; its number is not verified, so it is named in words).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from cases import ConcernForm, fire_trigger, register_concern
from cases.crypto.identity import generate_identity_number
from cases.hearing import read_hearing
from cases.models import AccessLogEntry, AssessmentRecord, Case, TransitionLogEntry
from policies.law import cite
from tests.conftest import NOW
from workflow import InvalidInput, LogEntry
from workflow.hearing import Assessment

ASSESSED = "Hemmiljön och skolsituationen bedömdes"
VIEW = "Barnet berättar att det känner sig tryggt"
PROTECTION_TEXT = "Ingen akut fara"


def register(db, staff, number, at=NOW):
    form = ConcernForm(concern="Oro för radikalisering.", reporter_org="school", identity_number=number)
    return register_concern(db, staff["reporter"], form, now=at).ref


def to_protection(db, staff, number, at=NOW):
    ref = register(db, staff, number, at)
    fire_trigger(db, staff["intake"], ref, "assess_protection", {}, now=at)
    return ref


def protect(db, staff, ref, assessment, at=NOW):
    return fire_trigger(db, staff["intake"], ref, "start_pre_assessment",
                        {"protection_assessment": PROTECTION_TEXT}, now=at, assessment=assessment)


def snapshot(db, ref):
    with db.read() as s:
        return (s.scalars(select(Case.state).where(Case.ref == ref)).one(),
                len(s.scalars(select(AssessmentRecord)).all()), len(s.scalars(select(TransitionLogEntry)).all()))


def test_a_childs_protection_assessment_is_refused_without_the_structured_assessment(db, staff, child_number):
    """Socialtjänstlagen (2025:400), the provisions on protection assessment and the child's right to be heard
    (sol_protection_assessment, sol_child_heard): the step records the assessment; without it nothing is written."""
    ref = to_protection(db, staff, child_number)
    before = snapshot(db, ref)
    with pytest.raises(InvalidInput) as caught:
        protect(db, staff, ref, None)
    assert caught.value.refusals[0].code == "assessment_missing"
    assert cite("sol_child_heard") in caught.value.refusals[0].text("sv")
    assert snapshot(db, ref) == before


@pytest.mark.parametrize("assessment, code", [
    (Assessment(ASSESSED, "no_protection_needed"), "child_not_heard_unexplained"),
    (Assessment(" ", "no_protection_needed", child_view=VIEW), "assessment_text_missing"),
    (Assessment(ASSESSED, None, child_view=VIEW), "assessment_decision_invalid"),
    (Assessment(ASSESSED, "open_investigation", child_view=VIEW), "assessment_decision_invalid"),
])
def test_a_childs_assessment_needs_what_was_assessed_the_decision_and_the_childs_view(
        db, staff, child_number, assessment, code):
    """Socialtjänstlagen (2025:400), the provision on the child's right to be heard (sol_child_heard): the child's
    own view, or why the child was not heard, is recorded with the assessment."""
    ref = to_protection(db, staff, child_number)
    before = snapshot(db, ref)
    with pytest.raises(InvalidInput) as caught:
        protect(db, staff, ref, assessment)
    assert code in [r.code for r in caught.value.refusals]
    assert snapshot(db, ref) == before


def test_the_protection_assessment_is_stored_sealed_with_the_step_and_logged_as_codes(db, staff, child_number):
    ref = to_protection(db, staff, child_number)
    fired = protect(db, staff, ref, Assessment(ASSESSED, "no_protection_needed", child_view=VIEW))
    with db.read() as s:
        record = s.scalars(select(AssessmentRecord)).one()
        entry = s.get(TransitionLogEntry, fired.seq)
    assert (record.kind, record.decision, record.trigger, record.seq) == (
        "protection", "no_protection_needed", "start_pre_assessment", fired.seq)
    assert ASSESSED[:12].encode() not in record.assessed and VIEW[:12].encode() not in (record.child_view or b"")
    codes = LogEntry.from_canonical(entry.entry).codes
    assert codes["assessment"] == "protection" and codes["assessment_decision"] == "no_protection_needed"
    assert codes["child_heard"] == "heard" and len(codes["assessment_hash"]) == 64
    assert ASSESSED[:12].encode() not in entry.entry and VIEW[:12].encode() not in entry.entry


def test_the_pre_assessment_takes_its_decision_from_the_step_and_a_reason_the_child_was_not_heard(
        db, staff, child_number):
    ref = to_protection(db, staff, child_number)
    protect(db, staff, ref, Assessment(ASSESSED, "protection_needed", child_view=VIEW))
    fire_trigger(db, staff["decider"], ref, "close_without_investigation",
                 {"reason": "Annan aktör ansvarar.", "outcome": "referred_elsewhere"}, now=NOW,
                 assessment=Assessment(ASSESSED, not_heard_reason="not_reached", not_heard_detail="Sjukskriven"))
    seen = read_hearing(db, staff["decider"], ref, now=NOW)
    assert [(a.kind, a.decision) for a in seen.assessments] == [
        ("protection", "protection_needed"), ("pre_assessment", "do_not_open")]
    latest = seen.assessments[-1]
    assert (latest.assessed, latest.not_heard_reason, latest.not_heard_detail) == (
        ASSESSED, "not_reached", "Sjukskriven")
    with db.read() as s:
        read = s.scalars(select(AccessLogEntry).order_by(AccessLogEntry.seq.desc())).first()
    assert read is not None and b"assessments.assessed" in read.entry and ASSESSED[:12].encode() not in read.entry


def test_a_person_who_turned_18_before_the_decision_is_not_asked_for_a_childs_view(db, staff):
    """Child or adult is decided on the day of the decision (LAW.md, rules found missing): a person who turned
    18 after the concern arrived gives no child's view, and the assessment is theirs to record or not."""
    born = NOW.date().replace(year=NOW.year - 18) + timedelta(days=2)
    ref = to_protection(db, staff, generate_identity_number(born, 311))
    later = NOW + timedelta(days=3)
    with pytest.raises(InvalidInput) as caught:
        protect(db, staff, ref, Assessment(ASSESSED, "no_protection_needed", child_view=VIEW), at=later)
    assert caught.value.refusals[0].code == "child_view_for_adult"
    assert protect(db, staff, ref, None, at=later).state == "pre_assessment"


def test_a_step_without_an_assessment_rule_takes_none(db, staff, adult_number):
    ref = register(db, staff, adult_number)
    with pytest.raises(InvalidInput) as caught:
        fire_trigger(db, staff["intake"], ref, "start_pre_assessment", {}, now=NOW,
                     assessment=Assessment(ASSESSED, "no_protection_needed"))
    assert caught.value.refusals[0].code == "assessment_not_for_step"


def test_an_adults_pre_assessment_may_be_recorded(db, staff, adult_number):
    ref = register(db, staff, adult_number)
    fire_trigger(db, staff["intake"], ref, "start_pre_assessment", {}, now=NOW)
    fire_trigger(db, staff["decider"], ref, "close_without_investigation",
                 {"reason": "Ej aktuellt.", "outcome": "not_opened"}, now=NOW, assessment=Assessment(ASSESSED))
    assert [a.decision for a in read_hearing(db, staff["decider"], ref, now=NOW).assessments] == ["do_not_open"]

