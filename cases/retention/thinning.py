"""Thinning (gallring): find the cases past their retention period, keep the exceptions, erase the rest.

A case is due when its flowchart lets the system erase it from its state and the retention period after its
last entry is over (`workflow.deadlines.retention_over`, the definition the `retention_over` guard uses). It is
kept, and the plan says why, when:

- a legal hold that has not been lifted is on it (`cases.retention.holds`);
- the same person (the blind index of their identity number) has another case that is neither erased nor past
  its own retention period: a person's record is thinned as a whole, after its last entry;
- the person is in the research sample (`policies/routines/retention.toml`): their birth date is opened for this
  decision only, as `cases.casework.operations.case_facts` opens it, and shown to nobody.

Erasing fires the flowchart's `erase` transition as the system (one transaction per case, the case row locked
and every exception checked again under the lock), so each erasure is a transition-log entry and destroys the
case's data key. A case that fails to erase does not stop the others: it is reported by its reference.
Relatives' own matters (`relative_support.toml`) are thinned by the same rule.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from cases.casework.operations import Fired, apply_outcome, case_facts, case_key
from cases.casework.skeleton import sweep_write
from cases.crypto.vault import CaseKey
from cases.db import Database
from cases.events import operation
from cases.flowcharts import engine_for_version
from cases.interventions.operations import SWEEPER
from cases.models import Case, Person
from cases.retention.holds import held_case_ids
from policies import Flowchart
from policies.routines.retention import Retention, load_retention
from workflow import Actor, VidoroError
from workflow.deadlines import retention_over

__all__ = ["LEGAL_HOLD", "RESEARCH_SAMPLE", "SAME_PERSON", "Listed", "Plan", "Thinned", "erase_case", "erase_due",
           "thinning_plan"]

LEGAL_HOLD, SAME_PERSON, RESEARCH_SAMPLE = "legal_hold", "same_person", "research_sample"


@dataclass(frozen=True)
class Listed:
    """A case past its retention period, as the plan lists it: no personal data, and why it is kept (or None)."""

    ref: str
    state: str
    flowchart: str
    kept_because: str | None = None


@dataclass(frozen=True)
class Plan:
    """What thinning would do now: the cases to erase and the cases kept, each by reference."""

    due: tuple[Listed, ...]
    kept: tuple[Listed, ...]

    def kept_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in self.kept:
            counts[item.kept_because or ""] = counts.get(item.kept_because or "", 0) + 1
        return counts


@dataclass(frozen=True)
class Thinned:
    """What a run did: the references erased, and those that failed with the error's code (no message)."""

    erased: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]
    skipped: tuple[str, ...] = ()  # due when planned, no longer when their turn came (a hold, a new entry)


@dataclass(frozen=True)
class _Erasing:
    triggers: Mapping[str, str]  # the state a case is in -> the trigger that erases it from there
    chart: Flowchart

    @property
    def from_states(self) -> frozenset[str]:
        return frozenset(self.triggers)


def thinning_plan(db: Database, *, now: datetime) -> Plan:
    """The cases past their retention period now, split into those to erase and those kept; writes nothing."""
    policy = load_retention()
    due: list[Listed] = []
    kept: list[Listed] = []
    with db.read() as session:
        erasing = _erasing_steps(session)
        if not erasing:
            return Plan((), ())
        states = frozenset().union(*(e.from_states for e in erasing.values()))
        youngest = min(e.chart.retention_years for e in erasing.values())
        # A coarse cut in the query (a year is at least 365 days); the exact rule is checked per case below.
        cut = now - timedelta(days=365 * youngest - 2)
        rows = session.scalars(
            select(Case).options(joinedload(Case.person, innerjoin=True))
            .where(Case.state.in_(states), Case.updated_at <= cut).order_by(Case.updated_at, Case.ref)).all()
        past = [c for c in rows if _past(erasing.get(c.flowchart_version), c, now)]
        held = held_case_ids(session)  # the holds in force: few, and no list of ids to send
        for case in past:
            reason = LEGAL_HOLD if case.id in held else _kept_because(db, session, case, policy, now)
            listed = Listed(case.ref, case.state, erasing[case.flowchart_version].chart.name, reason)
            (kept if reason else due).append(listed)
    return Plan(tuple(due), tuple(kept))


