"""A case without its personal data: state, version, path, consent terms, last change and assignees.

For the forms that change a case and the picture of its path, which need no name, number or free text.
Everything here comes from columns that are never sealed (`cases.models`): the state and version, the
transition log's states and times (the log holds no personal data by design, DESIGN.md §5), the coded
terms of the consents and staff display names. So opening an outline is not a read of personal data and
leaves no access-log entry; it is still refused, as if the case were not there, to anyone without a
ground on the case (`cases.casework.grounds`): the path of a case says something about its person. Emergency access
is not a ground here: it opens a case to read it, never to act on it (`cases.casework.skeleton.require_ground`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from cases.actors import utcnow
from cases.audit.auditing import BESIDE_THE_STEPS
from cases.casework.operations import case_facts, case_key
from cases.casework.skeleton import case_read
from cases.db import Database
from cases.errors import NotPermitted
from cases.flowcharts import engine_for_version
from cases.models import Assignment, Case, Consent, Staff, TransitionLogEntry
from policies.access import ASSIGNING_ROLES
from workflow import Actor, LogEntry, Option

__all__ = ["Assignees", "CaseOutline", "ConsentTerms", "LastChange", "Stay", "assignees", "case_outline"]


@dataclass(frozen=True)
class Stay:
    """One stay of the case in a state: when it entered and when it left (None: it is there now)."""

    state: str
    entered: datetime
    left: datetime | None


@dataclass(frozen=True)
class ConsentTerms:
    """A consent's coded terms; its evidence and withdrawal reason stay sealed."""

    id: str
    given_by: str
    purposes: tuple[str, ...]
    recipients: tuple[str, ...]
    data_categories: tuple[str, ...]
    method: str
    valid_from: date
    valid_until: date | None
    status: str


@dataclass(frozen=True)
class LastChange:
    """Who last changed the case and when; `by_name` is None when the record does not say who."""

    at: datetime
    by_id: str | None
    by_name: str | None


@dataclass(frozen=True)
class CaseOutline:
    ref: str
    state: str
    version: int
    flowchart_version: str
    stays: tuple[Stay, ...]
    consents: tuple[ConsentTerms, ...]
    last_change: LastChange | None
    options: tuple[Option, ...] = ()


@dataclass(frozen=True)
class Assignees:
    """The caseworkers assigned to a case now, and every active caseworker who could be: (id, name)."""

    ref: str
    current: tuple[tuple[str, str], ...]
    available: tuple[tuple[str, str], ...]


def case_outline(
    db: Database, actor: Actor, ref: str, *, options: bool = False, now: datetime | None = None
) -> CaseOutline:
    """The outline of case `ref` for `actor`; with `options`, what they may fire now and why not the rest.

    Raises `CaseNotFound`, or `AccessDenied` for a case the actor has no ground on (the same 404 for both).
    """
    now = now or utcnow()
    with case_read(db, actor, ref) as opened:
        session, case = opened.session, opened.case
        rows = session.execute(
            select(TransitionLogEntry.seq, TransitionLogEntry.at, TransitionLogEntry.to_state,
                   TransitionLogEntry.entry, TransitionLogEntry.trigger)
            .where(TransitionLogEntry.case_ref == case.ref).order_by(TransitionLogEntry.seq)
        ).all()
        moves = [r for r in rows if r.trigger not in BESIDE_THE_STEPS]  # they leave the state as it was
        stays = tuple(Stay(to, at, moves[i + 1].at if i + 1 < len(moves) else None)
                      for i, (_, at, to, _, _) in enumerate(moves))
        consents = session.scalars(select(Consent).where(Consent.case_id == case.id)
                                   .order_by(Consent.recorded_at)).all()
        terms = tuple(ConsentTerms(c.id, c.given_by, tuple(c.purposes), tuple(c.recipients),
                                   tuple(c.data_categories), c.method, c.valid_from, c.valid_until, c.status)
                      for c in consents)
        offered: tuple[Option, ...] = ()
        if options:
            engine = engine_for_version(session, case.flowchart_version)
            facts, _ = case_facts(session, case, case_key(db, case))
            offered = engine.options(facts, actor, now)
        return CaseOutline(case.ref, case.state, case.version, case.flowchart_version, stays, terms,
                           _last_change(session, case, rows[-1].entry if rows else None, consents), offered)


def _last_change(session, case: Case, last_entry: bytes | None, consents) -> LastChange | None:
    """The latest of: the last transition, the last consent recorded, the last consent withdrawn.

    A withdrawal that moved no state leaves no record of who made it, so then nobody is named.
    """
    candidates: list[tuple[datetime, str | None]] = []
    if last_entry is not None:
        entry = LogEntry.from_canonical(last_entry)
        candidates.append((entry.at, entry.actor_id))
    for c in consents:
        candidates.append((c.recorded_at, c.recorded_by))
        if c.withdrawn_at is not None:
            candidates.append((c.withdrawn_at, None))
    if not candidates:
        return None
    at, by = max(candidates, key=lambda item: (item[0], item[1] is not None))
    staff = session.get(Staff, by) if by else None
    return LastChange(at, by, staff.display_name if staff else None)


def assignees(db: Database, actor: Actor, ref: str) -> Assignees:
    """Who works on case `ref` now and who could, for intake and decision makers with a ground on it."""
    if actor.role not in ASSIGNING_ROLES:
        raise NotPermitted("assign a case", actor.role)
    with case_read(db, actor, ref) as opened:
        session, case = opened.session, opened.case
        current = session.execute(
            select(Staff.id, Staff.display_name).join(Assignment, Assignment.staff_id == Staff.id)
            .where(Assignment.case_id == case.id, Assignment.ended_at.is_(None)).order_by(Staff.display_name)
        ).all()
        available = session.execute(
            select(Staff.id, Staff.display_name).where(Staff.role == "caseworker", Staff.active.is_(True))
            .order_by(Staff.display_name, Staff.username)
        ).all()
        return Assignees(case.ref, tuple((i, n) for i, n in current), tuple((i, n) for i, n in available))
