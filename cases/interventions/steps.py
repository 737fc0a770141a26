"""What every operation on an intervention writes, written once: the step's row changes, its log entry and sealed
form, its referral packet, the case following its interventions, and the end of those no consent covers.

Each runs inside the caller's transaction, with the case row already locked (`cases.casework.skeleton`).
"""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.audit import log
from cases.casework.decisions import record_decision
from cases.casework.operations import apply_outcome, case_facts
from cases.crypto.vault import CaseKey
from cases.db import Database
from cases.models import Case, CaseEvent, Intervention, ReferralPacket
from cases.notifications import notify_packet
from workflow import Actor, CaseFacts, Engine, InterventionFacts, Outcome, Step, machine_for
from workflow.deadlines import local_date
from workflow.interventions import InterventionMachine, coverage_refusals, covering_rule

__all__ = ["SOCIAL_SERVICES", "apply_step", "close_packets", "end_lapsed", "facts_of", "follow_case", "log_step"]

EXPIRED = "consent_expired"  # the end reason of an intervention whose consent lapsed (the vocabulary end_reasons)
SOCIAL_SERVICES = "social_services"  # sharing within social services needs no packet to a partner


def facts_of(row: Intervention) -> InterventionFacts:
    return InterventionFacts(id=row.id, kind=row.kind, state=row.state, recipients=frozenset(row.recipients),
                             data_categories=frozenset(row.data_categories))


def log_step(session: Session, key: CaseKey, case: Case, step: Step, salt: bytes) -> int:
    """The step's entry in the transition log, and its form sealed beside it with the salt of its hash."""
    session.flush()  # the case row first: its lock is taken before the log's, always in that order
    row = log.append(session, step.entry)
    session.flush()
    fields = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in step.payload.items()}
    body = {"salt": base64.b64encode(salt).decode(), "fields": fields}
    session.add(CaseEvent(seq=row.seq, case_id=case.id, payload=key.seal_json("case_events", str(row.seq),
                                                                               "payload", body)))
    session.flush()
    return row.seq


def apply_step(session: Session, machine: InterventionMachine, key: CaseKey, case: Case, row: Intervention,
               step: Step, salt: bytes, now: datetime) -> int:
    """Write `step` on `row`: its state and times, its decision record, its packet; returns its log position."""
    lifecycle = machine.lifecycle
    was_running = row.state == lifecycle.running
    row.state = step.state
    if step.decision:
        row.decided_by, row.decided_at = step.entry.actor_id, now
    if step.state == lifecycle.running and not was_running:
        row.started_at = now
    if lifecycle.ended(step.state):
        row.ended_at, row.end_reason = now, step.end_reason
        note = step.payload.get("reason")
        if isinstance(note, str) and note:
            row.end_note = key.seal("interventions", row.id, "end_note", note)
    session.flush()
    seq = log_step(session, key, case, step, salt)
    if step.decision:  # the decision record, in this transaction: never one without the other
        outcome = Outcome(state=case.state, starts={}, stops=(), entry=step.entry, payload=step.payload)
        decision = record_decision(session, key, case, outcome, seq, now)
        if decision is not None:
            row.decision_id = decision.id
    if step.state == lifecycle.running and not was_running:
        _open_packet(session, machine, case, row, seq, now)
    if was_running and step.state != lifecycle.running:
        close_packets(session, row, now)
    session.flush()
    return seq


def _open_packet(session: Session, machine: InterventionMachine, case: Case, row: Intervention, seq: int,
                 now: datetime) -> None:
    """What a running intervention shares outside social services: one packet, readable while it runs."""
    rule = covering_rule(machine.lifecycle.kinds[row.kind], frozenset(row.recipients), frozenset(row.data_categories))
    recipients = sorted(set(rule.recipients) - {SOCIAL_SERVICES})
    if not recipients:
        return
    packet = ReferralPacket(id=str(uuid.uuid4()), case_id=case.id, transition_seq=seq, purpose=rule.purpose,
                            recipients=recipients, data_categories=sorted(rule.data_categories), created_at=now,
                            intervention_id=row.id)
    session.add(packet)
    session.flush()
    notify_packet(session, packet, case.ref, now)  # the partner's unit is told in this transaction


def close_packets(session: Session, row: Intervention, now: datetime) -> None:
    for packet in session.scalars(select(ReferralPacket).where(ReferralPacket.intervention_id == row.id,
                                                               ReferralPacket.closed_at.is_(None))):
        packet.closed_at = now


def follow_case(db: Database, session: Session, engine: Engine, key: CaseKey, case: Case, actor: Actor,
                now: datetime) -> int | None:
    """The case follows its interventions: into `interventions` when one runs, to follow-up when none does.

    The step is the flowchart's own (`begin`/`end` of `[interventions]`), fired as an automatic step in this
    transaction, so its roles and guards decide: a case that may not begin interventions from where it is
    refuses the whole operation."""
    lifecycle = engine.chart.interventions
    if lifecycle is None:
        return None
    facts, running = case_facts(session, case, key)
    into = next(t.dest for t in engine.chart.transitions if t.trigger == lifecycle.begin)
    if facts.interventions_running and case.state != into:
        trigger = lifecycle.begin
    elif not facts.interventions_running and case.state == into:
        trigger = lifecycle.end
    else:
        return None
    salt = secrets.token_bytes(16)
    outcome = engine.fire(facts, actor, trigger, {}, now, salt=salt, automatic=True)
    return apply_outcome(db, session, engine, key, case, outcome, now, running, salt)


def end_lapsed(db: Database, session: Session, engine: Engine, key: CaseKey, case: Case, actor: Actor,
               now: datetime, *, end_reason: str, before: CaseFacts | None = None) -> tuple[str, ...]:
    """End the interventions of `case` that no consent in force covers any more; the ids ended.

    Every running one no consent covers ends. With `before` (the case as it was before a consent was withdrawn),
    so do the proposed and decided ones that consent covered: a withdrawal ends exactly what it covered.
    """
    lifecycle = engine.chart.interventions
    if lifecycle is None:
        return ()
    machine = machine_for(engine.chart)
    today = local_date(now, engine.chart.timezone)
    rows = session.scalars(select(Intervention).where(Intervention.case_id == case.id)
                           .order_by(Intervention.proposed_at, Intervention.id)).all()
    ended = []
    for row in rows:
        if lifecycle.ended(row.state):
            continue
        facts, _ = case_facts(session, case, key)
        iv = facts_of(row)
        if not coverage_refusals(lifecycle, facts, iv, today):
            continue
        covered_before = before is not None and not coverage_refusals(lifecycle, before, iv, today)
        if row.state != lifecycle.running and not covered_before:
            continue
        salt = secrets.token_bytes(16)
        # what a withdrawal did not cover had lapsed already (the expiry sweep had not come by): say so
        reason = end_reason if before is None or covered_before else EXPIRED
        step = machine.fire(facts, iv, actor, "consent_ended", {"end_reason": reason}, now, salt=salt,
                            automatic=True)
        apply_step(session, machine, key, case, row, step, salt, now)
        ended.append(row.id)
    if ended:
        follow_case(db, session, engine, key, case, actor, now)
    return tuple(ended)
