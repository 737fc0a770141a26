"""The operations on interventions (flowchart version 3 on): propose one, take a step on one, end those whose
consent lapsed. Each is one transaction opened as every case operation is (`cases.casework.skeleton`: who acts,
the idempotency key, the locked case, the ground); an intervention's own version is the optimistic check of a
step on it, the case's version that of a proposal.

Starting the first intervention moves the case to `interventions` and ending the last moves it to follow-up, in
the same transaction (`cases.interventions.steps.follow_case`).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from cases.actors import utcnow
from cases.casework.decisions import require_delegation
from cases.casework.operations import bump, case_facts, case_key, touch
from cases.casework.skeleton import Opened, case_write, sweep_write
from cases.crypto.vault import CaseKey
from cases.db import Database
from cases.errors import AccessDenied, CaseNotFound, InterventionNotFound, InvalidConcern, StaleIntervention
from cases.events import operation
from cases.flowcharts import engine_for_version
from cases.interventions.steps import EXPIRED, apply_step, end_lapsed, facts_of, follow_case, log_step
from cases.models import Case, Intervention
from cases.text import check_text, text_fault
from policies.access import SYSTEM_ROLE
from workflow import Actor, Engine, InterventionFacts, Option, Refusal, machine_for
from workflow.errors import InvalidInput
from workflow.fields import MAX_TEXT
from workflow.interventions import InterventionMachine

if TYPE_CHECKING:
    from cases.casework.idempotency import Claim

__all__ = ["SWEEPER", "InterventionFired", "InterventionForm", "expire_consents", "fire_intervention",
           "intervention_options", "propose_intervention"]

SWEEPER = Actor(id="system", role=SYSTEM_ROLE)  # the scheduled sweep's actor in the log (no account signs in)


@dataclass(frozen=True)
class InterventionForm:
    """A proposed intervention: its kind, what it is to achieve (personal text, sealed), whom it shares with beyond
    its kind's recipients, which data beyond its kind's, and the referral it came on (a code), if any."""

    kind: str
    goal: str
    recipients: tuple[str, ...] = ()
    data_categories: tuple[str, ...] = ()
    origin: str | None = None

    def __repr__(self) -> str:  # the goal is personal data: never print it
        return f"InterventionForm(kind={self.kind!r}, recipients={self.recipients!r}, origin={self.origin!r})"


@dataclass(frozen=True)
class InterventionFired:
    """What a committed step left behind: the intervention's state and version, the case's, and the log position."""

    id: str
    state: str
    version: int
    case_state: str
    case_version: int
    seq: int
    warnings: tuple[Refusal, ...] = ()


@operation("intervention_proposed")
def propose_intervention(db: Database, actor: Actor, ref: str, form: InterventionForm, *,
                         expected_version: int | None = None, now: datetime | None = None,
                         claim: Claim | None = None) -> InterventionFired:
    """Propose an intervention on case `ref`; `expected_version` is the case's."""
    now = now or utcnow()
    _check_codes(form)
    goal = check_text("goal", (form.goal or "").strip()) if isinstance(form.goal, str) else ""
    if not goal or len(goal) > MAX_TEXT:
        raise InvalidConcern("goal", "say what the intervention is to achieve", "ange vad insatsen ska uppnå")
    with case_write(db, actor, ref, now=now, claim=claim, expected_version=expected_version) as opened:
        session, case = opened.session, opened.case
        machine = _machines(session, case)[1]
        key = _key(db, case)
        facts, _ = case_facts(session, case, key)
        iv = InterventionFacts(id=str(uuid.uuid4()), kind=form.kind, state=machine.lifecycle.initial,
                               recipients=frozenset(form.recipients), data_categories=frozenset(form.data_categories))
        salt = secrets.token_bytes(16)
        step = machine.propose(facts, actor, iv, form.origin, now, salt=salt, sealed={"goal": goal})
        row = Intervention(id=iv.id, case_id=case.id, kind=iv.kind, state=step.state, origin=form.origin,
                           recipients=sorted(iv.recipients), data_categories=sorted(iv.data_categories),
                           goal=key.seal("interventions", iv.id, "goal", goal), proposed_by=actor.id,
                           proposed_at=now)
        session.add(row)
        bump(session, case, now)
        seq = log_step(session, key, case, step, salt)
        session.flush()
        return opened.settled(InterventionFired(iv.id, row.state, row.version, case.state, case.version, seq))


