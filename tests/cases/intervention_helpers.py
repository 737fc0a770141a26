"""Shared by the interventions' tests: a case taken to the investigation (adult or child) through the real
operations, consents recorded for an intervention's purpose, and a look at the rows the operations wrote."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from cases import ConcernForm, register_concern
from cases.casework.access import assign_case
from cases.casework.consents import ConsentForm, record_consent
from cases.crypto.identity import generate_identity_number
from cases.models import Case, Intervention, ReferralPacket
from cases.reports.demo import Step, drive
from workflow.hearing import Assessment

SCOPE = {  # what a consent for each purpose covers (the kind's own recipients and data, and the police for SIG)
    "investigation": (("social_services",), ("identity", "concern")),
    "sig": (("police", "social_services"), ("identity", "concern", "assessment")),
    "exit_support": (("exit_service",), ("identity", "concern", "assessment")),
    "other_support": (("social_services",), ("identity", "concern")),
}

ADULT_STEPS = [
    Step("intake", "start_pre_assessment", {}, days_later=1),
    Step("caseworker", consent=("subject", "investigation"), days_later=2),
    Step("decider", "open_investigation", {"reason": "Behov av utredning.", "legal_basis": "sol_11_1"}, days_later=3),
]
CHILD_STEPS = [
    Step("intake", "assess_protection", {}),
    Step("intake", "start_pre_assessment", {"protection_assessment": "Ingen akut fara."},
         assessment=Assessment("Hemsituationen och skolan.", "no_protection_needed", child_view="Känner sig trygg.")),
    Step("decider", "open_investigation", {"reason": "Utredning inleds.", "legal_basis": "sol_11_1"}, days_later=5,
         assessment=Assessment("Oron och behoven.", not_heard_reason="not_reached")),
]


def investigating(db, staff, *, birth: date, serial: int, start: datetime, org: str = "school",
                  child: bool = False) -> tuple[str, datetime]:
    """A case about a person born on `birth` taken to the investigation; (ref, the moment of the last step)."""
    number = generate_identity_number(birth, serial)
    ref = register_concern(db, staff["reporter" if org != "police_exit_programme" else "intake"], ConcernForm(
        concern="Oro för radikalisering.", reporter_org=org, identity_number=number), now=start).ref
    last = drive(db, staff, ref, CHILD_STEPS if child else ADULT_STEPS, start)
    if child:  # no caseworker step on the child's way to the investigation: the decider assigns one
        assign_case(db, staff["decider"], ref, staff["caseworker"].id, now=last)
    return ref, last + timedelta(minutes=5)


def registered(db, staff, *, birth: date, serial: int, start: datetime, org: str) -> tuple[str, datetime]:
    """A case registered and taken to the pre-assessment (an adult); (ref, the moment of the last step)."""
    number = generate_identity_number(birth, serial)
    ref = register_concern(db, staff["intake"], ConcernForm(
        concern="Remiss.", reporter_org=org, identity_number=number), now=start).ref
    last = drive(db, staff, ref, ADULT_STEPS[:1], start)
    assign_case(db, staff["decider"], ref, staff["caseworker"].id, now=last)  # caseworkers work on their own cases
    return ref, last + timedelta(minutes=5)


def consent(db, staff, ref, purpose: str, now: datetime, *, given_by: str = "subject", days: int = 365,
            recipients: tuple[str, ...] | None = None) -> str:
    """A given consent for `purpose` covering its scope, valid from today for `days` days; its id."""
    scope_recipients, data = SCOPE[purpose]
    return record_consent(db, staff["caseworker"], ref, ConsentForm(
        given_by=given_by, purposes=(purpose,), recipients=recipients or scope_recipients, data_categories=data,
        method="written", evidence="Skriftligt samtycke, arkiverat.", valid_from=now.date(),
        valid_until=now.date() + timedelta(days=days)), now=now).id


def case_state(db, ref) -> str:
    with db.read() as s:
        return s.scalars(select(Case.state).where(Case.ref == ref)).one()


def row(db, intervention_id) -> Intervention:
    with db.read() as s:
        found = s.get(Intervention, intervention_id)
        s.expunge(found)
        return found


def packets(db, intervention_id) -> list[ReferralPacket]:
    with db.read() as s:
        found = s.scalars(select(ReferralPacket).where(ReferralPacket.intervention_id == intervention_id)).all()
        for p in found:
            s.expunge(p)
        return list(found)
