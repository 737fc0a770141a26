"""Thinning (gallring): find the cases past their retention period, keep the exceptions, erase the rest.

A case is due when its flowchart lets the system erase it from its state and the retention period after its
last entry is over (`workflow.deadlines.retention_over`, the definition the `retention_over` guard uses). Its
last entry is the later of its own last change and its newest journal note (written, edited, signed, or written
as a correction: notes never touch the case row), computed in one place (`last_entry_at` and the query beside
it) for the plan, the re-check under the lock and the guard. It is kept, and the plan says why, when:

- a legal hold that has not been lifted is on it (`cases.retention.holds`);
- the same person (the blind index of their identity number) has another case that is kept: not erased and not
  due (still open, not past its own retention period, or under a hold). A person's record is thinned as a
  whole, after its last entry, so one case kept keeps them all;
- the person is in the research sample (`policies/routines/retention.toml`): their birth date is opened for this
  decision only, as `cases.casework.operations.case_facts` opens it, and shown to nobody. The sample is per
  person, so it keeps all their cases.

Erasing fires the flowchart's `erase` transition as the system (one transaction per case, the case row locked
and every exception checked again under the lock), so each erasure is a transition-log entry and destroys the
case's data key. A case that fails to erase does not stop the others: it is reported by its reference.
Relatives' own matters (`relative_support.toml`) are thinned by the same rule.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, Subquery, func, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session, joinedload

from cases.casework.operations import Fired, apply_outcome, case_facts, case_key
from cases.casework.skeleton import sweep_write
from cases.crypto.vault import CaseKey
from cases.db import Database
from cases.events import operation
from cases.flowcharts import engine_for_version
from cases.interventions.operations import SWEEPER
from cases.models import Case, JournalNote, Person
from cases.retention.holds import held_case_ids
from policies import Flowchart
from policies.routines.retention import Retention, load_retention
from workflow import Actor, VidoroError
from workflow.deadlines import retention_over

__all__ = ["LEGAL_HOLD", "RESEARCH_SAMPLE", "SAME_PERSON", "Listed", "Plan", "Thinned", "erase_case", "erase_due",
           "last_entry_at", "thinning_plan"]

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
        notes = _newest_notes()
        last = _last_entry(notes)
        rows = session.execute(
            select(Case, last).options(joinedload(Case.person, innerjoin=True))
            .outerjoin(notes, notes.c.case_id == Case.id)
            .where(Case.state.in_(states), last <= cut).order_by(last, Case.ref)).all()
        past = [case for case, at in rows if _past(erasing.get(case.flowchart_version), case.state, at, now)]
        held = held_case_ids(session)  # the holds in force: few, and no list of ids to send
        indexes = sorted({c.person.identity_index for c in past if c.person.identity_index is not None})
        kept_persons = _persons_kept(session, indexes, held, now)
        for case in past:
            reason = _kept_because(db, case, policy, held, kept_persons)
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
        last = last_entry_at(session, case)
        if step is None or not _past(step, case.state, last, now):
            return None
        held = held_case_ids(session)  # the holds in force on any case of the person, as the plan takes them
        index = case.person.identity_index
        if _kept_because(db, case, policy, held, _persons_kept(session, [index] if index else [], held, now)):
            return None
        key = case_key(db, case)
        facts, running = case_facts(session, case, key)
        # The guard judges the period from the same last entry as the plan: the journal's notes count.
        facts = replace(facts, last_entry_at=last)
        salt = secrets.token_bytes(16)
        outcome = engine.fire(facts, actor, step.triggers[case.state], {}, now, salt=salt)
        # An erasure cut short after its key was destroyed is finished with a key nobody keeps.
        seq = apply_outcome(db, session, engine, key or CaseKey(case.id, secrets.token_bytes(32)), case, outcome,
                            now, running, salt)
        session.flush()
        return Fired(ref, case.state, case.version, seq)


# --- the last entry in a case's file: the one definition the plan, the lock's re-check and the guard use -------


def _newest_notes(*where: ColumnElement[bool]) -> Subquery:
    """Per case, when its newest journal note was written, edited, signed or written as a correction (a note's
    `updated_at` moves with each of those, and a signed note never changes again). Notes do not touch the case
    row (`cases.journal.notes`), yet each is an entry in the person's record."""
    return (select(JournalNote.case_id, func.max(JournalNote.updated_at).label("at"))
            .where(*where).group_by(JournalNote.case_id).subquery("newest_notes"))


