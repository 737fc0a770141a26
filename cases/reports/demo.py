"""Demo data: generated staff and cases in every state of the flowchart, through the real operations.

The paths follow the flowchart new cases start on (version 3: interventions are records of their own; the
case in "interventions running" is a 17-year-old in SIG and exit support at once). Version 2's paths are kept
with its tests (tests/cases/route_v2.py).
A relative's own matter (a parent) is opened from a case with an intervention running (`relative_matter`).
One case carries a flag (`FLAGGED`): the first case in investigation is a child's, flagged for honour-related
violence by intake during the pre-assessment, so the decision to open the investigation warned with the flag.

Everyone here is made up. Identity numbers are generated to validate but belong to nobody real; names
are plainly fictional ("Demo" + a letter). Every case reaches its state by the same operations staff use,
so the demo also shows the flowchart working.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from cases.casework.access import assign_case
from cases.casework.consents import ConsentForm, record_consent
from cases.casework.forms import ConcernForm
from cases.casework.operations import fire_trigger, register_concern
from cases.crypto.identity import generate_identity_number
from cases.db import Database
from cases.flags import set_flag
from cases.flowcharts import current_engine
from cases.hearing.communications import CommunicationForm, record_communication
from cases.interventions import InterventionForm, fire_intervention, propose_intervention
from cases.models import Staff
from cases.relatives import RelativeForm, inform_relative
from cases.staff.members import add_staff
from policies.access import SYSTEM_ROLE
from workflow import Actor
from workflow.deadlines import local_date
from workflow.hearing import Assessment

__all__ = ["AGES", "DEMO_ROLES", "FLAGGED", "PATHS", "RELATIVES_FROM", "Step", "demo_staff", "drive", "fill_demo",
           "relative_matter", "without_password"]

DEMO_ROLES = ("reporter", "coordinator", "intake", "caseworker", "decider", "partner", "auditor", "admin", "system")
SIG_RECIPIENTS = ["police", "school", "social_services"]


@dataclass(frozen=True)
class Step:
    """One thing staff do on the way to a state: fire a trigger (with its assessment), record a consent,
    communicate the material before an adverse decision (`communicate` names it), propose an intervention
    (`propose` names its kind), take a step of one (`intervention`: its kind and the step) or set a flag on the
    case (`flag`: its code; `cases.flags.set_flag`)."""

    role: str
    trigger: str | None = None
    payload: dict | None = None
    consent: tuple[str, str] | None = None  # (given_by, purpose)
    days_later: int = 0
    assessment: Assessment | None = None
    communicate: str | None = None
    propose: str | None = None
    intervention: tuple[str, str] | None = None  # (kind, step) of the case's intervention of that kind
    flag: str | None = None  # a flag of policies/flags.toml set on the case


def _consent(given_by: str, purpose: str, days: int = 0) -> Step:
    return Step("caseworker", consent=(given_by, purpose), days_later=days)


def _fire(role: str, trigger: str, days: int = 0, *, assessment: Assessment | None = None, **payload) -> Step:
    return Step(role, trigger, payload, days_later=days, assessment=assessment)


def _propose(kind: str, days: int = 0, **extra) -> Step:
    return Step("caseworker", propose=kind, payload=extra, days_later=days)


def _step(role: str, kind: str, step: str, days: int = 0, **payload) -> Step:
    return Step(role, intervention=(kind, step), payload=payload, days_later=days)


_PRE = [_fire("intake", "start_pre_assessment", 1)]
_CHILD_PRE = [
    _fire("intake", "assess_protection"),
    _fire("intake", "start_pre_assessment", protection_assessment="Ingen akut fara. Skolan och familjen informerade.",
          assessment=Assessment("Demo: hemsituationen och skolan.", "no_protection_needed",
                                child_view="Demo: barnet känner sig tryggt hemma.")),
]
_OPEN = [_consent("subject", "investigation", 2),
         _fire("decider", "open_investigation", 3, reason="Behov av utredning.", legal_basis="sol_11_1")]
_CHILD_OPEN = [_fire("decider", "open_investigation", 5, reason="Utredning inleds.", legal_basis="sol_11_1",
                     assessment=Assessment("Demo: oron och barnets behov.", not_heard_reason="not_reached"))]
_SIG = [_consent("subject", "sig", 5), _propose("sig", recipients=SIG_RECIPIENTS),
        _step("decider", "sig", "decide", 1, reason="Behov av stöd från social insatsgrupp."),
        _step("caseworker", "sig", "start", 1)]
# The action plan's route (issue 18): a 17-year-old in SIG and exit support at once, both on the consent of the
# guardians and of the young person (rules.toml: from 15 their own consent too).
_BOTH = [*(_consent(giver, kind, 1) for kind in ("sig", "exit_support") for giver in ("guardians", "subject")),
         _propose("sig", 1, recipients=SIG_RECIPIENTS), _propose("exit_support"),
         _step("decider", "sig", "decide", 1, reason="Behov av stöd från social insatsgrupp."),
         _step("decider", "exit_support", "decide", reason="Vill lämna miljön; avhopparverksamheten kan stödja."),
         _step("caseworker", "sig", "start", 1), _step("caseworker", "exit_support", "start")]

# Paths from registration to each state; "child" paths need a child, the others an adult.
PATHS: dict[str, tuple[bool, list[Step]]] = {
    "registered": (False, []),
    "protection_assessment": (True, [_fire("intake", "assess_protection")]),
    "pre_assessment": (False, _PRE),
    "investigation": (False, _PRE + _OPEN),
    "interventions": (True, _CHILD_PRE + _CHILD_OPEN + _BOTH),
    "follow_up": (False, _PRE + _OPEN + _SIG + [
        _step("caseworker", "sig", "end", 90, end_reason="completed", reason="Målen uppnådda.")]),
    "closed": (True, [
        *_CHILD_PRE,
        *_CHILD_OPEN,
        Step("caseworker", communicate="close_case", days_later=40),
        _fire("decider", "close_case", 20, reason="Inget behov.", outcome="no_need"),
    ]),
    "erased": (False, [
        *_PRE,
        _fire("decider", "close_without_investigation", 5, reason="Ej aktuellt.", outcome="not_opened"),
        _fire("system", "erase", 366 * 5 + 30),
    ]),
}
# The one flagged demo case: the first case of this state takes this path (a child's) instead of the state's own.
_FLAG_REASON = "Demo: eleven berättar om kontroll och hot från familjen inför en resa."
FLAGGED: tuple[str, list[Step]] = ("investigation", [
    *_CHILD_PRE, Step("intake", flag="honour_violence", payload={"reason": _FLAG_REASON}), *_CHILD_OPEN])
AGES = {"interventions": (17, 120)}  # whole years, and at most this many days more (17 on every step)

_CONSENT_SCOPE = {
    "investigation": (["social_services"], ["identity", "concern"]),
    "sig": (SIG_RECIPIENTS, ["identity", "concern", "assessment"]),
    "exit_support": (["exit_service"], ["identity", "concern", "assessment"]),
    "family_support": (["family_support_service"], ["contact"]),
    "other_support": (["social_services"], ["identity", "concern"]),
}


def demo_staff(db: Database) -> dict[str, Actor]:
    """One demo account per role (created once; reused when the demo runs again)."""
    with db.read() as session:
        existing = {s.role: Actor(s.id, s.role) for s in session.scalars(
            select(Staff).where(Staff.username.like("demo-%")))}
    for role in DEMO_ROLES:
        if role not in existing:
            unit = "police" if role == "partner" else "demo"
            username = f"demo-{role}"
            email = None if role == SYSTEM_ROLE else f"{username}@example.org"  # the system account is never mailed
            existing[role] = add_staff(db, username, f"Demo {role}", role, unit=unit, email=email)
    return existing


def drive(db: Database, staff: dict[str, Actor], ref: str, steps: list[Step], start: datetime) -> datetime:
    """Take case `ref` through `steps`, starting at `start`; returns the moment of the last step."""
    now, assigned = start, False
    interventions: dict[str, str] = {}  # the case's intervention of each kind, by the id proposing gave it
    for step in steps:
        now += timedelta(days=step.days_later, minutes=7)
        actor = staff[step.role]
        if step.role == "caseworker" and not assigned:
            assign_case(db, staff["decider"], ref, actor.id, now=now)  # caseworkers work on their own cases
            assigned = True
        if step.consent:
            given_by, purpose = step.consent
            recipients, data = _CONSENT_SCOPE[purpose]
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
        elif step.propose:
            extra = step.payload or {}
            interventions[step.propose] = propose_intervention(db, actor, ref, InterventionForm(
                kind=step.propose, goal="Demo: stöd att bryta med miljön och komma tillbaka till skolan.",
                recipients=tuple(extra.get("recipients", ())), origin=extra.get("origin")), now=now).id
        elif step.intervention:
            kind, trigger = step.intervention
            fire_intervention(db, actor, interventions[kind], trigger, step.payload or {}, now=now)
        elif step.flag:
            set_flag(db, actor, ref, step.flag, (step.payload or {})["reason"], now=now)
        else:
            if step.trigger is None:  # a step fires a trigger, records a consent or communicates
                raise ValueError(f"a demo step of {step.role} does nothing")
            fire_trigger(db, actor, ref, step.trigger, step.payload or {}, now=now, assessment=step.assessment)
    return now


def fill_demo(
    db: Database, *, per_state: int = 2, seed: int = 2026, now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[str]:
    """Create `per_state` generated cases in every state (the first in `FLAGGED`'s state a flagged child's), and a
    relative's own matter opened from one with an intervention running; returns their refs (the relative's matter
    last)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not security
    now = now or datetime.now(UTC)
    staff = demo_staff(db)
    refs: list[str] = []
    running: list[tuple[str, datetime]] = []  # the cases with an intervention running, and their last step
    total = per_state * len(PATHS)
    for state, (usual_child, usual_steps) in PATHS.items():
        for n in range(per_state):
            child, steps = (True, FLAGGED[1]) if state == FLAGGED[0] and n == 0 else (usual_child, usual_steps)
            span = sum(s.days_later for s in steps) + 30
            start = now - timedelta(days=span + rng.randint(0, 20), hours=rng.randint(0, 8))
            age_years = rng.randint(12, 16) if child else rng.randint(19, 24)
            years, spare = AGES.get(state, (age_years, 300))
            born = start.date() - timedelta(days=365 * years + rng.randint(0, spare))
            number = generate_identity_number(born, rng.randint(1, 999))
            fired = register_concern(db, staff["reporter"], ConcernForm(
                concern="Demo: eleven har visat ett förändrat beteende och behöver stöd.",
                reporter_org=rng.choice(["school", "leisure", "social_services"]),
                identity_number=number, given_name=f"Demo {chr(65 + len(refs) % 26)}", family_name="Testsson",
            ), now=start)
            last = drive(db, staff, fired.ref, steps, start)
            refs.append(fired.ref)
            if state == RELATIVES_FROM:
                running.append((fired.ref, last))
            if progress:
                progress(len(refs), total)
    if running:
        refs.append(relative_matter(db, staff, *running[0], seed=seed))
    return refs


