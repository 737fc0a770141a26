"""Support to a relative is the relative's own matter, opened from the subject's case (issue 18 item 2).

On both databases: telling a relative leaves a coded entry beside the subject's steps and nothing else of the
relative there; a relative who wants support gets a case of their own on `relative_support.toml`, with their own
person, key, consent, journal and decisions; the subject's investigation goes on; each case shows the link to the
other only to a reader with a ground on both.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from cases import ConcernForm, ConsentForm, add_staff, fire_trigger, record_consent, register_concern
from cases.audit.signing import LogSigner
from cases.audit.verify import verify
from cases.casework.access import assign_case
from cases.crypto.identity import generate_identity_number
from cases.errors import AccessDenied, InvalidConcern, NotPermitted
from cases.flowcharts import RELATIVE, VID_ORO, current_engine
from cases.journal import NoteForm, write_note
from cases.links import linked_cases
from cases.models import Assignment, Case, CaseEvent, CaseLink, Decision, Person, TransitionLogEntry
from cases.relatives import RelativeForm, inform_relative
from cases.reports.demo import PATHS, drive
from policies.relatives import RELATIVE_INFORMED
from tests.conftest import NOW
from workflow import ConsentMissing, TransitionRefused

PARENT_NUMBER = generate_identity_number(date(1978, 4, 9), 262)
GIVEN, FAMILY = "Anhörigtest", "Förälderssson"


def _investigation(db, staff) -> tuple[str, object]:
    """An adult's case under investigation, its caseworker assigned; the moment after the last step."""
    form = ConcernForm(concern="Personen har börjat dela våldsbejakande material i skolan.", reporter_org="school",
                       birth_date=date(1999, 6, 1), given_name="Subjekt", family_name="Testsson")
    ref = register_concern(db, staff["reporter"], form, now=NOW).ref
    last = drive(db, staff, ref, list(PATHS["investigation"][1]), NOW)
    return ref, last + timedelta(hours=1)


def _wants(**person) -> RelativeForm:
    fields = {"identity_number": PARENT_NUMBER, "given_name": GIVEN, "family_name": FAMILY} | person
    return RelativeForm(wants_support=True, relationship="parent", **fields)


def _state(db, ref) -> tuple[str, int, str]:
    with db.read() as session:
        case = session.scalars(select(Case).where(Case.ref == ref)).one()
        return case.state, case.version, case.flowchart_version


def _consent(db, actor, ref, at, **changes) -> None:
    form = ConsentForm(given_by="subject", purposes=("family_support",),
                       recipients=("family_support_service",), data_categories=("identity", "contact"),
                       method="written", evidence="Underskrivet samtycke.", valid_from=at.date())
    record_consent(db, actor, ref, form if not changes else ConsentForm(**{**form.__dict__, **changes}), now=at)


def test_telling_a_relative_who_wants_no_support_leaves_a_coded_entry_and_no_matter(db, staff):
    ref, at = _investigation(db, staff)
    state, version, _ = _state(db, ref)
    done = inform_relative(db, staff["caseworker"], ref, RelativeForm(wants_support=False),
                           expected_version=version, now=at)
    assert done.relative_ref is None and (done.state, done.version) == (state, version + 1)
    with db.read() as session:
        entry = session.scalars(select(TransitionLogEntry).where(TransitionLogEntry.seq == done.seq)).one()
        assert session.scalars(select(CaseLink)).all() == []
        assert len(session.scalars(select(Case)).all()) == 1
    body = json.loads(entry.entry)
    assert (entry.trigger, entry.from_state, entry.to_state) == (RELATIVE_INFORMED, state, state)
    assert body["codes"] == {"relative_informed": True, "wants_support": False}


