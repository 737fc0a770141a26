"""Complete the identity of a person registered without one: the number, the real birth date, the links.

A concern can be registered with only a name and an approximate age (`cases.casework.forms`); the birth date
is then an estimate and the person's age marked approximate. Once the identity number is known, this
operation sets it (validated: a personnummer or samordningsnummer), its blind index and the real birth date,
in one transaction on the case's current version, and links the case to the same person's other cases as
registration does, returning their pseudonyms ("the same person's other cases are found once it is").

Child or adult is decided again by the engine at every step, on the day of the step. What changes at once is
the deadlines that run now (docs/sources.md):

- the person is an adult today: a child's deadlines that run (protection assessment, pre-assessment,
  investigation) stop now, as they would at the next step (`workflow.engine`, grown out of);
- the person is a child today: the child's deadlines that registration starts, counted from the receipt, start
  now where they never ran and a step still ahead on the case's path would stop them (a case that went the
  adult's way does not go back: `now_child` tells the page to say that the protection assessment is due).

The log entry is beside the steps (`COMPLETE_IDENTITY`; the case stays in its state) and holds codes only:
the kind of number and the age group today, never the number or the birth date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.actors import utcnow
from cases.audit import log
from cases.casework.grounds import read_ground
from cases.casework.operations import bump, case_key, log_beside
from cases.casework.skeleton import case_write
from cases.crypto.identity import ACCEPTED_KINDS, parse_identity_number
from cases.db import Database
from cases.errors import InvalidConcern, InvalidIdentityNumber, NotPermitted
from cases.events import operation
from cases.flowcharts import engine_for_version
from cases.models import NO_DEADLINE, Case, CaseLink, Deadline, Person, TransitionLogEntry
from policies import Flowchart
from policies.access import IDENTITY_ROLES
from policies.rules import COMPLETE_IDENTITY
from workflow import AccessEntry, Actor
from workflow.deadlines import due_on, local_date
from workflow.facts import age_on
from workflow.guards import rules

if TYPE_CHECKING:
    from cases.casework.idempotency import Claim

__all__ = ["IdentityCompleted", "complete_identity"]


@dataclass(frozen=True)
class IdentityCompleted:
    """The completed identity as committed: the case (its state unchanged), its new version, the log entry,
    the same person's other cases now linked, and what changed in the running deadlines."""

    ref: str
    state: str
    version: int
    seq: int
    linked: tuple[str, ...] = ()
    shown: tuple[str, ...] = ()  # those of `linked` the actor has a ground on: the only ones a page may name
    stopped: tuple[str, ...] = ()
    started: tuple[str, ...] = ()
    now_child: bool = False  # a child today whose case was taken for an adult's


@operation("identity_completed")
def complete_identity(db: Database, actor: Actor, ref: str, identity_number: str, *,
                      expected_version: int | None = None, now: datetime | None = None,
                      claim: Claim | None = None) -> IdentityCompleted:
    """Set the identity number, the real birth date and the blind index of the person of case `ref`, and link
    the case to the same person's other cases; or raise without writing anything.

    Refused: a role other than intake, caseworker and decision maker (`NotPermitted`), no ground on the case
    (`AccessDenied`), a version other than the current (`StaleCase`), a number that is not a personnummer or
    samordningsnummer (`InvalidIdentityNumber`), a person whose number is already known or an erased case
    (`InvalidConcern`).
    """
    now = now or utcnow()
    if actor.role not in IDENTITY_ROLES:
        raise NotPermitted("complete the identity of a person", actor.role)
    parsed = parse_identity_number(identity_number or "")
    if parsed.kind not in ACCEPTED_KINDS:
        raise InvalidIdentityNumber("interim numbers are not accepted; give a personnummer or samordningsnummer",
                                    "interimsnummer godtas inte; ange personnummer eller samordningsnummer")
    with case_write(db, actor, ref, now=now, claim=claim, expected_version=expected_version) as opened:
        session, case = opened.session, opened.case
        person, key = case.person, case_key(db, case)
        if key is None:
            raise InvalidConcern("case", "the case has been erased; nothing more can be recorded on it",
                                 "ärendet är gallrat; inget mer kan registreras i det")
        if person.identity_number is not None:
            raise InvalidConcern("identity_number", "the identity number of this person is already known",
                                 "personens id-nummer är redan känt")
        engine = engine_for_version(session, case.flowchart_version)
        chart = engine.chart
        index = db.vault.blind_index(parsed.normalised)
        today = local_date(now, chart.timezone)
        child = age_on(parsed.birth_date, today) < rules().adult_age
        codes = {"identity_kind": parsed.kind, "age_group": rules().age_group(age_on(parsed.birth_date, today)),
                 "age_was": "approximate" if person.age_approximate else "birth_date"}

        person.identity_number = key.seal("persons", person.id, "identity_number", parsed.normalised)
        person.birth_date = key.seal("persons", person.id, "birth_date", parsed.birth_date.isoformat())
        person.identity_index, person.identity_kind, person.age_approximate = index, parsed.kind, False
        stopped, started = _deadlines(session, chart, case, child, now)
        linked = _link(session, chart, case, index, now)
        bump(session, case, now)  # the case row first: its lock is taken before the logs', always in that order
        shown = _shown(session, actor, linked)
        if shown:  # naming them tells that they are about this person: a read, as `cases.links` logs it
            log.append(session, AccessEntry(at=now, case_ref=case.ref, actor_id=actor.id, role=actor.role,
                                            action="read", ground=_ground(session, actor, case),
                                            fields=("case_links",)))

        seq = log_beside(session, key, case, actor, COMPLETE_IDENTITY, codes, {}, now)
        now_child = child and "protection_assessment" not in started and _went_the_adults_way(session, case)
        return opened.settled(IdentityCompleted(case.ref, case.state, case.version, seq, linked, shown,
                                                stopped, started, now_child))


