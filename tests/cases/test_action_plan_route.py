"""The city's action plan walked through the real operations (issue 18): a 17-year-old in SIG and exit support
at once, each on the consent that covers its own purpose; the guardians withdraw their consent for exit support
only, and exit support ends at once (its referral packet closes, the partner's read is refused) while SIG goes on.
A parent receives support as a relative in a matter of their own, on their own consent and the decision maker's
grant, linked to the child's case (the link shown only to a reader with a ground on both); the child's
interventions are not stopped by it, nor the parent's support by the child's consent being withdrawn.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cases import ConsentForm, add_staff, fire_trigger, record_consent
from cases.casework.consents import withdraw_consent
from cases.casework.disclosures import read_referral
from cases.crypto.identity import generate_identity_number
from cases.errors import AccessDenied, DisclosureRefused
from cases.interventions import InterventionForm, fire_intervention, interventions_of, propose_intervention
from cases.links import linked_cases
from cases.models import Consent
from cases.relatives import RelativeForm, inform_relative
from policies.rules import load_rules
from tests.cases.intervention_helpers import case_state, consent, investigating, packets
from tests.conftest import NOW
from workflow.errors import ConsentMissing

SEVENTEEN = date(2009, 6, 1)  # 17 on NOW
PARENT = generate_identity_number(date(1979, 2, 3), 417)


def _start(db, staff, ref, kind, now, recipients=()):
    proposed = propose_intervention(db, staff["caseworker"], ref, InterventionForm(
        kind, "Bryta med våldsbejakande miljö, skola och fritid.", recipients), now=now)
    fire_intervention(db, staff["decider"], proposed.id, "decide", {"reason": "Beviljas enligt plan."}, now=now)
    return proposed.id


def test_a_17_year_old_in_sig_and_exit_support_at_once_and_the_guardians_withdraw_one(db, staff):
    ref, now = investigating(db, staff, birth=SEVENTEEN, serial=171, start=NOW, child=True)
    sig = _start(db, staff, ref, "sig", now, recipients=("police", "school"))
    exit_support = _start(db, staff, ref, "exit_support", now)

    # The child's own consent is not enough for a 17-year-old while rules.toml lists no intervention a child
    # of 15 may consent to alone: the guardians' is needed.
    assert "sig" not in load_rules().child_consent.own_consent_interventions
    consent(db, staff, ref, "sig", now, given_by="subject", recipients=("police", "school", "social_services"))
    with pytest.raises(ConsentMissing) as refused:  # SIG started without the guardians' consent
        fire_intervention(db, staff["caseworker"], sig, "start", {}, now=now)
    assert [(r.code, r.params["given_by"]) for r in refused.value.refusals] == [("consent_missing", "guardians")]
    consent(db, staff, ref, "sig", now, given_by="guardians", recipients=("police", "school", "social_services"))
    guardians_exit = consent(db, staff, ref, "exit_support", now, given_by="guardians")
    # the child consents too: what reaches a partner is disclosed on both the child's and the guardians' consent
    # (12 kap. 2 and 3 §§ OSL), as the disclosure rule reads it
    consent(db, staff, ref, "exit_support", now, given_by="subject")
    fire_intervention(db, staff["caseworker"], sig, "start", {}, now=now)
    fire_intervention(db, staff["caseworker"], exit_support, "start", {}, now=now)
    assert case_state(db, ref) == "interventions"
    assert {v.kind: v.state for v in interventions_of(db, staff["caseworker"], ref, now=now)} == {
        "sig": "running", "exit_support": "running"}

    exit_service = add_staff(db, "partner-exit", "Avhopparverksamheten", "partner", unit="exit_service")
    police = staff["partner"]  # unit police
    (exit_packet,) = packets(db, exit_support)
    (sig_packet,) = packets(db, sig)
    later = now + timedelta(days=14)
    parent = _a_parent_in_a_matter_of_their_own(db, staff, ref, now + timedelta(days=1))
    assert read_referral(db, exit_service, exit_packet.id, now=later).ref == ref
    assert read_referral(db, police, sig_packet.id, now=later).ref == ref

    # The guardians withdraw their consent for exit support only.
    withdraw_consent(db, staff["caseworker"], ref, guardians_exit, "Vårdnadshavarna vill avsluta.", now=later)
    views = {v.kind: v for v in interventions_of(db, staff["caseworker"], ref, now=later)}
    assert (views["exit_support"].state, views["exit_support"].end_reason) == ("ended", "consent_withdrawn")
    assert views["sig"].state == "running" and views["sig"].covering_consent_ids
    assert packets(db, exit_support)[0].closed_at is not None and packets(db, sig)[0].closed_at is None
    with pytest.raises(DisclosureRefused):  # the exit service read a packet after the consent was withdrawn
        read_referral(db, exit_service, exit_packet.id, now=later)
    assert read_referral(db, police, sig_packet.id, now=later).ref == ref  # SIG goes on
    assert case_state(db, ref) == "interventions"
    with db.read() as s:
        assert s.get(Consent, guardians_exit).status == "withdrawn"

    # The parent's own matter is not touched by the child's consent being withdrawn: their support goes on.
    assert _state(db, parent) == "support"


def _a_parent_in_a_matter_of_their_own(db, staff, ref, now) -> str:
    """A parent told that support exists wants it: their own matter on the relative flowchart, on their own
    consent, granted by the decision maker; linked to the 17-year-old's case, whose interventions go on."""
    before = {v.id: (v.state, v.version) for v in interventions_of(db, staff["caseworker"], ref, now=now)}
    relatives_caseworker = add_staff(db, "caseworker-relative", "Anhörighandläggare", "caseworker")
    parent = inform_relative(db, staff["caseworker"], ref, RelativeForm(
        wants_support=True, relationship="parent", identity_number=PARENT, given_name="Förälder",
        family_name="Testsson", caseworker_id=relatives_caseworker.id), now=now).relative_ref
    assert parent is not None and parent != ref and _state(db, parent) == "opened"
    # the parent's own consent gates their support; the child's and the guardians' consents on the child's case
    # do not count for it
    grant = {"reason": "Föräldern behöver stöd i sin egen situation."}
    with pytest.raises(ConsentMissing):  # support granted to the parent without the parent's own consent
        fire_trigger(db, staff["decider"], parent, "grant_support", grant, now=now)
    record_consent(db, relatives_caseworker, parent, ConsentForm(
        given_by="subject", purposes=("family_support",), recipients=("family_support_service",),
        data_categories=("identity", "contact"), method="written", evidence="Skriftligt samtycke, arkiverat.",
        valid_from=now.date()), now=now)
    assert fire_trigger(db, staff["decider"], parent, "grant_support", grant, now=now).state == "support"
    # the child's case is not stopped by it: same state, the same interventions in the same states and versions
    assert case_state(db, ref) == "interventions"
    assert {v.id: (v.state, v.version) for v in interventions_of(db, staff["caseworker"], ref, now=now)} == before
    # the link is shown only to a reader with a ground on both cases
    assert linked_cases(db, staff["caseworker"], ref, now=now) == ()  # not assigned to the parent's matter
    assert linked_cases(db, relatives_caseworker, parent, now=now) == ()  # not assigned to the child's case
    with pytest.raises(AccessDenied):  # the parent's caseworker read the child's case
        linked_cases(db, relatives_caseworker, ref, now=now)
    assert [(link.ref, link.relation) for link in linked_cases(db, staff["decider"], ref, now=now)] == [
        (parent, "relative_matter")]
    assert [(link.ref, link.relation) for link in linked_cases(db, staff["decider"], parent, now=now)] == [
        (ref, "subject_case")]
    return parent


def _state(db, ref) -> str:
    return case_state(db, ref)
