"""The city's action plan walked through the real operations (issue 18): a 17-year-old in SIG and exit support
at once, each on the consent that covers its own purpose; the guardians withdraw their consent for exit support
only, and exit support ends at once (its referral packet closes, the partner's read is refused) while SIG goes on.
"""

from __future__ import annotations

from datetime import date, timedelta

from cases import add_staff
from cases.casework.consents import withdraw_consent
from cases.casework.disclosures import read_referral
from cases.errors import DisclosureRefused
from cases.interventions import InterventionForm, fire_intervention, interventions_of, propose_intervention
from cases.models import Consent
from policies.rules import load_rules
from tests.cases.intervention_helpers import case_state, consent, investigating, packets
from tests.conftest import NOW
from workflow.errors import ConsentMissing

SEVENTEEN = date(2009, 6, 1)  # 17 on NOW


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
    try:
        fire_intervention(db, staff["caseworker"], sig, "start", {}, now=now)
        raise AssertionError("SIG started without the guardians' consent")
    except ConsentMissing as refused:
        assert refused.refusals[0].code == "guardians_consent_missing"
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
    assert read_referral(db, exit_service, exit_packet.id, now=later).ref == ref
    assert read_referral(db, police, sig_packet.id, now=later).ref == ref

    # The guardians withdraw their consent for exit support only.
    withdraw_consent(db, staff["caseworker"], ref, guardians_exit, "Vårdnadshavarna vill avsluta.", now=later)
    views = {v.kind: v for v in interventions_of(db, staff["caseworker"], ref, now=later)}
    assert (views["exit_support"].state, views["exit_support"].end_reason) == ("ended", "consent_withdrawn")
    assert views["sig"].state == "running" and views["sig"].covering_consent_ids
    assert packets(db, exit_support)[0].closed_at is not None and packets(db, sig)[0].closed_at is None
    try:
        read_referral(db, exit_service, exit_packet.id, now=later)
        raise AssertionError("the exit service read a packet after the consent was withdrawn")
    except DisclosureRefused:
        pass
    assert read_referral(db, police, sig_packet.id, now=later).ref == ref  # SIG goes on
    assert case_state(db, ref) == "interventions"
    with db.read() as s:
        assert s.get(Consent, guardians_exit).status == "withdrawn"

    # relative's own matter: added at merge (a parent receiving support as a relative in a case of their own,
    # linked to this one; i18-rel).