# The demo case a relative's own matter is opened from: one with an intervention running (issue 18).
RELATIVES_FROM = "interventions"


def relative_matter(db: Database, staff: dict[str, Actor], subject_ref: str, after: datetime, *,
                    seed: int = 2026) -> str:
    """A parent told that support exists, on the subject's case `subject_ref`, who wants it: their own matter on
    the relative_support flowchart, their own consent, and support granted. Returns the matter's ref.

    Kept apart from the paths above so that the demo's interventions can change without touching it."""
    rng = random.Random(seed + 1)  # noqa: S311 - reproducible demo data, not security
    told = after + timedelta(days=1)
    born = told.date() - timedelta(days=365 * rng.randint(40, 55))
    opened = inform_relative(db, staff["caseworker"], subject_ref, RelativeForm(
        wants_support=True, relationship="parent", identity_number=generate_identity_number(born, rng.randint(1, 999)),
        given_name="Demo förälder", family_name="Testsson"), now=told)
    ref = opened.relative_ref
    if ref is None:  # the relative wanted support: a matter was opened
        raise RuntimeError("the demo's relative wants support, so a matter must be opened")
    record_consent(db, staff["caseworker"], ref, ConsentForm(
        given_by="subject", purposes=("family_support",), recipients=("family_support_service",),
        data_categories=("identity", "contact"), method="written", evidence="Skriftligt samtycke, arkiverat.",
        valid_from=told.date(), valid_until=told.date() + timedelta(days=365)), now=told + timedelta(hours=1))
    fire_trigger(db, staff["decider"], ref, "grant_support", {"reason": "Demo: föräldern behöver stöd."},
                 now=told + timedelta(days=2))
    return ref


def without_password(db: Database) -> list[str]:
    """The demo accounts (`demo-<role>`) that have no password yet, by username; never the system account,
    which signs in nowhere."""
    with db.read() as session:
        return sorted(session.scalars(select(Staff.username).where(
            Staff.username.like("demo-%"), Staff.password_hash.is_(None), Staff.role != SYSTEM_ROLE)))
