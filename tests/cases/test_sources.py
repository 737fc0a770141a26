"""Concerns from every source, on both databases (issue 18 item 3): who registers which source, anonymous and
named outside reporters, feedback per source, a person known only by name and approximate age, and completing
the identity later (`cases.sources.complete_identity`)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from cases import ConcernForm, NotPermitted, StaleCase, available_triggers, fire_trigger, register_concern
from cases.audit.auditing import verify_logs
from cases.audit.signing import LogSigner
from cases.casework.access import assign_case, read_case
from cases.casework.feedback import OPENED, RECEIVED, reporter_feedback
from cases.casework.forms import estimated_birth_date
from cases.crypto.identity import generate_identity_number
from cases.errors import AccessDenied, InvalidConcern, InvalidIdentityNumber, SourceNotPermitted
from cases.links import linked_cases
from cases.models import AccessLogEntry, Case, Deadline, Person, TransitionLogEntry
from cases.reports.demo import PATHS, drive
from cases.sources import complete_identity
from policies.rules import COMPLETE_IDENTITY, load_rules
from tests.conftest import NOW
from workflow import RoleNotAllowed, default_flowchart

CONCERN = "Personen har börjat dela våldsbejakande material och dragit sig undan familjen."
GIVEN, FAMILY = "Oskar", "Provsson-Hedlund"
REPORTER, CONTACT = "Birgitta Testdotter", "070-000 00 00"
SOURCES = sorted(default_flowchart().vocabularies["reporter_orgs"])
CHILD = generate_identity_number(date(2012, 5, 17), 238)  # 14 on NOW
ADULT = generate_identity_number(date(2001, 3, 2), 417)  # 25 on NOW


def form(source: str = "school", **given) -> ConcernForm:
    person = {"identity_number": CHILD} if not {"identity_number", "birth_date", "approximate_age"} & set(given) \
        else {}
    return ConcernForm(**{"concern": CONCERN, "reporter_org": source, "given_name": GIVEN, "family_name": FAMILY,
                          **person, **given})


def entries(db, ref: str) -> list[dict]:
    with db.read() as session:
        rows = session.scalars(select(TransitionLogEntry.entry).where(TransitionLogEntry.case_ref == ref)
                               .order_by(TransitionLogEntry.seq))
        return [json.loads(row) for row in rows]


def test_the_policy_names_every_source_and_intake_registers_them_all():
    policy = load_rules()
    assert policy.sources["intake"] == frozenset(SOURCES)
    assert {"police", "healthcare", "relative", "public", "own_application"} <= set(SOURCES)
    assert policy.mandatory_reporters <= set(SOURCES) and policy.anonymous_sources <= set(SOURCES)
    assert not policy.anonymous_sources & policy.mandatory_reporters


@pytest.mark.parametrize("source", SOURCES)
def test_intake_registers_a_concern_from_every_source(db, staff, source):
    fired = register_concern(db, staff["intake"], form(source), now=NOW)
    record = read_case(db, staff["intake"], fired.ref, now=NOW)
    assert record.reporter_org == source and record.state == "registered"
    assert entries(db, fired.ref)[0]["codes"]["reporter_org"] == source


@pytest.mark.parametrize("role", ["reporter", "caseworker"])
@pytest.mark.parametrize("source", ["police", "healthcare", "relative", "public", "own_application"])
def test_a_reporter_or_caseworker_registers_only_their_own_kinds_of_service(db, staff, role, source):
    with pytest.raises(SourceNotPermitted):
        register_concern(db, staff[role], form(source), now=NOW)
    with db.read() as session:
        assert session.scalars(select(Case)).all() == []
    assert register_concern(db, staff[role], form("leisure"), now=NOW).state == "registered"


@pytest.mark.parametrize("role", ["coordinator", "decider", "partner", "auditor", "admin"])
def test_roles_that_register_no_concern_are_refused_for_every_source(db, staff, role):
    """Refused as a role that registers nothing (the flowchart's), not sent to another source."""
    with pytest.raises(RoleNotAllowed):
        register_concern(db, staff[role], form("public"), now=NOW)


def test_an_anonymous_concern_leaves_no_reporter_data(db, staff):
    fired = register_concern(db, staff["intake"], form("public", anonymous=True), now=NOW)
    with db.read() as session:
        case = session.scalars(select(Case).where(Case.ref == fired.ref)).one()
        assert case.anonymous and case.reporter_name is None and case.reporter_contact is None
    record = read_case(db, staff["intake"], fired.ref, now=NOW)
    assert record.anonymous and record.reporter == {}
    assert entries(db, fired.ref)[0]["codes"]["anonymous"] is True


@pytest.mark.parametrize("given", [{"reporter_name": REPORTER}, {"reporter_contact": CONTACT}])
def test_an_anonymous_reporter_who_leaves_details_is_refused_not_silently_stripped(db, staff, given):
    with pytest.raises(InvalidConcern) as refused:
        register_concern(db, staff["intake"], form("public", anonymous=True, **given), now=NOW)
    assert refused.value.field == "reporter_name"


@pytest.mark.parametrize("source", ["police", "healthcare", "school"])
def test_a_mandatory_reporter_is_never_anonymous(db, staff, source):
    with pytest.raises(InvalidConcern) as refused:
        register_concern(db, staff["intake"], form(source, anonymous=True), now=NOW)
    assert refused.value.field == "anonymous"


def test_a_named_outside_reporters_details_are_sealed_read_with_a_log_entry_and_never_logged(db, staff):
    fired = register_concern(db, staff["intake"], form("relative", reporter_name=REPORTER,
                                                       reporter_contact=CONTACT), now=NOW)
    with db.read() as session:
        case = session.scalars(select(Case).where(Case.ref == fired.ref)).one()
        assert REPORTER.encode() not in case.reporter_name and CONTACT.encode() not in case.reporter_contact
    record = read_case(db, staff["intake"], fired.ref, now=NOW)
    assert record.reporter == {"reporter_name": REPORTER, "reporter_contact": CONTACT}
    with db.read() as session:
        (read,) = [json.loads(e) for e in session.scalars(select(AccessLogEntry.entry))]
    assert {"cases.reporter_name", "cases.reporter_contact"} <= set(read["fields"])
    logged = json.dumps(entries(db, fired.ref)) + json.dumps(read)
    assert REPORTER not in logged and CONTACT not in logged


def test_the_municipalitys_own_staff_leave_no_contact_details(db, staff):
    with pytest.raises(InvalidConcern):
        register_concern(db, staff["reporter"], form("school", reporter_name=REPORTER), now=NOW)


@pytest.mark.parametrize("source, gets", [("school", True), ("other_city", True), ("police", True),
                                          ("healthcare", True), ("relative", False), ("public", False),
                                          ("own_application", False)])
def test_feedback_is_decided_per_source(source, gets):
    assert (source in load_rules().mandatory_reporters) is gets


def test_feedback_to_a_reporter_follows_the_source_and_never_reaches_an_anonymous_one(db, staff, monkeypatch):
    """The reporter's own school concern about a child is followed; the same concern marked anonymous (as if
    a policy let a mandatory source be anonymous) gets "received" only."""
    school = register_concern(db, staff["reporter"], form("school"), now=NOW).ref
    other = register_concern(db, staff["reporter"], form("leisure", identity_number=generate_identity_number(
        date(2012, 6, 1), 244)), now=NOW).ref
    for ref in (school, other):
        drive(db, staff, ref, list(PATHS["closed"][1][:3]), NOW)
    with db.write() as session:
        session.scalars(select(Case).where(Case.ref == other)).one().anonymous = True
    seen = {item.ref: item.category for item in reporter_feedback(db, staff["reporter"])}
    assert seen == {school: OPENED, other: RECEIVED}


# --- a person known only by name and an approximate age -----------------------------------------------------


@pytest.mark.parametrize("age, group, first", [(14, "child", "assess_protection"), (17, "child", "assess_protection"),
                                               (18, "young_adult", "start_pre_assessment"),
                                               (40, "adult", "start_pre_assessment")])
def test_a_name_and_an_approximate_age_register_a_concern(db, staff, age, group, first):
    fired = register_concern(db, staff["intake"], form("police", approximate_age=age, family_name=None), now=NOW)
    (entry,) = entries(db, fired.ref)
    assert entry["codes"]["age_group"] == group and entry["codes"]["age"] == "approximate"
    record = read_case(db, staff["intake"], fired.ref, now=NOW)
    assert record.age_approximate and record.person["identity_number"] is None
    assert record.person["birth_date"] == estimated_birth_date(age, NOW.date()).isoformat()
    with db.read() as session:
        running = set(session.scalars(select(Deadline.name).where(Deadline.stopped_at.is_(None))))
    assert running == ({"protection_assessment", "pre_assessment"} if group == "child" else set())
    options = {o.trigger for o in available_triggers(db, staff["intake"], fired.ref, now=NOW) if o.allowed}
    assert first in options


def test_the_estimate_is_the_youngest_reading_of_the_age():
    assert estimated_birth_date(17, date(2026, 11, 26)) == date(2009, 11, 26)
    assert estimated_birth_date(10, date(2028, 2, 29)) == date(2018, 2, 28)


@pytest.mark.parametrize("given, field", [
    ({"approximate_age": 15, "given_name": None, "family_name": None}, "given_name"),
    ({"approximate_age": 15, "given_name": "  ", "family_name": None}, "given_name"),
    ({"approximate_age": -1}, "approximate_age"),
    ({"approximate_age": 111}, "approximate_age"),
    ({"approximate_age": 15, "identity_number": CHILD}, "approximate_age"),
    ({"approximate_age": 15, "birth_date": date(2011, 1, 1)}, "approximate_age"),
    ({"approximate_age": None, "identity_number": None}, "identity_number"),
])
def test_an_approximate_age_without_a_name_or_beside_an_identity_is_refused(db, staff, given, field):
    with pytest.raises(InvalidConcern) as refused:
        register_concern(db, staff["intake"], form("public", **given), now=NOW)
    assert refused.value.field == field


# --- completing the identity later --------------------------------------------------------------------------


def unknown(db, staff, age: int = 15, *, at=NOW) -> str:
    return register_concern(db, staff["intake"], form("police", approximate_age=age), now=at).ref


def test_completing_the_identity_finds_and_links_the_same_persons_other_cases(db, staff):
    earlier = register_concern(db, staff["intake"], form("school", identity_number=CHILD), now=NOW).ref
    elsewhere = register_concern(db, staff["intake"], form("school", identity_number=generate_identity_number(
        date(2012, 5, 17), 246)), now=NOW).ref
    ref = unknown(db, staff, at=NOW + timedelta(hours=2))
    version = read_case(db, staff["intake"], ref, now=NOW).version
    done = complete_identity(db, staff["intake"], ref, CHILD, expected_version=version, now=NOW + timedelta(hours=3))
    assert done.linked == done.shown == (earlier,) and done.state == "registered" and done.version == version + 1
    (link,) = linked_cases(db, staff["intake"], ref, now=NOW + timedelta(hours=3))
    assert (link.ref, link.relation) == (earlier, "earlier") and elsewhere != link.ref
    record = read_case(db, staff["intake"], ref, now=NOW + timedelta(hours=3))
    assert record.person["identity_number"] == CHILD.replace("-", "")
    assert record.person["birth_date"] == "2012-05-17" and not record.age_approximate
    with db.read() as session:
        person = session.scalars(select(Person).join(Case).where(Case.ref == ref)).one()
        assert person.identity_kind == "personnummer" and person.identity_index == db.vault.blind_index(
            CHILD.replace("-", ""))
    # a later concern about the same person now finds this case too, as registration always did
    later = register_concern(db, staff["intake"], form("school", identity_number=CHILD), now=NOW + timedelta(days=1))
    assert later.existing == (earlier, ref)


def test_the_log_entry_is_beside_the_steps_with_no_personal_data_and_the_log_verifies(db, staff, keys):
    ref = unknown(db, staff)
    complete_identity(db, staff["intake"], ref, CHILD, now=NOW + timedelta(hours=1))
    last = entries(db, ref)[-1]
    assert last["trigger"] == COMPLETE_IDENTITY and last["from"] == last["to"] == "registered"
    assert last["codes"] == {"identity_kind": "personnummer", "age_group": "child", "age_was": "approximate"}
    text = json.dumps(entries(db, ref))
    for secret in (CHILD, CHILD.replace("-", ""), CHILD[2:], "2012-05-17", GIVEN, FAMILY):
        assert secret not in text
    signer = LogSigner.create(keys.folder, "test.example/vidoro")
    summary = verify_logs(db, staff["auditor"], signer.verifier_key, origin_prefix=signer.name)
    assert summary["ok"] and summary["findings"] == []


@pytest.mark.parametrize("number", ["20120517-2381", "19000101-0000", "not a number", "",
                                    "000101-T220"])
def test_a_bad_number_is_refused_and_nothing_changes(db, staff, number):
    ref = unknown(db, staff)
    before = read_case(db, staff["intake"], ref, now=NOW)
    with pytest.raises(InvalidIdentityNumber):
        complete_identity(db, staff["intake"], ref, number, now=NOW + timedelta(hours=1))
    after = read_case(db, staff["intake"], ref, now=NOW)
    assert (after.version, after.person["identity_number"], after.age_approximate) == (before.version, None, True)


def test_a_stale_version_is_refused(db, staff):
    ref = unknown(db, staff)
    with pytest.raises(StaleCase):
        complete_identity(db, staff["intake"], ref, CHILD, expected_version=7, now=NOW + timedelta(hours=1))
    assert read_case(db, staff["intake"], ref, now=NOW).person["identity_number"] is None


def test_a_known_identity_is_not_completed_again(db, staff):
    ref = register_concern(db, staff["intake"], form("school", identity_number=CHILD), now=NOW).ref
    with pytest.raises(InvalidConcern):
        complete_identity(db, staff["intake"], ref, ADULT, now=NOW + timedelta(hours=1))


@pytest.mark.parametrize("role", ["reporter", "coordinator", "partner", "auditor", "admin"])
def test_only_staff_with_a_ground_complete_an_identity(db, staff, role):
    ref = unknown(db, staff)
    with pytest.raises(NotPermitted):
        complete_identity(db, staff[role], ref, CHILD, now=NOW + timedelta(hours=1))
    with pytest.raises(AccessDenied):  # a caseworker not assigned to the case has no ground on it
        complete_identity(db, staff["caseworker"], ref, CHILD, now=NOW + timedelta(hours=1))
    assign_case(db, staff["intake"], ref, staff["caseworker"].id, now=NOW + timedelta(hours=1))
    assert complete_identity(db, staff["caseworker"], ref, CHILD, now=NOW + timedelta(hours=2)).linked == ()


def test_an_estimated_child_who_is_an_adult_has_the_childs_deadlines_stopped(db, staff):
    ref = unknown(db, staff, age=16)
    done = complete_identity(db, staff["intake"], ref, ADULT, now=NOW + timedelta(hours=1))
    assert done.stopped == ("pre_assessment", "protection_assessment") and done.started == ()
    with db.read() as session:
        assert session.scalars(select(Deadline).where(Deadline.stopped_at.is_(None))).all() == []
        assert session.scalars(select(Case.next_deadline).where(Case.ref == ref)).one() is None
    options = {o.trigger: o.allowed for o in available_triggers(db, staff["intake"], ref, now=NOW + timedelta(hours=1))}
    assert options["start_pre_assessment"] and not options["assess_protection"]


def test_an_estimated_adult_who_is_a_child_gets_the_childs_deadlines_from_the_receipt(db, staff):
    ref = unknown(db, staff, age=30)
    done = complete_identity(db, staff["intake"], ref, CHILD, now=NOW + timedelta(days=2))
    assert done.started == ("pre_assessment", "protection_assessment") and not done.now_child
    with db.read() as session:
        due = dict(session.execute(select(Deadline.name, Deadline.due_on)).all())
        case = session.scalars(select(Case).where(Case.ref == ref)).one()
    assert due == {"protection_assessment": NOW.date(), "pre_assessment": NOW.date() + timedelta(days=14)}
    assert (case.next_deadline, case.next_due_on) == ("protection_assessment", NOW.date())


def test_a_case_that_went_the_adults_way_gets_only_the_deadlines_still_ahead(db, staff):
    ref = unknown(db, staff, age=30)
    fire_trigger(db, staff["intake"], ref, "start_pre_assessment", {}, now=NOW + timedelta(hours=1))
    done = complete_identity(db, staff["intake"], ref, CHILD, now=NOW + timedelta(hours=2))
    assert done.started == ("pre_assessment",) and done.now_child


def test_other_cases_are_named_only_to_someone_with_a_ground_on_them(db, staff):
    earlier = register_concern(db, staff["intake"], form("school", identity_number=CHILD), now=NOW).ref
    ref = unknown(db, staff, at=NOW + timedelta(hours=1))
    assign_case(db, staff["intake"], ref, staff["caseworker"].id, now=NOW + timedelta(hours=1))
    done = complete_identity(db, staff["caseworker"], ref, CHILD, now=NOW + timedelta(hours=2))
    assert done.linked == (earlier,) and done.shown == ()
    with db.read() as session:
        assert [json.loads(e)["fields"] for e in session.scalars(select(AccessLogEntry.entry))] == []


def test_the_local_picture_counts_concerns_by_their_new_sources(db, staff):
    from cases.reports.statistics import local_picture

    for n in range(5):
        register_concern(db, staff["intake"], form("police", approximate_age=20 + n), now=NOW)
        register_concern(db, staff["intake"], form("public", anonymous=True, approximate_age=30 + n), now=NOW)
    picture = local_picture(db, staff["coordinator"], today=NOW.date())
    counts = {cell.key: cell.count for cell in picture.by_reporter_org}
    assert counts["police"] == counts["public"] == 5 and counts["school"] is None  # 0: below the smallest cell
    assert list(counts)[:len(SOURCES)] == list(default_flowchart().vocabularies["reporter_orgs"])