def test_a_relative_who_wants_support_gets_a_matter_of_their_own_on_its_own_flowchart(db, staff):
    ref, at = _investigation(db, staff)
    before = _state(db, ref)
    done = inform_relative(db, staff["caseworker"], ref, _wants(), now=at)
    assert done.relative_ref and done.relative_ref != ref
    state, _, version = _state(db, done.relative_ref)
    assert state == "opened" and version == current_engine(RELATIVE).version != current_engine(VID_ORO).version
    assert _state(db, ref)[::2] == before[::2] == ("investigation", before[2])  # the investigation goes on
    with db.read() as session:
        entry = session.scalars(select(TransitionLogEntry).where(TransitionLogEntry.seq == done.seq)).one()
        relative = session.scalars(select(Case).where(Case.ref == done.relative_ref)).one()
        subject = session.scalars(select(Case).where(Case.ref == ref)).one()
        assert relative.person_id != subject.person_id
        person = session.get(Person, relative.person_id)
        (link,) = session.scalars(select(CaseLink)).all()
        assert (link.case_id, link.earlier_case_id, link.kind) == (relative.id, subject.id, "relative")
        (assigned,) = session.scalars(select(Assignment).where(Assignment.case_id == relative.id)).all()
        assert assigned.staff_id == staff["caseworker"].id and assigned.ended_at is None
        registered = session.scalars(select(TransitionLogEntry).where(
            TransitionLogEntry.case_ref == done.relative_ref)).one()
        events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == subject.id)).all()
    # the relative's person is sealed under the matter's own key: the subject's key does not open it
    own = db.vault.case_key(relative.id)
    assert own.open("persons", person.id, "given_name", person.given_name) == GIVEN
    with pytest.raises(Exception):  # noqa: B017 - any failure to open is the point: another case's key
        db.vault.case_key(subject.id).open("persons", person.id, "given_name", person.given_name)
    # nothing personal of the relative in either log entry, nor in the subject's sealed forms' codes
    assert json.loads(entry.entry)["codes"] == {"relative_informed": True, "wants_support": True}
    for text in (entry.entry.decode(), registered.entry.decode()):
        assert GIVEN not in text and FAMILY not in text and PARENT_NUMBER[-4:] not in text
        assert "1978" not in text
    assert json.loads(registered.entry)["codes"]["relationship"] == "parent"
    assert events  # the subject's entry keeps its (sealed) form like every entry


def test_the_relatives_own_consent_gates_grant_support_and_their_decision_is_their_own(db, staff, tmp_path):
    ref, at = _investigation(db, staff)
    rel = inform_relative(db, staff["caseworker"], ref, _wants(), now=at).relative_ref
    with pytest.raises(ConsentMissing):
        fire_trigger(db, staff["decider"], rel, "grant_support", {"reason": "Behov av stöd."}, now=at)
    # the subject's consent (on the subject's case) does not count: consent is the relative's own
    _consent(db, staff["caseworker"], ref, at)
    with pytest.raises(ConsentMissing):
        fire_trigger(db, staff["decider"], rel, "grant_support", {"reason": "Behov av stöd."}, now=at)
    _consent(db, staff["caseworker"], rel, at)
    with pytest.raises(TransitionRefused):  # the caseworker holds no delegation to grant it
        fire_trigger(db, staff["caseworker"], rel, "grant_support", {"reason": "Behov av stöd."}, now=at)
    fired = fire_trigger(db, staff["decider"], rel, "grant_support", {"reason": "Behov av stöd."}, now=at)
    assert fired.state == "support"
    write_note(db, staff["caseworker"], rel, NoteForm(kind="meeting", occurred_on=at.date(),
                                                      text="Samtal med den anhörige."), now=at)
    with db.read() as session:
        (decision,) = session.scalars(select(Decision).where(Decision.trigger == "grant_support")).all()
        relative = session.scalars(select(Case).where(Case.ref == rel)).one()
        assert decision.case_id == relative.id and decision.kind == "grant_relative_support"
        assert decision.provision == "sol_11_1" and decision.delegation == "relative_support"
    assert _state(db, ref)[0] == "investigation"
    assert verify(db, LogSigner.create(tmp_path / "signing").verifier_key).ok


def test_withdrawing_the_relatives_consent_ends_the_support_at_once(db, staff):
    from cases import withdraw_consent
    from cases.models import Consent

    ref, at = _investigation(db, staff)
    rel = inform_relative(db, staff["caseworker"], ref, _wants(), now=at).relative_ref
    _consent(db, staff["caseworker"], rel, at)
    fire_trigger(db, staff["decider"], rel, "grant_support", {"reason": "Behov av stöd."}, now=at)
    with db.read() as session:
        relative = session.scalars(select(Case).where(Case.ref == rel)).one()
        consent_id = session.scalars(select(Consent.id).where(Consent.case_id == relative.id)).one()
    done = withdraw_consent(db, staff["caseworker"], rel, consent_id, "Vill inte längre.", now=at + timedelta(days=3))
    assert done.state == "closed"
    assert _state(db, ref)[0] == "investigation"