def _last_entry(notes: Subquery) -> ColumnElement[datetime]:
    """The case's last entry: its own last change or its newest note, whichever is later (`notes` outer-joined)."""
    return sql_case((notes.c.at > Case.updated_at, notes.c.at), else_=Case.updated_at)


def last_entry_at(session: Session, case: Case) -> datetime:
    """When the last entry in case `case`'s file was made, from which its retention period runs."""
    notes = _newest_notes(JournalNote.case_id == case.id)
    at = session.scalar(select(_last_entry(notes)).select_from(Case).outerjoin(notes, notes.c.case_id == Case.id)
                        .where(Case.id == case.id))
    return at if at is not None else case.updated_at


def _kept_because(db: Database, case: Case, policy: Retention, held: frozenset[str],
                  kept_persons: frozenset[str]) -> str | None:
    """Why a case past its retention period is kept nonetheless, or None: its own hold, the person's other case
    that is kept, or the person in the research sample."""
    if case.id in held:
        return LEGAL_HOLD
    if case.person.identity_index is not None and case.person.identity_index in kept_persons:
        return SAME_PERSON
    if policy.whole_municipality or policy.in_sample(_birth_date(db, case)):
        return RESEARCH_SAMPLE
    return None


def _persons_kept(session: Session, indexes: Sequence[str], held: frozenset[str], now: datetime
                  ) -> frozenset[str]:
    """Of the persons (blind indexes) `indexes`, those with a case that is kept: neither erased nor due (still
    open, not past its retention period, or under a hold). A person's record is thinned as a whole, so such a
    case keeps all the person's cases. (The research sample is per person: it keeps them all by itself.)"""
    kept: set[str] = set()
    steps: dict[str, _Erasing | None] = {}
    for start in range(0, len(indexes), _CHUNK):
        chunk = list(indexes[start:start + _CHUNK])
        ids = select(Case.id).join(Person).where(Person.identity_index.in_(chunk))
        notes = _newest_notes(JournalNote.case_id.in_(ids))
        rows = session.execute(
            select(Person.identity_index, Case.id, Case.state, Case.flowchart_version, _last_entry(notes))
            .select_from(Case).join(Person).outerjoin(notes, notes.c.case_id == Case.id)
            .where(Person.identity_index.in_(chunk))).all()
        for index, case_id, state, version, last in rows:
            if index is None or index in kept:
                continue
            chart = engine_for_version(session, version).chart
            if chart.states[state].erases:
                continue
            if version not in steps:
                steps[version] = _erasing(chart)
            if case_id in held or not _past(steps[version], state, last, now):
                kept.add(index)
    return frozenset(kept)


_CHUNK = 500  # blind indexes per query: a bound on the statement's parameters


def _birth_date(db: Database, case: Case) -> date | None:
    """The person's day of birth, opened for this decision only; None when estimated or the key is gone."""
    if case.person.age_approximate:
        return None  # estimated from an approximate age: no day of birth is known
    key = case_key(db, case)
    if key is None:
        return None
    return date.fromisoformat(key.open("persons", case.person.id, "birth_date", case.person.birth_date))


def _past(erasing: _Erasing | None, state: str, last_entry: datetime, now: datetime) -> bool:
    return erasing is not None and state in erasing.from_states and retention_over(erasing.chart, last_entry, now)

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