def _deadlines(session: Session, chart: Flowchart, case: Case, child: bool,
               now: datetime) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Stop a child's deadlines for an adult; start registration's child deadlines for a child where they
    never ran and a step still ahead would stop them. Keeps the case's first deadline up to date."""
    rows = session.scalars(select(Deadline).where(Deadline.case_id == case.id)).all()
    running: dict[str, date] = {d.name: d.due_on for d in rows if d.stopped_at is None}
    stopped: list[str] = []
    started: list[str] = []
    if not child:
        for row in rows:
            if row.stopped_at is None and chart.deadlines.get(row.name) and \
                    chart.deadlines[row.name].applies_to == "child":
                row.stopped_at = now
                stopped.append(row.name)
    else:
        ever = {d.name for d in rows}
        ahead = _stopped_ahead(chart, case.state)
        for name in chart.initial_starts:
            deadline = chart.deadlines[name]
            if deadline.applies_to != "child" or name in ever or name not in ahead:
                continue
            due = due_on(deadline, received_at=case.received_at, fired_at=now, timezone=chart.timezone, payload={})
            session.add(Deadline(case_id=case.id, name=name, started_at=now, due_on=due))
            running[name] = due
            started.append(name)
    still = {n: due for n, due in running.items() if n not in stopped}
    first = min(still.items(), key=lambda item: (item[1], item[0]), default=None)
    nearest, due = first if first is not None else (None, NO_DEADLINE)
    if (case.next_deadline, case.next_due_on) != (nearest, due):
        case.next_deadline, case.next_due_on = nearest, due
    return tuple(sorted(stopped)), tuple(sorted(started))


def _stopped_ahead(chart: Flowchart, state: str) -> set[str]:
    """The deadlines some step reachable from `state` stops: those a case in `state` can still meet."""
    seen, todo, stops = {state}, [state], set[str]()
    while todo:
        here = todo.pop()
        for t in chart.transitions:
            if t.source == here:
                stops.update(t.stops)
                if t.dest not in seen:
                    seen.add(t.dest)
                    todo.append(t.dest)
    return stops


def _went_the_adults_way(session: Session, case: Case) -> bool:
    """Whether the case left registration without a protection assessment (it was taken for an adult's)."""
    states = set(session.scalars(select(TransitionLogEntry.to_state).where(TransitionLogEntry.case_ref == case.ref)))
    return "protection_assessment" not in states and states != {case.state}


def _shown(session: Session, actor: Actor, refs: tuple[str, ...]) -> tuple[str, ...]:
    """The cases of `refs` that `actor` may read on a ground of their own (deny by default, as `cases.links`)."""
    cases = {c.ref: c for c in session.scalars(select(Case).where(Case.ref.in_(refs)))} if refs else {}
    return tuple(ref for ref in refs if read_ground(session, actor, cases[ref]) is not None)


def _ground(session: Session, actor: Actor, case: Case) -> str:
    """The ground the skeleton found for `actor` on `case` (it refused the operation without one)."""
    return read_ground(session, actor, case) or "none"


def _link(session: Session, chart: Flowchart, case: Case, index: str, now: datetime) -> tuple[str, ...]:
    """Link the case to the same person's other cases (not erased), as registration does: the earlier one of
    each pair is `earlier_case_id`. Returns their pseudonyms, earliest first."""
    done = [name for name, state in chart.states.items() if state.terminal]
    others = session.execute(
        select(Case.id, Case.ref, Case.received_at).join(Person, Person.id == Case.person_id)
        .where(Person.identity_index == index, Case.id != case.id, Case.state.not_in(done))
        .order_by(Case.received_at, Case.ref)).all()
    existing = {(row.case_id, row.earlier_case_id) for row in session.execute(
        select(CaseLink.case_id, CaseLink.earlier_case_id).where(
            (CaseLink.case_id == case.id) | (CaseLink.earlier_case_id == case.id)))}
    for other_id, _ref, received_at in others:
        pair = (case.id, other_id) if received_at <= case.received_at else (other_id, case.id)
        if pair not in existing and pair[::-1] not in existing:
            session.add(CaseLink(case_id=pair[0], earlier_case_id=pair[1], created_at=now))
    return tuple(ref for _id, ref, _at in others)
