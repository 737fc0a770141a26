"""The work list: the cases a member of staff works on, nearest deadline first, without opening any record.

Only what the list shows is read — pseudonym, state, when the concern arrived, the acute-danger flag and
the running deadline due first (kept on the case by every transition, indexed) — so listing decrypts
nothing, logs no read and costs the same with 100,000 cases as with 100. Who sees which case follows the same
grounds as reading (`cases.grounds`): intake the cases in intake, caseworkers their assigned cases, the
decision maker every case that is not erased.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import NamedTuple

from sqlalchemy import Select, bindparam, func, select

from cases.actors import ACTS_AS, require_staff_row
from cases.db import Database, HotRead
from cases.errors import NotPermitted
from cases.grounds import listed_clause
from cases.models import NO_DEADLINE, Case
from cases.types import UTCDateTime
from workflow import Actor

__all__ = ["MAX_PAGE", "PER_PAGE", "WorkItem", "WorkList", "work_list"]

PER_PAGE = 50
# The last page anyone may ask for: pages past it are clamped to it (the API refuses them), so the offset stays a
# number both databases take (page 10**30 was a 500: too large for SQLite's and PostgreSQL's integers).
MAX_PAGE = 100_000
SOON_DAYS = 3


class WorkItem(NamedTuple):  # a tuple, not a frozen dataclass: a page builds fifty of them per view
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
    page: int
    has_next: bool  # no total: counting 100,000 cases on every view costs more than the page itself


def work_list(db: Database, actor: Actor, *, today: date, state: str | None = None, due_by: date | None = None,
              page: int = 1, per_page: int = PER_PAGE) -> WorkList:
    """A page of the actor's cases, the nearest running deadline first, overdue ones marked; `due_by` keeps
    the cases whose first running deadline falls on or before that day (overdue ones included). `page` is
    clamped to 1..MAX_PAGE."""
    if actor.role not in ("intake", "caseworker", "decider"):
        raise NotPermitted("see a work list", actor.role)
    page = min(max(1, page), MAX_PAGE)
    params = {"staff_id": actor.id, "staff_role": actor.role, "limit": per_page + 1, "offset": (page - 1) * per_page}
    if state:
        params["state"] = state
    if due_by is not None:
        params["due_by"] = min(due_by, date.fromordinal(NO_DEADLINE.toordinal() - 1))
    shape = (actor.role, bool(state), due_by is not None)

    def read(connection):
        if db.is_sqlite:
            found = _sqlite_rows(_page_in_one_row(*shape).first(connection, params)[0])
        else:
            found = _page(*shape).rows(connection, params)
        if not found:  # the page carries the staff check (ACTS_AS); an empty one asks apart who is asking
            require_staff_row(connection, actor)
        return found

    rows = db.read_rows(read)
    soon = date.fromordinal(today.toordinal() + SOON_DAYS)
    items = tuple(
        WorkItem(ref, in_state, received_at, acute, deadline, None if due_on == NO_DEADLINE else due_on,
                 due_on < today, today <= due_on <= soon)
        for ref, in_state, received_at, acute, deadline, due_on in rows[:per_page])
    return WorkList(items, page, has_next=len(rows) > per_page)


@cache
def _page_query(role: str, by_state: bool, by_due: bool) -> Select:
    """The page's statement, built once per shape (the values are bound): nearest running deadline first,
    only for an active member of staff in the role asked for."""
    query = _visible(select(Case.ref, Case.state, Case.received_at, Case.acute_danger, Case.next_deadline,
                            Case.next_due_on).where(ACTS_AS), role)
    if by_state:
        query = query.where(Case.state == bindparam("state"))
    if by_due:
        query = query.where(Case.next_due_on <= bindparam("due_by"))
    return (query.order_by(Case.next_due_on, Case.received_at, Case.ref)
            .limit(bindparam("limit")).offset(bindparam("offset")))


@cache
def _page(role: str, by_state: bool, by_due: bool) -> HotRead:
    return HotRead(_page_query(role, by_state, by_due))


@cache
def _page_in_one_row(role: str, by_state: bool, by_due: bool) -> HotRead:
    """SQLite: the page as one JSON array in one row. Python's sqlite3 lets go of the GIL for every row it
    fetches; under a threaded server another thread takes it each time, a context switch per row (four
    threads spent 296 µs of CPU on the 51 rows where one thread spends 63; as one row, 144: bench/README.md)."""
    page = _page_query(role, by_state, by_due).subquery()
    return HotRead(select(func.json_group_array(func.json_array(*page.c))))


def _sqlite_rows(document: str) -> list[tuple]:
    """The rows of `_page_in_one_row`, as the page query gives them: SQLite's own text for the times and
    dates, the ordering restored from it (the same comparison of the same text as the query's ORDER BY;
    SQLite does not promise to keep it inside an aggregate)."""
    rows = json.loads(document)
    rows.sort(key=lambda row: (row[5], row[2], row[0]))  # next_due_on, received_at, ref
    return [(ref, state, _as_utc(datetime.fromisoformat(received), None), bool(acute), deadline,
             date.fromisoformat(due)) for ref, state, received, acute, deadline, due in rows]


_as_utc = UTCDateTime().process_result_value  # what the column type makes of a stored time


def _visible(query: Select, role: str) -> Select:
    """The cases on the work list of `role`: those it has a ground on (`cases.grounds`), for `staff_id`."""
    return query.where(listed_clause(role, bindparam("staff_id")))
