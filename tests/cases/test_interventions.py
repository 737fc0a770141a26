"""Interventions as records of their own (flowchart version 3) on both databases: their lifecycle, several at
once, the case following them, versions and idempotency, consent withdrawal and expiry ending exactly what they
covered, packets and the partner's read, the early start on the police's referral, and the log verifying."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from cases.audit.signing import LogSigner
from cases.audit.verify import verify
from cases.casework.consents import withdraw_consent
from cases.casework.disclosures import read_referral
from cases.casework.idempotency import claim, recall
from cases.casework.operations import fire_trigger
from cases.errors import DisclosureRefused, InterventionNotFound, NotPermitted, StaleCase, StaleIntervention
from cases.interventions import (
    InterventionForm,
    expire_consents,
    fire_intervention,
    intervention,
    intervention_goal,
    intervention_options,
    interventions_of,
    propose_intervention,
)
from cases.models import AccessLogEntry, Decision, TransitionLogEntry
from tests.cases.intervention_helpers import case_state, consent, investigating, packets, registered, row
from tests.conftest import NOW
from workflow import LogEntry
from workflow.errors import ConsentMissing, RoleNotAllowed, TransitionNotAllowed, TransitionRefused

ADULT = date(2003, 4, 5)  # 23 on NOW: inside SIG's 15–25


def _propose(db, staff, ref, kind, now, **kw):
    return propose_intervention(db, staff["caseworker"], ref, InterventionForm(kind, "Stöd ut ur miljön.", **kw),
                                now=now)


def _running(db, staff, ref, kind, now, **kw):
    """An intervention of `kind` proposed, decided, consented to and started; its id."""
    proposed = _propose(db, staff, ref, kind, now, **kw)
    fire_intervention(db, staff["decider"], proposed.id, "decide", {"reason": "Beviljas."}, now=now)
    consent(db, staff, ref, kind, now)
    fire_intervention(db, staff["caseworker"], proposed.id, "start", {}, now=now)
    return proposed.id


def _entries(db, ref) -> list[LogEntry]:
    with db.read() as s:
        rows = s.scalars(select(TransitionLogEntry.entry).where(TransitionLogEntry.case_ref == ref)
                         .order_by(TransitionLogEntry.seq)).all()
    return [LogEntry.from_canonical(bytes(r)) for r in rows]


def test_the_lifecycle_with_a_decision_record_and_the_case_following(db, staff):
    ref, now = investigating(db, staff, birth=ADULT, serial=21, start=NOW)
    proposed = _propose(db, staff, ref, "sig", now, recipients=("police",))
    assert (proposed.state, proposed.case_state) == ("proposed", "investigation")
    decided = fire_intervention(db, staff["decider"], proposed.id, "decide", {"reason": "Beviljas."}, now=now)
    assert decided.state == "decided"
    view = intervention(db, staff["caseworker"], proposed.id, now=now)
    assert view.decision_id is not None and view.covering_consent_ids == ()
    with db.read() as s:
        decision = s.get(Decision, view.decision_id)
        assert (decision.kind, decision.appealable, decision.trigger) == ("grant_intervention", True,
                                                                          "intervention_decide")
    with pytest.raises(ConsentMissing):
        fire_intervention(db, staff["caseworker"], proposed.id, "start", {}, now=now)
    given = consent(db, staff, ref, "sig", now)
    started = fire_intervention(db, staff["caseworker"], proposed.id, "start", {}, now=now)
    assert (started.state, started.case_state) == ("running", "interventions")
    assert intervention(db, staff["caseworker"], proposed.id, now=now).covering_consent_ids == (given,)
    (packet,) = packets(db, proposed.id)
    assert packet.recipients == ["police"] and packet.purpose == "sig" and packet.closed_at is None
    ended = fire_intervention(db, staff["caseworker"], proposed.id, "end",
                              {"end_reason": "completed", "reason": "Målen nådda."}, now=now + timedelta(days=30))
    assert (ended.state, ended.case_state) == ("ended", "follow_up")
    assert row(db, proposed.id).end_reason == "completed"
    assert packets(db, proposed.id)[0].closed_at is not None
    steps = [(e.trigger, e.from_state, e.to_state) for e in _entries(db, ref)][-6:]
    assert steps == [
        ("intervention_propose", "investigation", "investigation"),
        ("intervention_decide", "investigation", "investigation"),
        ("intervention_start", "investigation", "investigation"),
        ("begin_interventions", "investigation", "interventions"),
        ("intervention_end", "interventions", "interventions"),
        ("end_interventions", "interventions", "follow_up"),
    ]
    assert steps and {e.codes["intervention"] for e in _entries(db, ref) if e.trigger.startswith("intervention_")} \
        == {proposed.id}
    assert all("Stöd" not in e.canonical().decode() for e in _entries(db, ref))  # the goal is never logged


def test_several_run_at_once_and_the_case_leaves_interventions_when_the_last_ends(db, staff):
    ref, now = investigating(db, staff, birth=ADULT, serial=22, start=NOW)
    sig = _running(db, staff, ref, "sig", now)
    exit_support = _running(db, staff, ref, "exit_support", now)
    assert case_state(db, ref) == "interventions"
    assert {v.state for v in interventions_of(db, staff["caseworker"], ref, now=now)} == {"running"}
    fire_intervention(db, staff["caseworker"], sig, "end", {"end_reason": "completed", "reason": "Klart."}, now=now)
    assert case_state(db, ref) == "interventions"
    fire_intervention(db, staff["decider"], exit_support, "end", {"end_reason": "moved", "reason": "Flyttat."},
                      now=now)
    assert case_state(db, ref) == "follow_up"
    # a new one from the follow-up moves the case back into interventions
    other = _running(db, staff, ref, "other_support", now + timedelta(days=1))
    assert case_state(db, ref) == "interventions" and packets(db, other) == []  # shares nothing outside


def test_roles_states_and_automatic_steps_are_refused(db, staff):
    ref, now = investigating(db, staff, birth=ADULT, serial=23, start=NOW)
    proposed = _propose(db, staff, ref, "other_support", now)
    with pytest.raises(RoleNotAllowed):
        fire_intervention(db, staff["caseworker"], proposed.id, "decide", {"reason": "x"}, now=now)
    with pytest.raises(TransitionNotAllowed):
        fire_intervention(db, staff["caseworker"], proposed.id, "start", {}, now=now)
    with pytest.raises(TransitionRefused) as caught:
        fire_intervention(db, staff["caseworker"], proposed.id, "consent_ended", {"end_reason": "consent_expired"},
                          now=now)
    assert caught.value.refusals[0].code == "automatic_step"
    with pytest.raises(TransitionRefused) as caught:
        fire_trigger(db, staff["caseworker"], ref, "begin_interventions", {}, now=now)
    assert caught.value.refusals[0].code == "automatic_step"
    with pytest.raises(RoleNotAllowed):
        propose_intervention(db, staff["decider"], ref, InterventionForm("sig", "Mål."), now=now)
    with pytest.raises(TransitionRefused) as caught:
        _propose(db, staff, ref, "family_support", now)
    assert caught.value.refusals[0].code == "kind_unknown"
    options = {o.trigger: o for o in intervention_options(db, staff["caseworker"], proposed.id, now=now)}
    assert set(options) == {"decide", "decline", "withdraw_proposal"} and not options["decide"].allowed
    declined = fire_intervention(db, staff["decider"], proposed.id, "decline", {"reason": "Inget behov."}, now=now)
    assert declined.state == "ended" and row(db, proposed.id).end_reason == "not_granted"
    with db.read() as s:
        decision = s.get(Decision, row(db, proposed.id).decision_id)
        assert (decision.kind, decision.appealable) == ("intervention_declined", True)


def test_proposing_only_where_the_data_allows(db, staff):
    ref, now = registered(db, staff, birth=ADULT, serial=24, start=NOW, org="school")
    with pytest.raises(TransitionRefused) as caught:
        _propose(db, staff, ref, "sig", now)
    assert caught.value.refusals[0].code == "propose_wrong_state"


def test_the_interventions_version_and_the_idempotency_claim(db, staff):
    ref, now = investigating(db, staff, birth=ADULT, serial=25, start=NOW)
    proposed = _propose(db, staff, ref, "sig", now)
    with pytest.raises(StaleIntervention) as caught:
        fire_intervention(db, staff["decider"], proposed.id, "decide", {"reason": "x"},
                          expected_version=proposed.version + 1, now=now)
    assert isinstance(caught.value, StaleCase) and row(db, proposed.id).state == "proposed"
    with pytest.raises(StaleCase):  # proposing checks the case's version
        propose_intervention(db, staff["caseworker"], ref, InterventionForm("exit_support", "Mål."),
                             expected_version=proposed.case_version - 1, now=now)
    def render(fired):
        return 200, {"id": fired.id, "state": fired.state, "version": fired.version}

    held = claim(db, staff["decider"], "decide-once-1", b"POST /interventions/x/transitions {}", render)
    first = fire_intervention(db, staff["decider"], proposed.id, "decide", {"reason": "Beviljas."},
                              expected_version=proposed.version, now=now, claim=held)
    assert first.state == "decided" and row(db, first.id).version == first.version
    answer = recall(db, held, now=now)  # the answer was kept with the change, in its transaction
    assert answer is not None and answer.body == {"id": first.id, "state": "decided", "version": first.version}


def test_withdrawal_ends_exactly_what_it_covered_and_closes_its_packet(db, staff):
    ref, now = investigating(db, staff, birth=ADULT, serial=26, start=NOW)
    sig = _running(db, staff, ref, "sig", now, recipients=("police",))
    exit_support = _running(db, staff, ref, "exit_support", now)
    (exit_consent,) = [c for c in _consent_ids(db, ref) if "exit_support" in _purposes(db, c)]
    (exit_packet,) = packets(db, exit_support)
    partner = _partner(db, "exit_service")
    later = now + timedelta(days=2)
    assert read_referral(db, partner, exit_packet.id, now=later).ref == ref
    withdraw_consent(db, staff["caseworker"], ref, exit_consent, "Vill inte längre.", now=later)
    assert row(db, exit_support).state == "ended" and row(db, exit_support).end_reason == "consent_withdrawn"
    assert row(db, sig).state == "running" and case_state(db, ref) == "interventions"
    assert packets(db, exit_support)[0].closed_at is not None and packets(db, sig)[0].closed_at is None
    with pytest.raises(DisclosureRefused):
        read_referral(db, partner, exit_packet.id, now=later)
    assert [e.codes.get("end_reason") for e in _entries(db, ref) if e.trigger == "intervention_consent_ended"] == [
        "consent_withdrawn"]


def test_withdrawing_the_last_covering_consent_moves_the_case_to_follow_up(db, staff):
    ref, now = investigating(db, staff, birth=ADULT, serial=27, start=NOW)
    sig = _running(db, staff, ref, "sig", now)
    waiting = _propose(db, staff, ref, "sig", now)  # proposed, covered by the same consent: it ends too
    fire_intervention(db, staff["decider"], waiting.id, "decide", {"reason": "x"}, now=now)
    unrelated = _propose(db, staff, ref, "other_support", now)  # never covered: stays
    (sig_consent,) = [c for c in _consent_ids(db, ref) if "sig" in _purposes(db, c)]
    withdrawn = withdraw_consent(db, staff["caseworker"], ref, sig_consent, "Återkallat.",
                                 now=now + timedelta(hours=1))
    assert (withdrawn.state, withdrawn.seq) == ("follow_up", len(_all_entries(db)))
    assert [row(db, i).state for i in (sig, waiting.id, unrelated.id)] == ["ended", "ended", "proposed"]
    assert case_state(db, ref) == "follow_up"


def test_the_sweep_ends_interventions_whose_consent_lapsed(db, staff):
    ref, now = investigating(db, staff, birth=ADULT, serial=28, start=NOW)
    proposed = _propose(db, staff, ref, "exit_support", now)
    fire_intervention(db, staff["decider"], proposed.id, "decide", {"reason": "x"}, now=now)
    consent(db, staff, ref, "exit_support", now, days=10)
    fire_intervention(db, staff["caseworker"], proposed.id, "start", {}, now=now)
    other = _running(db, staff, ref, "other_support", now)
    assert expire_consents(db, now=now + timedelta(days=5)) == 0
    assert expire_consents(db, now=now + timedelta(days=12)) == 1
    assert row(db, proposed.id).end_reason == "consent_expired" and row(db, other).state == "running"
    assert packets(db, proposed.id)[0].closed_at is not None
    assert case_state(db, ref) == "interventions"
    assert expire_consents(db, now=now + timedelta(days=13)) == 0


def test_exit_support_from_the_pre_assessment_on_the_police_programmes_referral(db, staff):
    ref, now = registered(db, staff, birth=ADULT, serial=29, start=NOW, org="police_exit_programme")
    with pytest.raises(TransitionRefused):  # SIG is no referral of the programme
        _propose(db, staff, ref, "sig", now, origin="police_exit_programme")
    with pytest.raises(TransitionRefused):  # nor is exit support without naming the referral
        _propose(db, staff, ref, "exit_support", now)
    proposed = _propose(db, staff, ref, "exit_support", now, origin="police_exit_programme")
    fire_intervention(db, staff["decider"], proposed.id, "decide", {"reason": "Beviljas."}, now=now)
    consent(db, staff, ref, "exit_support", now)
    started = fire_intervention(db, staff["caseworker"], proposed.id, "start", {}, now=now)
    assert started.case_state == "interventions" and row(db, proposed.id).origin == "police_exit_programme"


def test_a_school_concern_cannot_claim_the_programmes_referral(db, staff):
    ref, now = registered(db, staff, birth=ADULT, serial=30, start=NOW, org="school")
    with pytest.raises(TransitionRefused):
        _propose(db, staff, ref, "exit_support", now, origin="police_exit_programme")


def test_no_ground_is_told_as_no_such_intervention_and_the_goal_read_is_logged(db, staff):
    ref, now = investigating(db, staff, birth=ADULT, serial=31, start=NOW)
    proposed = _propose(db, staff, ref, "sig", now)
    with pytest.raises(InterventionNotFound):
        intervention(db, staff["caseworker"], "no-such-id", now=now)
    for outsider in (staff["partner"], staff["reporter"]):
        with pytest.raises((InterventionNotFound, NotPermitted)):
            fire_intervention(db, outsider, proposed.id, "decide", {"reason": "x"}, now=now)
        with pytest.raises((InterventionNotFound, NotPermitted)):
            intervention_goal(db, outsider, proposed.id, now=now)
    assert intervention_goal(db, staff["caseworker"], proposed.id, now=now) == "Stöd ut ur miljön."
    with db.read() as s:
        last = s.scalars(select(AccessLogEntry.entry).order_by(AccessLogEntry.seq.desc())).first()
    assert b"intervention_goal" in bytes(last) and proposed.id.encode() in bytes(last)
    assert "Stöd".encode() not in bytes(last)


def test_the_log_with_interventions_verifies(db, staff, tmp_path):
    ref, now = investigating(db, staff, birth=ADULT, serial=32, start=NOW)
    sig = _running(db, staff, ref, "sig", now)
    _running(db, staff, ref, "exit_support", now)
    fire_intervention(db, staff["caseworker"], sig, "end", {"end_reason": "completed", "reason": "x"}, now=now)
    report = verify(db, LogSigner.create(tmp_path / "signing").verifier_key)
    assert report.ok, report.findings


# --- helpers ---------------------------------------------------------------------------------------------------


def _all_entries(db) -> list[int]:
    with db.read() as s:
        return list(s.scalars(select(TransitionLogEntry.seq)))


def _consent_ids(db, ref) -> list[str]:
    from cases.models import Case, Consent

    with db.read() as s:
        return list(s.scalars(select(Consent.id).join(Case, Case.id == Consent.case_id).where(Case.ref == ref)))


def _purposes(db, consent_id) -> list[str]:
    from cases.models import Consent

    with db.read() as s:
        return list(s.get(Consent, consent_id).purposes)


def _partner(db, unit):
    from cases import add_staff

    return add_staff(db, f"partner-{unit}".replace("_", "-"), f"Partner {unit}", "partner", unit=unit)


def test_the_letters_of_an_interventions_decisions_name_the_intervention(db, staff):
    from cases.decisions import decision_letter
    from tests.cases.test_decision_letter import text_of

    ref, now = investigating(db, staff, birth=ADULT, serial=33, start=NOW)
    granted = _propose(db, staff, ref, "exit_support", now)
    fire_intervention(db, staff["decider"], granted.id, "decide", {"reason": "Beviljas."}, now=now)
    declined = _propose(db, staff, ref, "sig", now)
    fire_intervention(db, staff["decider"], declined.id, "decline", {"reason": "Avslås."}, now=now)
    for made, words in ((granted.id, "Avhopparverksamhet"), (declined.id, "Social insatsgrupp")):
        letter = decision_letter(db, staff["decider"], row(db, made).decision_id, municipality="Exempelstad", now=now)
        text = text_of(letter.pdf)
        assert words in text and "Utredning\n" not in text and "förvaltningsrätten" in text


@pytest.mark.parametrize("form", [
    InterventionForm(["sig"], "Mål."),  # type: ignore[arg-type]
    InterventionForm("sig", "Mål.", recipients=(["police"],)),  # type: ignore[arg-type]
    InterventionForm("sig", "Mål.", data_categories="identity"),  # type: ignore[arg-type]
    InterventionForm("sig", "Mål.", origin=7),  # type: ignore[arg-type]
    InterventionForm("sig", "   "),
    InterventionForm("sig", "Mål.", recipients=("mars",)),
], ids=["kind a list", "recipient a list", "categories a string", "origin a number", "no goal", "unknown recipient"])
def test_a_malformed_proposal_is_refused_before_anything_is_written(db, staff, form):
    from cases.errors import InvalidConcern

    ref, now = investigating(db, staff, birth=ADULT, serial=34, start=NOW)
    before = len(_entries(db, ref))
    with pytest.raises((InvalidConcern, TransitionRefused)):
        propose_intervention(db, staff["caseworker"], ref, form, now=now)
    assert len(_entries(db, ref)) == before and interventions_of(db, staff["caseworker"], ref, now=now) == ()


def test_a_case_with_a_proposal_on_the_programmes_referral_is_not_closed_without_investigation(db, staff):
    """Found in review: closing in the pre-assessment left a proposed exit support to be decided on a closed case."""
    ref, now = registered(db, staff, birth=ADULT, serial=32, start=NOW, org="police_exit_programme")
    proposed = _propose(db, staff, ref, "exit_support", now, origin="police_exit_programme")
    closing = {"reason": "Ingen utredning.", "outcome": "not_opened"}
    with pytest.raises(TransitionRefused) as refused:
        fire_trigger(db, staff["decider"], ref, "close_without_investigation", closing, now=now)
    assert "interventions_pending" in [r.code for r in refused.value.refusals]
    fire_intervention(db, staff["caseworker"], proposed.id, "withdraw_proposal", {"reason": "Behövs inte."}, now=now)
    assert fire_trigger(db, staff["decider"], ref, "close_without_investigation", closing, now=now).state == "closed"


def test_a_childs_own_withdrawal_ends_an_intervention_that_shares_outside_social_services(db, staff):
    """Found in review: a 17-year-old's exit support ran on after the child withdrew their own consent, while the
    partner's read was refused. Sharing outside social services rests on the child's consent and the guardians'."""
    ref, now = investigating(db, staff, birth=date(2009, 1, 10), serial=33, start=NOW, child=True)
    proposed = _propose(db, staff, ref, "exit_support", now)
    fire_intervention(db, staff["decider"], proposed.id, "decide", {"reason": "Beviljas."}, now=now)
    consent(db, staff, ref, "exit_support", now, given_by="guardians")
    with pytest.raises(TransitionRefused):  # the guardians' consent alone does not let it share
        fire_intervention(db, staff["caseworker"], proposed.id, "start", {}, now=now)
    own = consent(db, staff, ref, "exit_support", now)
    fire_intervention(db, staff["caseworker"], proposed.id, "start", {}, now=now)
    withdraw_consent(db, staff["caseworker"], ref, own, "Den unge återkallar.", now=now + timedelta(hours=1))
    assert row(db, proposed.id).state == "ended" and case_state(db, ref) == "follow_up"
    assert all(p.closed_at is not None for p in packets(db, proposed.id))
