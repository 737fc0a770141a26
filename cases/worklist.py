"""The work list: the cases a member of staff works on, nearest deadline first, without opening any record.

Only what the list shows is read — pseudonym, state, when the concern arrived, the acute-danger flag and
the running deadlines — so listing decrypts nothing and logs no read. Who sees which case follows the same
grounds as reading (`cases.grounds`): intake the cases in intake, caseworkers their assigned cases, the
decision maker every case that is not erased.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from cases.db import Database
from cases.errors import NotPermitted
from cases.grounds import INTAKE_STATES
from cases.models import Assignment, Case, Deadline
from cases.operations import require_staff
from workflow import Actor

__all__ = ["PER_PAGE", "WorkItem", "WorkList", "work_list"]

PER_PAGE = 50
SOON_DAYS = 3


@dataclass(frozen=True)
class WorkItem:
    ref: str
    state: str
    received_at: datetime
    acute_danger: bool
    deadline: str | None  # the running deadline due first
    due_on: date | None
    overdue: bool
    soon: bool  # due within SOON_DAYS


@dataclass(frozen=True)
class WorkList:
    items: tuple[WorkItem, ...]
    total: int
    page: int
    pages: int


def work_list(db: Database, actor: Actor, *, today: date, state: str | None = None, page: int = 1,
              per_page: int = PER_PAGE) -> WorkList:
    """A page of the actor's cases, the nearest running deadline first, overdue ones marked."""
    if actor.role not in ("intake", "caseworker", "decider"):
        raise NotPermitted("see a work list", actor.role)
    page = max(1, page)
    with db.read() as session:
        require_staff(session, actor)
        due = (select(Deadline.case_id, func.min(Deadline.due_on).label("due_on"))
               .where(Deadline.stopped_at.is_(None)).group_by(Deadline.case_id).subquery())
        query = _visible(select(Case.id, Case.ref, Case.state, Case.received_at, Case.acute_danger, due.c.due_on)
                         .outerjoin(due, due.c.case_id == Case.id), actor)
        if state:
            query = query.where(Case.state == state)
        total = session.scalar(select(func.count()).select_from(query.with_only_columns(Case.id).subquery()))
        rows = session.execute(query.order_by(due.c.due_on.is_(None), due.c.due_on, Case.received_at, Case.ref)
                               .limit(per_page).offset((page - 1) * per_page)).all()
        names = _first_deadlines(session, [row.id for row in rows])
    items = tuple(
        WorkItem(row.ref, row.state, row.received_at, row.acute_danger, names.get(row.id), row.due_on,
                 overdue=row.due_on is not None and row.due_on < today,
                 soon=row.due_on is not None and today <= row.due_on <= date.fromordinal(today.toordinal() + SOON_DAYS))
        for row in rows)
    return WorkList(items, total, page, max(1, -(-total // per_page)))


def _visible(query: Select, actor: Actor) -> Select:
    if actor.role == "intake":
        return query.where(Case.state.in_(INTAKE_STATES))
    if actor.role == "caseworker":
        assigned = select(Assignment.case_id).where(Assignment.staff_id == actor.id, Assignment.ended_at.is_(None))
        return query.where(Case.id.in_(assigned))
    return query.where(Case.state != "erased")


def _first_deadlines(session: Session, case_ids: list[str]) -> dict[str, str]:
    if not case_ids:
        return {}
    rows = session.execute(select(Deadline.case_id, Deadline.name, Deadline.due_on)
                           .where(Deadline.case_id.in_(case_ids), Deadline.stopped_at.is_(None))
                           .order_by(Deadline.due_on.desc()))
    return {case_id: name for case_id, name, _ in rows}  # the last written per case is the earliest due