def erase_due(db: Database, *, now: datetime, plan: Plan | None = None,
              progress: Callable[[Listed], None] | None = None) -> Thinned:
    """Erase every case of `plan` (made now when not given) that is still due under its lock; never raises for
    one case: a case that fails is reported with its error's code and the others go on."""
    plan = plan if plan is not None else thinning_plan(db, now=now)
    erased: list[str] = []
    failed: list[tuple[str, str]] = []
    skipped: list[str] = []
    for item in plan.due:
        try:
            (erased if erase_case(db, item.ref, now=now) else skipped).append(item.ref)
        except VidoroError as exc:
            failed.append((item.ref, exc.code))
        except Exception as exc:  # one case's fault must not stop the night's thinning
            failed.append((item.ref, type(exc).__name__))
        if progress is not None:
            progress(item)
    return Thinned(tuple(erased), tuple(failed), tuple(skipped))


@operation("case_erased")
def erase_case(db: Database, ref: str, *, now: datetime, actor: Actor = SWEEPER) -> Fired | None:
    """Fire the erasing step on case `ref` as the system, if it is still due under the case's lock; the step as
    committed, or None when there was nothing to do (erased meanwhile, moved on, held, or kept)."""
    policy = load_retention()
    with sweep_write(db, ref) as (session, case):
        engine = engine_for_version(session, case.flowchart_version)
        step = _erasing(engine.chart)
        if step is None or not _past(step, case, now):
            return None
        if held_case_ids(session, [case.id]) or _kept_because(db, session, case, policy, now):
            return None
        key = case_key(db, case)
        facts, running = case_facts(session, case, key)
        salt = secrets.token_bytes(16)
        outcome = engine.fire(facts, actor, step.triggers[case.state], {}, now, salt=salt)
        # An erasure cut short after its key was destroyed is finished with a key nobody keeps.
        seq = apply_outcome(db, session, engine, key or CaseKey(case.id, secrets.token_bytes(32)), case, outcome,
                            now, running, salt)
        session.flush()
        return Fired(ref, case.state, case.version, seq)


def _kept_because(db: Database, session: Session, case: Case, policy: Retention, now: datetime) -> str | None:
    """Why a case past its retention period is kept nonetheless (a hold is checked by the caller), or None."""
    if _same_person_active(session, case, now):
        return SAME_PERSON
    if policy.whole_municipality or policy.in_sample(_birth_date(db, case)):
        return RESEARCH_SAMPLE
    return None


def _same_person_active(session: Session, case: Case, now: datetime) -> bool:
    """Whether the person has another case that is neither erased nor past its own retention period."""
    index = case.person.identity_index
    if index is None:
        return False
    others = session.execute(select(Case.state, Case.updated_at, Case.flowchart_version).join(Person)
                             .where(Person.identity_index == index, Case.id != case.id)).all()
    for state, updated_at, version in others:
        chart = engine_for_version(session, version).chart
        if not chart.states[state].erases and not retention_over(chart, updated_at, now):
            return True
    return False


def _birth_date(db: Database, case: Case) -> date | None:
    """The person's day of birth, opened for this decision only; None when estimated or the key is gone."""
    if case.person.age_approximate:
        return None  # estimated from an approximate age: no day of birth is known
    key = case_key(db, case)
    if key is None:
        return None
    return date.fromisoformat(key.open("persons", case.person.id, "birth_date", case.person.birth_date))


def _past(erasing: _Erasing | None, case: Case, now: datetime) -> bool:
    return erasing is not None and case.state in erasing.from_states and retention_over(
        erasing.chart, case.updated_at, now)


def _erasing_steps(session: Session) -> dict[str, _Erasing]:
    """For each flowchart version cases run on, the step that erases and the states it leaves from."""
    versions: Iterable[str] = session.scalars(select(Case.flowchart_version).distinct())
    steps = {}
    for version in versions:
        step = _erasing(engine_for_version(session, version).chart)
        if step is not None:
            steps[version] = step
    return steps


def _erasing(chart: Flowchart) -> _Erasing | None:
    """The system's steps into a state that erases, by the state each leaves from (None: the chart has none)."""
    steps = {t.source: t.trigger for t in chart.transitions
             if chart.states[t.dest].erases and SWEEPER.role in t.roles}
    return _Erasing(steps, chart) if steps else None