def test_links_are_shown_only_to_a_reader_with_a_ground_on_both(db, staff):
    ref, at = _investigation(db, staff)
    other = add_staff(db, "caseworker-2", "Test caseworker 2", "caseworker")
    rel = inform_relative(db, staff["caseworker"], ref, _wants(caseworker_id=other.id), now=at).relative_ref
    # the subject's caseworker is not assigned to the relative's matter: no link, and no ground on the matter
    assert linked_cases(db, staff["caseworker"], ref, now=at) == ()
    with pytest.raises(AccessDenied):
        linked_cases(db, staff["caseworker"], rel, now=at)
    # the relative's caseworker is not assigned to the subject's case: sees the matter, no link to the subject
    assert linked_cases(db, other, rel, now=at) == ()
    with pytest.raises(AccessDenied):
        linked_cases(db, other, ref, now=at)
    # the decision maker has a ground on both: the link, each way, with its kind
    (there,) = linked_cases(db, staff["decider"], ref, now=at)
    assert (there.ref, there.relation, there.state) == (rel, "relative_matter", "opened")
    (back,) = linked_cases(db, staff["decider"], rel, now=at)
    assert (back.ref, back.relation, back.state) == (ref, "subject_case", "investigation")
    # once the subject's caseworker is assigned to the matter too, they see it
    assign_case(db, staff["decider"], rel, staff["caseworker"].id, now=at)
    assert [link.ref for link in linked_cases(db, staff["caseworker"], ref, now=at)] == [rel]


def test_intake_never_has_a_ground_on_a_relatives_matter(db, staff):
    ref, at = _investigation(db, staff)
    rel = inform_relative(db, staff["caseworker"], ref, _wants(), now=at).relative_ref
    with pytest.raises(AccessDenied):
        linked_cases(db, staff["intake"], rel, now=at)


@pytest.mark.parametrize("role", ["reporter", "intake", "coordinator", "partner", "auditor", "admin"])
def test_only_the_subjects_social_workers_tell_a_relative(db, staff, role):
    ref, at = _investigation(db, staff)
    with pytest.raises((NotPermitted, AccessDenied)):
        inform_relative(db, staff[role], ref, _wants(), now=at)


def test_a_caseworker_without_a_ground_on_the_subjects_case_cannot_open_a_matter_from_it(db, staff):
    ref, at = _investigation(db, staff)
    other = add_staff(db, "caseworker-2", "Test caseworker 2", "caseworker")
    with pytest.raises(AccessDenied):
        inform_relative(db, other, ref, _wants(), now=at)


@pytest.mark.parametrize(("person", "field"), [
    ({"identity_number": None}, "identity_number"),
    ({"identity_number": None, "birth_date": date(2030, 1, 1)}, "birth_date"),
    ({"relationship": "neighbour"}, "relationship"),
])
def test_a_relative_must_be_identified_as_registration_needs(db, staff, person, field):
    ref, at = _investigation(db, staff)
    form = _wants(**{k: v for k, v in person.items() if k != "relationship"})
    if "relationship" in person:
        form = RelativeForm(**{**form.__dict__, "relationship": person["relationship"]})
    with pytest.raises(InvalidConcern) as refused:
        inform_relative(db, staff["caseworker"], ref, form, now=at)
    assert refused.value.field == field
    with db.read() as session:  # refused as a whole: not even the entry on the subject's case
        assert session.scalars(select(TransitionLogEntry).where(
            TransitionLogEntry.trigger == RELATIVE_INFORMED)).all() == []


def test_a_name_and_a_birth_date_are_enough(db, staff):
    ref, at = _investigation(db, staff)
    rel = inform_relative(db, staff["caseworker"], ref, _wants(identity_number=None, birth_date=date(1980, 1, 2)),
                          now=at).relative_ref
    assert _state(db, rel)[0] == "opened"


def test_a_decider_names_the_caseworker_of_the_matter(db, staff):
    ref, at = _investigation(db, staff)
    with pytest.raises(InvalidConcern):
        inform_relative(db, staff["decider"], ref, _wants(), now=at)
    rel = inform_relative(db, staff["decider"], ref, _wants(caseworker_id=staff["caseworker"].id), now=at)
    assert rel.relative_ref is not None


