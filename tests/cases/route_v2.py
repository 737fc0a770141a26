"""Flowchart version 2's paths to each of its states, walked through the real operations (a copy of what
`cases/reports/demo.py` walked while version 2 was the current flowchart).

The demo follows the current flowchart; these paths stay with version 2, so the tests of its intervention route
(SIG, exit support, support for relatives, other interventions, consent withdrawal, follow-up) keep running on it
after the demo has moved on. Use with the `flowchart_v2` fixture (tests/flowchart_v2.py): the cases must start on
version 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cases.casework.access import assign_case
from cases.casework.consents import ConsentForm, record_consent
from cases.casework.operations import fire_trigger
from cases.db import Database
from cases.flowcharts import current_engine
from cases.hearing.communications import CommunicationForm, record_communication
from workflow import Actor
from workflow.deadlines import local_date
from workflow.hearing import Assessment

__all__ = ["CONSENT_SCOPE", "PATHS", "SIG_RECIPIENTS", "Step", "drive"]

SIG_RECIPIENTS = ["police", "school", "social_services"]


@dataclass(frozen=True)
class Step:
    """One thing staff do on the way to a state: fire a trigger (with its assessment), record a consent, or
    communicate the material before an adverse decision (`communicate` names it)."""

    role: str
    trigger: str | None = None
    payload: dict | None = None
    consent: tuple[str, str] | None = None  # (given_by, purpose)
    days_later: int = 0
    assessment: Assessment | None = None
    communicate: str | None = None


def _consent(given_by: str, purpose: str, days: int = 0) -> Step:
    return Step("caseworker", consent=(given_by, purpose), days_later=days)


def _fire(role: str, trigger: str, days: int = 0, *, assessment: Assessment | None = None, **payload) -> Step:
    return Step(role, trigger, payload, days_later=days, assessment=assessment)


_PRE = [_fire("intake", "start_pre_assessment", 1)]
_CHILD_PRE = [
    _fire("intake", "assess_protection"),
    _fire("intake", "start_pre_assessment", protection_assessment="Ingen akut fara. Skolan och familjen informerade.",
          assessment=Assessment("Demo: hemsituationen och skolan.", "no_protection_needed",
                                child_view="Demo: barnet känner sig tryggt hemma.")),
]
_OPEN = [_consent("subject", "investigation", 2),
         _fire("decider", "open_investigation", 3, reason="Behov av utredning.", legal_basis="sol_11_1")]
_ASK = [_fire("caseworker", "request_consent", 20, proposed_intervention="sig")]
_SIG = [_consent("subject", "sig", 5), _fire("caseworker", "refer_sig", 1, recipients=SIG_RECIPIENTS)]

# Paths from registration to each state of version 2; "child" paths need a child, the others an adult.
PATHS: dict[str, tuple[bool, list[Step]]] = {
    "registered": (False, []),
    "protection_assessment": (True, [_fire("intake", "assess_protection")]),
    "pre_assessment": (False, _PRE),
    "investigation": (False, _PRE + _OPEN),
    "awaiting_consent": (False, _PRE + _OPEN + _ASK),
    "sig": (False, _PRE + _OPEN + _ASK + _SIG),
    "exit_support": (False, _PRE + _OPEN + _ASK + [
        _consent("subject", "exit_support", 4), _fire("caseworker", "refer_exit", 1)]),
    "family_support": (False, _PRE + _OPEN + _ASK + [
        _consent("relative", "family_support", 4), _fire("caseworker", "offer_family_support", 1)]),
    "other_support": (False, _PRE + _OPEN + _ASK + [
        _consent("subject", "other_support", 4), _fire("caseworker", "start_other_support", 1, reason="Stödsamtal.")]),
    "follow_up": (False, _PRE + _OPEN + _ASK + _SIG + [_fire("caseworker", "start_follow_up", 90)]),
    "closed": (True, [
        *_CHILD_PRE,
        _fire("decider", "open_investigation", 5, reason="Utredning inleds.", legal_basis="sol_11_1",
              assessment=Assessment("Demo: oron och barnets behov.", not_heard_reason="not_reached")),
        Step("caseworker", communicate="close_case", days_later=40),
        _fire("decider", "close_case", 20, reason="Inget behov.", outcome="no_need"),
    ]),
    "erased": (False, [
        *_PRE,
        _fire("decider", "close_without_investigation", 5, reason="Ej aktuellt.", outcome="not_opened"),
        _fire("system", "erase", 366 * 5 + 30),
    ]),
}

CONSENT_SCOPE = {
    "investigation": (["social_services"], ["identity", "concern"]),
    "sig": (SIG_RECIPIENTS, ["identity", "concern", "assessment"]),
    "exit_support": (["exit_service"], ["identity", "concern", "assessment"]),
    "family_support": (["family_support_service"], ["contact"]),
    "other_support": (["social_services"], ["identity", "concern"]),
}


def drive(db: Database, staff: dict[str, Actor], ref: str, steps: list[Step], start: datetime) -> datetime:
    """Take case `ref` through `steps`, starting at `start`; returns the moment of the last step."""
    now, assigned = start, False
    for step in steps:
        now += timedelta(days=step.days_later, minutes=7)
        actor = staff[step.role]
        if step.role == "caseworker" and not assigned:
            assign_case(db, staff["decider"], ref, actor.id, now=now)  # caseworkers work on their own cases
            assigned = True
        if step.consent:
            given_by, purpose = step.consent
            recipients, data = CONSENT_SCOPE[purpose]
            record_consent(db, actor, ref, ConsentForm(
                given_by=given_by, purposes=(purpose,), recipients=tuple(recipients),
                data_categories=tuple(data), method="written", evidence="Skriftligt samtycke, arkiverat.",
                valid_from=now.date(), valid_until=now.date() + timedelta(days=365),
            ), now=now)
        elif step.communicate:
            record_communication(db, actor, ref, CommunicationForm(
                decision=step.communicate, recipients=("person", "guardians"), method="letter",
                material="Demo: utredningen skickad för yttrande.",
                sent_on=local_date(now, current_engine().chart.timezone)), now=now)
        else:
            if step.trigger is None:  # a step fires a trigger, records a consent or communicates
                raise ValueError(f"a step of {step.role} does nothing")
            fire_trigger(db, actor, ref, step.trigger, step.payload or {}, now=now, assessment=step.assessment)
    return now
