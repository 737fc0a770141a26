"""Reading a case's interventions: their codes, states and dates for anyone with a ground on the case, and an
intervention's goal (personal text) as a logged read (the access log names the intervention, never the text).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from cases.actors import utcnow
from cases.audit import log
from cases.casework.grounds import read_ground
from cases.casework.operations import case_facts, case_key
from cases.casework.skeleton import case_read, case_write
from cases.db import Database
from cases.errors import AccessDenied, CaseNotFound, InterventionNotFound
from cases.flowcharts import engine_for_version
from cases.interventions.steps import facts_of
from cases.models import Case, Consent, Intervention
from workflow import AccessEntry, Actor, CaseFacts
from workflow.deadlines import local_date
from workflow.interventions import covering_rule

__all__ = ["GOAL_FIELD", "InterventionView", "intervention", "intervention_goal", "interventions_of"]

GOAL_FIELD = "intervention_goal"  # the field named in the access log when a goal is read


@dataclass(frozen=True)
class InterventionView:
    """An intervention as staff with a ground on its case see it: codes, states, dates; no sealed text."""

    id: str
    case_ref: str
    kind: str
    state: str
    version: int
    origin: str | None
    recipients: tuple[str, ...]
    data_categories: tuple[str, ...]
    proposed_at: datetime
    proposed_by: str
    decided_at: datetime | None
    decision_id: str | None
    started_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    covering_consent_ids: tuple[str, ...]  # the consents in force that cover it now


def interventions_of(db: Database, actor: Actor, ref: str, *, now: datetime | None = None
                     ) -> tuple[InterventionView, ...]:
    """The interventions of case `ref`, in the order they were proposed; refused without a ground on the case."""
    now = now or utcnow()
    with case_read(db, actor, ref) as opened:
        session, case = opened.session, opened.case
        rows = session.scalars(select(Intervention).where(Intervention.case_id == case.id)
                               .order_by(Intervention.proposed_at, Intervention.id)).all()
        if not rows:
            return ()
        consents = session.scalars(select(Consent).where(Consent.case_id == case.id)).all()
        facts, _ = case_facts(session, case, case_key(db, case))
        return tuple(_view(session, case, facts, consents, row, now) for row in rows)


def intervention(db: Database, actor: Actor, intervention_id: str, *, now: datetime | None = None
                 ) -> InterventionView:
    """One intervention; an unknown id and one on a case without a ground are refused alike."""
    now = now or utcnow()
    ref = _ref_of(db, intervention_id)
    try:
        with case_read(db, actor, ref) as opened:
            session, case = opened.session, opened.case
            row = session.get(Intervention, intervention_id)
            if row is None or row.case_id != case.id:
                raise InterventionNotFound(intervention_id)
            consents = session.scalars(select(Consent).where(Consent.case_id == case.id)).all()
            facts, _ = case_facts(session, case, case_key(db, case))
            return _view(session, case, facts, consents, row, now)
    except (AccessDenied, CaseNotFound):
        raise InterventionNotFound(intervention_id) from None


def intervention_goal(db: Database, actor: Actor, intervention_id: str, *, now: datetime | None = None) -> str:
    """What the intervention is to achieve, opened for `actor`: the read is an entry of the access log."""
    now = now or utcnow()
    ref = _ref_of(db, intervention_id)
    try:
        with case_write(db, actor, ref, now=now, lock=False) as opened:
            session, case = opened.session, opened.case
            row = session.get(Intervention, intervention_id)
            if row is None or row.case_id != case.id:
                raise InterventionNotFound(intervention_id)
            key = case_key(db, case)
            if key is None:
                raise InterventionNotFound(intervention_id)  # erased: nothing can be read any more
            ground = read_ground(session, actor, case)
            if ground is None:  # the skeleton's ground, checked again here: deny by default
                raise AccessDenied(case.ref, emergency_possible=False)
            log.append(session, AccessEntry(at=now, case_ref=case.ref, actor_id=actor.id, role=actor.role,
                                            action="read", ground=ground, fields=(GOAL_FIELD,),
                                            codes={"intervention": row.id}))
            return key.open("interventions", row.id, "goal", row.goal)
    except (AccessDenied, CaseNotFound):
        raise InterventionNotFound(intervention_id) from None


def _ref_of(db: Database, intervention_id: str) -> str:
    with db.read() as session:
        ref = session.scalar(select(Case.ref).join(Intervention, Intervention.case_id == Case.id)
                             .where(Intervention.id == str(intervention_id)[:36]))
    if ref is None:
        raise InterventionNotFound(str(intervention_id))
    return ref


def _view(session, case: Case, facts: CaseFacts, consents, row: Intervention, now: datetime) -> InterventionView:
    chart = engine_for_version(session, case.flowchart_version).chart
    lifecycle = chart.interventions
    covering: tuple[str, ...] = ()
    if lifecycle is not None and facts.birth_date is not None and not lifecycle.ended(row.state):
        iv = facts_of(row)
        rule = covering_rule(lifecycle.kinds[iv.kind], iv.recipients, iv.data_categories)
        today = local_date(now, chart.timezone)
        covering = tuple(sorted(
            c.id for c in consents
            if c.status == "given" and c.valid_from <= today and (c.valid_until is None or today <= c.valid_until)
            and rule.purpose in c.purposes and set(rule.recipients) <= set(c.recipients)
            and set(rule.data_categories) <= set(c.data_categories)))
    return InterventionView(
        id=row.id, case_ref=case.ref, kind=row.kind, state=row.state, version=row.version, origin=row.origin,
        recipients=tuple(row.recipients), data_categories=tuple(row.data_categories), proposed_at=row.proposed_at,
        proposed_by=row.proposed_by, decided_at=row.decided_at, decision_id=row.decision_id,
        started_at=row.started_at, ended_at=row.ended_at, end_reason=row.end_reason,
        covering_consent_ids=covering)
