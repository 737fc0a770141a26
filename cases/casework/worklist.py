"""The work list: the cases a member of staff works on, nearest deadline first, without opening any record.

Only what the list shows is read — pseudonym, state, when the concern arrived, the acute-danger flag and
the running deadline due first (kept on the case by every transition, indexed) — so listing decrypts
nothing, logs no read and costs the same with 100,000 cases as with 100. Who sees which case follows the same
grounds as reading (`cases.casework.grounds`): intake the cases in intake, caseworkers their assigned cases, the
decision maker every case that is not erased.

Pages follow a cursor, not a number: the list is ordered by (next due, arrival, ref), which is unique, and a
cursor carries the key of the row a page starts after (or ends before). The next page is then a seek in the
index that has that order (`ix_cases_next_due`, `ix_cases_state_next_due`), so page 2,000 costs what page 1
does; an offset would read and skip every row before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, bindparam, exists, literal, select, tuple_

from cases import cursors
from cases.actors import ACTS_AS, require_staff_row
from cases.casework.grounds import listed_clause
from cases.cursors import MAX_CURSOR
from cases.db import Database
from cases.deadlines.marks import reminder_due
from cases.errors import BadCursor, NotPermitted
from cases.flowcharts import every_state, known_charts
from cases.models import NO_DEADLINE, Case, CaseFlag
from policies import Label
from policies.access import CASE_READING_ROLES
from workflow import Actor

__all__ = ["MAX_CURSOR", "PER_PAGE", "PageKey", "WorkItem", "WorkList", "decode_cursor", "encode_cursor",
           "filter_states", "work_list"]

PER_PAGE = 50
SOON_DAYS = 3
_ORDER = (Case.next_due_on, Case.received_at, Case.ref)  # unique (ref is): every row has its own place
# Whether a flag is on the case (`cases.flags`), for the page's rows only: one index probe a row listed.
_FLAGGED = exists().where(CaseFlag.case_id == Case.id, CaseFlag.cleared_at.is_(None)).label("flagged")


class WorkItem(NamedTuple):
    ref: str
    state: str
    received_at: datetime
    acute_danger: bool
    deadline: str | None  # the running deadline due first
    due_on: date | None
    overdue: bool
    soon: bool  # its reminder has come (cases.deadlines.reminder_due), or, without a lead time, due within SOON_DAYS
    flowchart_version: str = ""  # which flowchart the case runs on: a relative's matter is shown as one
    flagged: bool = False  # a flag is on the case (cases.flags): marked, never named, on the list


class PageKey(NamedTuple):
    """A row's place in the work list's order."""

    due_on: date
    received_at: datetime
    ref: str


@dataclass(frozen=True)
class WorkList:
    items: tuple[WorkItem, ...]
    has_next: bool  # no total: counting 100,000 cases on every view costs more than the page itself
    has_previous: bool
    next_cursor: str | None  # the cursor of the page after this one, if there is one
    previous_cursor: str | None


def encode_cursor(key: PageKey, *, backwards: bool = False) -> str:
    """An opaque cursor (`cases.cursors`): the page after `key` (or, `backwards`, the page before it). It
    carries a case's ref (a pseudonym) and times, never personal data."""
    return cursors.pack(["b" if backwards else "a", key.due_on.isoformat(),
                         key.received_at.astimezone(UTC).isoformat(), key.ref])


def decode_cursor(cursor: str) -> tuple[PageKey, bool]:
    """The key and direction (True: backwards) of a cursor from `encode_cursor`; `BadCursor` for any other."""
    direction, due_on, received_at, ref = cursors.unpack(cursor, 4)
    try:
        if direction not in ("a", "b") or not isinstance(ref, str) or not ref:
            raise BadCursor
        received = datetime.fromisoformat(received_at)
        if received.tzinfo is None:
            raise BadCursor
        return PageKey(date.fromisoformat(due_on), received.astimezone(UTC), ref), direction == "b"
    except (ValueError, TypeError) as exc:
        raise BadCursor from exc


def _soon(deadline: str | None, due_on: date, today: date, soon: date) -> bool:
    """Marked "due soon": from the day its reminder goes (working days, policies/routines/reminders.toml), else within
    SOON_DAYS."""
    due = reminder_due(deadline, due_on, today)
    return today <= due_on <= soon if due is None else due