@operation("intervention_step")
def fire_intervention(db: Database, actor: Actor, intervention_id: str, trigger: str, payload: Mapping[str, Any], *,
                      expected_version: int | None = None, now: datetime | None = None,
                      claim: Claim | None = None) -> InterventionFired:
    """Take step `trigger` on an intervention, or raise without writing anything; `expected_version` is the
    intervention's. A decision step needs the delegation for its kind (`policies/decisions.toml`)."""
    now = now or utcnow()
    _refuse_unstorable_text(intervention_id, trigger, payload)
    with _intervention_write(db, actor, intervention_id, now=now, claim=claim) as (opened, row):
        session, case = opened.session, opened.case
        if expected_version is not None and expected_version != row.version:
            raise StaleIntervention(case.ref, row.id, expected_version, row.version)
        engine, machine = _machines(session, case)
        key = _key(db, case)
        facts, _ = case_facts(session, case, key)
        salt = secrets.token_bytes(16)
        step = machine.fire(facts, facts_of(row), actor, trigger, payload, now, salt=salt)
        if step.decision:
            require_delegation(actor.role, step.entry.trigger)
        touch(case, now)
        seq = apply_step(session, machine, key, case, row, step, salt, now)
        follow_case(db, session, engine, key, case, actor, now)
        session.flush()
        return opened.settled(InterventionFired(row.id, row.state, row.version, case.state, case.version, seq,
                                                step.warnings))


def intervention_options(db: Database, actor: Actor, intervention_id: str, *,
                         now: datetime | None = None) -> tuple[Option, ...]:
    """The steps `actor` may take on the intervention now, and for each refused one, why."""
    now = now or utcnow()
    with _intervention_write(db, actor, intervention_id, now=now, claim=None, lock=False) as (opened, row):
        _, machine = _machines(opened.session, opened.case)
        facts, _ = case_facts(opened.session, opened.case, case_key(db, opened.case))
        return machine.options(facts, facts_of(row), actor, now)


@operation("consents_expired")
def expire_consents(db: Database, *, now: datetime | None = None, actor: Actor = SWEEPER) -> int:
    """The system's sweep: end every running intervention no consent in force covers any more (a consent's
    `valid_until` passed, or a child who turned 18 has not consented themself); returns how many ended.

    One transaction per case, so one case's conflict does not hold up the others; the job runner schedules it.
    """
    now = now or utcnow()
    with db.read() as session:
        refs = session.scalars(select(Case.ref).join(Intervention, Intervention.case_id == Case.id)
                               .where(Intervention.started_at.is_not(None), Intervention.ended_at.is_(None))
                               .distinct()).all()
    ended = 0
    for ref in refs:
        with sweep_write(db, ref) as (session, case):
            engine = engine_for_version(session, case.flowchart_version)
            key = case_key(db, case)
            if key is None or engine.chart.interventions is None:
                continue
            done = end_lapsed(db, session, engine, key, case, actor, now, end_reason=EXPIRED)
            if done:
                touch(case, now)
            ended += len(done)
    return ended


# --- internals ------------------------------------------------------------------------------------------------


@contextmanager
def _intervention_write(db: Database, actor: Actor, intervention_id: str, *, now: datetime, claim: Claim | None,
                        lock: bool = True) -> Iterator[tuple[Opened, Intervention]]:
    """`case_write` on the intervention's case, and the intervention; an unknown id and an intervention on a case
    without a ground are refused alike (`InterventionNotFound`)."""
    with db.read() as session:
        ref = session.scalar(select(Case.ref).join(Intervention, Intervention.case_id == Case.id)
                             .where(Intervention.id == str(intervention_id)[:36]))
    if ref is None:
        raise InterventionNotFound(str(intervention_id))
    try:
        with case_write(db, actor, ref, now=now, claim=claim, lock=lock) as opened:
            row = opened.session.get(Intervention, intervention_id)
            if row is None or row.case_id != opened.case.id:
                raise InterventionNotFound(intervention_id)
            yield opened, row
    except (AccessDenied, CaseNotFound):  # a conflict on commit is `case_write`'s `StaleCase`
        raise InterventionNotFound(intervention_id) from None


def _check_codes(form: InterventionForm) -> None:
    """Codes are names (the flowchart's vocabularies decide which): anything else is refused before it is looked up."""
    for name, values in (("kind", [form.kind]), ("recipients", form.recipients),
                         ("data_categories", form.data_categories),
                         ("origin", [] if form.origin is None else [form.origin])):
        if not isinstance(values, list | tuple) or not all(isinstance(v, str) and 0 < len(v) <= 64 for v in values):
            raise InvalidConcern(name, "choose values from the list", "välj värden i listan")


def _machines(session: Any, case: Case) -> tuple[Engine, InterventionMachine]:
    engine = engine_for_version(session, case.flowchart_version)
    if engine.chart.interventions is None:  # versions 1 and 2 keep their interventions as states of the case
        raise InvalidConcern("case", "this case runs on a flowchart version without interventions of their own",
                             "ärendet följer en version av flödet utan egna insatser")
    return engine, machine_for(engine.chart)


def _key(db: Database, case: Case) -> CaseKey:
    key = case_key(db, case)
    if key is None:
        raise InvalidConcern("case", "the case has been erased; nothing more can be recorded on it",
                             "ärendet är gallrat; inget mer kan registreras i det")
    return key


def _refuse_unstorable_text(intervention_id: str, trigger: str, payload: Mapping[str, Any]) -> None:
    faulty = [Refusal("invalid_field", {"field": str(name)[:64], "problem": "unstorable_text"})
              for name, value in payload.items() if isinstance(value, str) and text_fault(value) is not None]
    if faulty:
        raise InvalidInput(str(intervention_id)[:36], f"intervention_{str(trigger)[:40]}", faulty)