def test_a_relatives_matter_opens_no_matter_of_its_own(db, staff):
    ref, at = _investigation(db, staff)
    rel = inform_relative(db, staff["caseworker"], ref, _wants(), now=at).relative_ref
    with pytest.raises(InvalidConcern) as refused:
        inform_relative(db, staff["caseworker"], rel, _wants(identity_number=None, birth_date=date(1950, 1, 1)),
                        now=at)
    assert refused.value.field == "case"


def test_the_local_picture_counts_concerns_not_relatives_matters(db, staff):
    from cases.reports.statistics import local_picture

    ref, at = _investigation(db, staff)
    inform_relative(db, staff["caseworker"], ref, _wants(), now=at)
    picture = local_picture(db, staff["coordinator"], today=at.date())
    keys = {cell.key for cell in picture.by_state}
    assert "investigation" in keys and not keys & {"opened", "support"}  # a relative's matter is no concern


def _approximately(age=45, **person) -> RelativeForm:
    return _wants(identity_number=None, approximate_age=age, **person)


def test_a_name_and_an_approximate_age_open_a_matter_and_the_identity_is_completed_later(db, staff):
    from cases.casework.access import read_case
    from cases.casework.forms import estimated_birth_date
    from cases.sources import complete_identity

    # the parent is also the person of a concern of their own, registered with their number
    own = register_concern(db, staff["intake"], ConcernForm(
        concern="Oro för en förälder.", reporter_org="social_services", identity_number=PARENT_NUMBER), now=NOW).ref
    ref, at = _investigation(db, staff)
    rel = inform_relative(db, staff["caseworker"], ref, _approximately(), now=at).relative_ref
    record = read_case(db, staff["caseworker"], rel, now=at)
    assert record.age_approximate and record.person["identity_number"] is None
    assert record.person["birth_date"] == estimated_birth_date(45, at.date()).isoformat()
    assert _state(db, rel)[0] == "opened" and _state(db, ref)[0] == "investigation"
    # the relative's caseworker completes the identity on the relative's own matter
    later = at + timedelta(days=2)
    done = complete_identity(db, staff["caseworker"], rel, PARENT_NUMBER, expected_version=record.version, now=later)
    assert done.state == "opened" and done.version == record.version + 1 and done.linked == (own,)
    record = read_case(db, staff["caseworker"], rel, now=later)
    assert not record.age_approximate and record.person["birth_date"] == "1978-04-09"
    assert record.person["identity_number"] == PARENT_NUMBER.replace("-", "")
    with db.read() as session:
        person = session.scalars(select(Person).join(Case, Case.person_id == Person.id)
                                 .where(Case.ref == rel)).one()
        assert person.identity_index == db.vault.blind_index(PARENT_NUMBER.replace("-", ""))
        entry = session.scalars(select(TransitionLogEntry).where(TransitionLogEntry.seq == done.seq)).one()
    assert PARENT_NUMBER[-4:] not in entry.entry.decode() and "1978" not in entry.entry.decode()
    # the subject's case is untouched, and a later concern about the parent finds the relative's matter too
    assert _state(db, ref)[0] == "investigation"
    again = register_concern(db, staff["intake"], ConcernForm(
        concern="Ny oro.", reporter_org="social_services", identity_number=PARENT_NUMBER), now=later)
    assert set(again.existing) == {own, rel}


@pytest.mark.parametrize(("change", "field"), [
    ({"birth_date": date(1980, 1, 2)}, "approximate_age"),  # an approximate age beside a birth date
    ({"given_name": None, "family_name": None}, "given_name"),  # an approximate age needs a name
    ({"age": 111}, "approximate_age"),
    ({"age": -1}, "approximate_age"),
])
def test_an_approximate_age_is_checked_as_a_concerns(db, staff, change, field):
    ref, at = _investigation(db, staff)
    form = _approximately(**change)
    with pytest.raises(InvalidConcern) as refused:
        inform_relative(db, staff["caseworker"], ref, form, now=at)
    assert refused.value.field == field
    with pytest.raises(InvalidConcern) as refused:  # beside an identity number, too
        inform_relative(db, staff["caseworker"], ref, _wants(approximate_age=40), now=at)
    assert refused.value.field == "approximate_age"