def work_list(db: Database, actor: Actor, *, today: date, state: str | None = None, due_by: date | None = None,
              cursor: str | None = None, per_page: int = PER_PAGE) -> WorkList:
    """A page of the actor's cases, the nearest running deadline first, overdue ones marked; `due_by` keeps
    the cases whose first running deadline falls on or before that day (overdue ones included). `cursor`
    (from a page's `next_cursor` or `previous_cursor`) picks the page; none is the first. A cursor this
    system did not make is refused (`BadCursor`)."""
    if actor.role not in CASE_READING_ROLES:  # the roles with a ground on some case (policies.access)
        raise NotPermitted("see a work list", actor.role)
    key, backwards = decode_cursor(cursor) if cursor is not None else (None, False)
    query = _visible(select(Case.ref, Case.state, Case.received_at, Case.acute_danger, Case.next_deadline,
                            Case.next_due_on, Case.flowchart_version, _FLAGGED).where(ACTS_AS), actor.role)
    if state:
        query = query.where(Case.state == state)
    if due_by is not None:
        query = query.where(Case.next_due_on <= min(due_by, date.fromordinal(NO_DEADLINE.toordinal() - 1)))
    if key is not None:
        query = query.where(_seek(key, backwards))
    order = [column.desc() for column in _ORDER] if backwards else list(_ORDER)
    query = query.order_by(*order).limit(per_page + 1)
    params: dict[str, Any] = {"staff_id": actor.id, "staff_role": actor.role}
    with db.read() as session:
        rows = session.execute(query, params).all()
        if not rows:  # the page carries the staff check (ACTS_AS); an empty one asks apart who is asking
            require_staff_row(session.connection(), actor)
    more = len(rows) > per_page
    page = list(reversed(rows[:per_page])) if backwards else rows[:per_page]
    soon = date.fromordinal(today.toordinal() + SOON_DAYS)
    items = tuple(
        WorkItem(ref, in_state, received_at, acute, deadline, None if due_on == NO_DEADLINE else due_on,
                 due_on < today, _soon(deadline, due_on, today, soon), version, bool(flagged))
        for ref, in_state, received_at, acute, deadline, due_on, version, flagged in page)
    # Read forwards from a cursor, there is a page before (the cursor's own row); read backwards, one after.
    has_next = more if not backwards else key is not None
    has_previous = more if backwards else key is not None
    next_cursor = encode_cursor(_key(items[-1])) if has_next and items else None
    previous_cursor = encode_cursor(_key(items[0]), backwards=True) if has_previous and items else None
    return WorkList(items, has_next=next_cursor is not None, has_previous=previous_cursor is not None,
                    next_cursor=next_cursor, previous_cursor=previous_cursor)


def _key(item: WorkItem) -> PageKey:
    return PageKey(NO_DEADLINE if item.due_on is None else item.due_on, item.received_at, item.ref)


def _seek(key: PageKey, backwards: bool) -> ColumnElement[bool]:
    """The rows after `key` in the list's order (before it, `backwards`): one row comparison, which both
    databases take as where the index scan starts (written out as ORs, or with a bound on the first column
    beside it, SQLite seeks by the first column alone and reads on through every case due that day)."""
    values = tuple_(*(literal(value, column.type) for column, value in zip(_ORDER, key, strict=True)))
    return tuple_(*_ORDER) < values if backwards else tuple_(*_ORDER) > values


def _visible(query: Select, role: str) -> Select:
    """The cases on the work list of `role`: those it has a ground on (`cases.casework.grounds`), for `staff_id`."""
    return query.where(listed_clause(role, bindparam("staff_id")))


def filter_states(db: Database) -> tuple[dict[str, Label], dict[str, Label]]:
    """The states the list can be filtered by and the deadlines it names, with their labels: those of the current
    flowcharts and of every version stored (cases started on an older one, version 2's `sig` say, keep it and
    must be found), each labelled from the newest version that has it. Policy words only, no case data."""
    with db.read() as session:
        charts = known_charts(session)
    deadlines: dict[str, Label] = {}
    for chart in charts:
        for name, deadline in chart.deadlines.items():
            deadlines.setdefault(name, deadline.label)
    return {name: state.label for name, state in every_state(charts).items()}, deadlines
