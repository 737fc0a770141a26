"""Decision records: written with the transition that takes the decision, never apart; the decision maker's
delegation named; the notification of the person recorded in the tamper-evident log, codes only."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from cases import ConcernForm, add_staff, fire_trigger, register_concern
from cases.audit.signing import LogSigner
from cases.audit.verify import verify
from cases.casework import decisions as casework_decisions
from cases.casework import operations
from cases.decisions import NotificationForm, case_decisions, record_notification
from cases.decisions.records import NOTIFIED
from cases.errors import AccessDenied, InvalidConcern, NotPermitted, RecordNotFound, StaleCase
from cases.models import Case, Decision, DecisionNotification, TransitionLogEntry
from policies.decisions import DEFAULT_DECISIONS_PATH, load_decisions, parse_decisions
from tests.cases.route_v2 import PATHS, drive
from tests.conftest import NOW
from tests.policies.test_decisions import ROLES, TRIGGERS

MARKER = "Motiveringsmarkör-7Q3 behov av utredning"
GIVEN, FAMILY = "Testnamn-Aqx", "Provsson-Zrw"


def register(db, staff, number):
    form = ConcernForm(concern="Oro för våldsbejakande kontakter.", reporter_org="school", identity_number=number,
                       given_name=GIVEN, family_name=FAMILY)
    return register_concern(db, staff["reporter"], form, now=NOW).ref


def decisions_of(db, ref):
    with db.read() as s:
        case = s.scalars(select(Case).where(Case.ref == ref)).one()
        return s.scalars(select(Decision).where(Decision.case_id == case.id).order_by(Decision.transition_seq)).all()


def counts(db):
    with db.read() as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) for t in (TransitionLogEntry, Decision))


def to_investigation(db, staff, number, reason=MARKER):
    ref = register(db, staff, number)
    drive(db, staff, ref, PATHS["pre_assessment"][1], NOW)
    drive(db, staff, ref, PATHS["investigation"][1][1:2], NOW)  # the consent to investigate
    fire_trigger(db, staff["decider"], ref, "open_investigation", {"reason": reason, "legal_basis": "sol_11_1"},
                 now=NOW + timedelta(days=4))
    return ref


def test_a_decision_step_writes_its_decision_with_its_transition(db, staff, adult_number):
    """A decision names its kind, its provision and its reasons (förvaltningslagen (2017:900), the provision on
    reasons for decisions: law.toml `fl_32`), the decision maker and their delegation, and the day."""
    ref = to_investigation(db, staff, adult_number)
    [decision] = decisions_of(db, ref)
    with db.read() as s:
        entry = s.get(TransitionLogEntry, decision.transition_seq)
        assert entry.trigger == "open_investigation" and entry.case_ref == ref
    assert (decision.kind, decision.provision, decision.appealable) == ("open_investigation", "sol_14_2_1", False)
    assert (decision.decided_by, decision.role, decision.delegation) == (staff["decider"].id, "decider",
                                                                         "unit_manager")
    assert decision.decided_at == NOW + timedelta(days=4)
    assert MARKER.encode() not in decision.reasons  # sealed under the case's key
    assert db.vault.case_key(decision.case_id).open("decisions", decision.id, "reasons", decision.reasons) == MARKER


def test_steps_that_decide_nothing_leave_no_decision(db, staff, adult_number):
    ref = register(db, staff, adult_number)
    drive(db, staff, ref, PATHS["pre_assessment"][1], NOW)
    assert decisions_of(db, ref) == []


@pytest.mark.usefixtures("flowchart_v2")
def test_every_path_records_one_decision_per_decision_step(db, staff, adult_number):
    ref = register(db, staff, adult_number)
    drive(db, staff, ref, PATHS["other_support"][1], NOW)
    kinds = [d.kind for d in decisions_of(db, ref)]
    assert kinds == ["open_investigation", "grant_intervention"]
    grant = decisions_of(db, ref)[1]
    assert (grant.trigger, grant.appealable, grant.role, grant.delegation) == ("start_other_support", True,
                                                                               "caseworker", "caseworker")


def test_a_decision_that_cannot_be_written_takes_its_transition_with_it(db, staff, adult_number, monkeypatch):
    """Never a transition without its decision: the whole step is rolled back."""
    ref = register(db, staff, adult_number)
    drive(db, staff, ref, PATHS["investigation"][1][:2], NOW)
    before = counts(db)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(operations, "record_decision", broken)
    with pytest.raises(RuntimeError):
        fire_trigger(db, staff["decider"], ref, "open_investigation", {"reason": MARKER, "legal_basis": "sol_11_1"},
                     now=NOW + timedelta(days=4))
    assert counts(db) == before
    with db.read() as s:
        assert s.scalars(select(Case.state).where(Case.ref == ref)).one() == "pre_assessment"


@pytest.mark.usefixtures("flowchart_v2")
def test_a_role_without_delegation_for_the_kind_cannot_take_the_decision(db, staff, adult_number, monkeypatch):
    """Deny by default: the decision maker's delegation is named in every decision, and a role without one for
    the kind may not take it, whatever the flowchart lets it fire."""
    text = DEFAULT_DECISIONS_PATH.read_text(encoding="utf-8").replace(
        'kinds = ["grant_intervention", "intervention_not_started"]', 'kinds = ["intervention_not_started"]')
    narrowed = parse_decisions(text, source="narrowed", triggers=TRIGGERS, roles=ROLES)
    monkeypatch.setattr(casework_decisions, "load_decisions", lambda: narrowed)
    ref = register(db, staff, adult_number)
    steps = PATHS["other_support"][1]
    drive(db, staff, ref, steps[:-1], NOW)
    before = counts(db)
    with pytest.raises(NotPermitted):
        drive(db, staff, ref, steps[-1:], NOW + timedelta(days=40))
    assert counts(db) == before


def test_the_decision_list_shows_codes_and_is_refused_without_a_ground(db, staff, adult_number):
    ref = to_investigation(db, staff, adult_number)
    [summary] = case_decisions(db, staff["decider"], ref)
    assert (summary.kind, summary.provision, summary.decided_by_name, summary.notified) == (
        "open_investigation", "sol_14_2_1", "Test decider", False)
    assert MARKER not in json.dumps(summary.__dict__, default=str)  # no reasons in the list
    with pytest.raises(AccessDenied):
        case_decisions(db, staff["intake"], ref)  # out of intake: no ground


def notify(db, staff, decision_id, role="decider", days=5, **form):
    values = {"recipient": "person", "method": "letter", "notified_on": (NOW + timedelta(days=days)).date(), **form}
    return record_notification(db, staff[role], decision_id, NotificationForm(**values),
                               now=NOW + timedelta(days=days))


def test_a_notification_is_recorded_in_the_transition_log_with_codes_only(db, staff, adult_number, tmp_path):
    """Who was told of a decision, how and when (förvaltningslagen (2017:900), the provision on notification of
    decisions: law.toml `fl_33`), in the tamper-evident log, which still verifies."""
    ref = to_investigation(db, staff, adult_number)
    [decision] = decisions_of(db, ref)
    with db.read() as s:
        version = s.scalars(select(Case.version).where(Case.ref == ref)).one()
    done = notify(db, staff, decision.id, method="in_person")
    assert done.version == version + 1
    with db.read() as s:
        entry = s.get(TransitionLogEntry, done.seq)
        [notice] = s.scalars(select(DecisionNotification)).all()
    assert (entry.trigger, entry.from_state, entry.to_state) == (NOTIFIED, "investigation", "investigation")
    body = json.loads(entry.entry)
    assert body["codes"] == {"decision": decision.id, "method": "in_person", "notified_on": "2026-12-01",
                             "recipient": "person"}
    assert GIVEN not in entry.entry.decode() and MARKER not in entry.entry.decode()
    assert (notice.transition_seq, notice.recorded_by) == (done.seq, staff["decider"].id)
    [summary] = case_decisions(db, staff["decider"], ref)
    assert summary.notified and summary.notices[0].method == "in_person"
    assert verify(db, LogSigner.create(tmp_path / "signing").verifier_key).ok


@pytest.mark.parametrize(("form", "field"), [
    ({"method": "carrier_pigeon"}, "method"),
    ({"recipient": "neighbour"}, "recipient"),
    ({"recipient": "guardians"}, "recipient"),  # the person is an adult
    ({"notified_on": NOW.date() + timedelta(days=30)}, "notified_on"),  # in the future
    ({"notified_on": NOW.date() - timedelta(days=1)}, "notified_on"),  # before the decision
])
def test_a_notification_that_does_not_hold_is_refused_and_nothing_is_written(db, staff, adult_number, form, field):
    ref = to_investigation(db, staff, adult_number)
    [decision] = decisions_of(db, ref)
    before = counts(db)
    with pytest.raises(InvalidConcern) as refused:
        notify(db, staff, decision.id, **form)
    assert refused.value.field == field
    assert counts(db) == before


def test_a_child_s_guardians_are_notified_of_a_decision(db, staff, child_number):
    """For a child, the guardians are told of the decision too."""
    ref = register(db, staff, child_number)
    drive(db, staff, ref, PATHS["closed"][1], NOW)
    closing = decisions_of(db, ref)[-1]
    assert closing.kind == "close_case"
    notify(db, staff, closing.id, days=70, recipient="guardians")
    notify(db, staff, closing.id, days=70, recipient="person", method="phone")
    [_, summary] = case_decisions(db, staff["decider"], ref)
    assert [n.recipient for n in summary.notices] == ["guardians", "person"]


def test_only_staff_with_a_notifying_role_and_a_ground_record_a_notification(db, staff, adult_number):
    ref = to_investigation(db, staff, adult_number)
    [decision] = decisions_of(db, ref)
    with pytest.raises(NotPermitted):
        notify(db, staff, decision.id, role="reporter")
    assert notify(db, staff, decision.id, role="caseworker").ref == ref  # assigned when they recorded the consent
    other = add_staff(db, "caseworker-2", "Other caseworker", "caseworker")
    with pytest.raises(AccessDenied):
        record_notification(db, other, decision.id, NotificationForm("person", "letter", NOW.date()),
                            now=NOW + timedelta(days=5))
    with pytest.raises(RecordNotFound):
        notify(db, staff, "00000000-0000-0000-0000-000000000000")


def test_a_notification_on_a_stale_version_is_refused(db, staff, adult_number):
    ref = to_investigation(db, staff, adult_number)
    [decision] = decisions_of(db, ref)
    with pytest.raises(StaleCase):
        record_notification(db, staff["decider"], decision.id,
                            NotificationForm("person", "letter", (NOW + timedelta(days=5)).date()),
                            expected_version=1, now=NOW + timedelta(days=5))


def test_the_decisions_file_is_loaded_once():
    assert load_decisions() is load_decisions()


def test_a_notification_is_no_move_on_the_case_s_path(db, staff, adult_number):
    """Entries beside the flowchart's steps leave the case where it is: the path shows no stay for them."""
    from cases.casework.outline import case_outline

    ref = to_investigation(db, staff, adult_number)
    [decision] = decisions_of(db, ref)
    before = case_outline(db, staff["decider"], ref).stays
    notify(db, staff, decision.id)
    after = case_outline(db, staff["decider"], ref).stays
    assert [s.state for s in after] == [s.state for s in before]
    assert after[-1].left is None
