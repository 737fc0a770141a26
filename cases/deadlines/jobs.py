"""The deadline job: reminders before statutory deadlines, escalation when they pass, alerts on acute concerns.

`run_deadline_jobs` is a scheduled job (the job runner calls it): each kind is one query a batch, through an
index, that leaves out what has been told already (`DeadlineNotice`); each batch is one transaction that claims
its notices (a second claim of the same does nothing, on two servers at once too) and notifies in the same
transaction, so a crash tells nobody and loses nothing. Who hears what is policy (`policies/routines/reminders.toml`).
Counts only in what it returns; no personal data is read.
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import Select, String, and_, cast, exists, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cases.db import Database
from cases.deadlines.marks import swedish_calendar
from cases.flowcharts import current_engine
from cases.models import Assignment, Case, Deadline, DeadlineNotice, Staff, TransitionLogEntry
from policies.limits import ARRIVAL_MAX_AGE
from policies.routines.reminders import Reminders, load_reminders
from workflow.deadlines import local_date
from workflow.working_days.arithmetic import HolidayCalendar, latest_due_reminded

__all__ = ["ACUTE", "PASSED", "REMINDER", "Notify", "run_deadline_jobs"]

BATCH = 500  # notices claimed per transaction
_MAX_BATCHES = 20_000  # a bound on one run (10 million notices), not a rule: each batch claims all it reads
# The notices' kinds (`DeadlineNotice.kind`) and the notification kinds they are told as
# (policies/routines/notifications.toml).
REMINDER, PASSED, ACUTE = "reminder", "passed", "acute"
_NOTIFICATION_KINDS = {REMINDER: "deadline_reminder", PASSED: "deadline_passed", ACUTE: "acute_concern"}


class Notify(Protocol):
    """`cases.notifications.notify`: one notification per recipient and key, in the caller's transaction."""

    def __call__(self, session: Session, *, recipients: Iterable[str], kind: str, key: str, now: datetime,
                 case_ref: str | None = None) -> int: ...


def run_deadline_jobs(database: Database, *, now: datetime, notify: Notify | None = None,
                      calendar: HolidayCalendar | None = None, policy: Reminders | None = None) -> str:
    """Remind, escalate and alert what is due at `now` (aware), once each; a one-line summary of counts."""
    if now.tzinfo is None:
        raise ValueError("the deadline job runs on a timezone-aware `now`")
    notify = notify or _notifications()
    calendar = calendar or swedish_calendar()
    policy = policy or load_reminders()
    chart = current_engine().chart
    today = local_date(now, chart.timezone)
    # A closed or erased case is nobody's work: a deadline left running on one (closing stops them) tells nobody.
    ended = tuple(sorted(name for name, state in chart.states.items() if state.closing or state.terminal))
    with database.read() as session:
        staff = _staff_by_role(session, {*policy.unassigned, *policy.escalation, *policy.acute})
    job = _Job(database, notify, now)

    def holders(session: Session, rows: Sequence[Any]) -> Mapping[str, Sequence[str]]:
        return _holders(session, rows, policy, staff)

    def by_roles(roles: Iterable[str]) -> Callable[[Session, Sequence[Any]], Mapping[str, Sequence[str]]]:
        everyone = sorted({member for role in roles for member in staff.get(role, ())})
        return lambda _session, rows: {row.subject: everyone for row in rows}

    reminded = job.run(REMINDER, _reminders_due(today, calendar, policy, ended), holders)
    passed = job.run(PASSED, _passed(today, ended), by_roles(policy.escalation))
    acute = job.run(ACUTE, _acute(now, policy), by_roles(policy.acute))
    untold = f"; {job.untold} with nobody to tell, left for a later run" if job.untold else ""
    return (f"{_count(reminded, 'reminder')}, {_count(passed, 'escalation')}, {_count(acute, 'acute alert')}"
            f" ({_count(job.notifications, 'notification')}){untold}")


class _Job:
    def __init__(self, database: Database, notify: Notify, now: datetime) -> None:
        self.database, self.notify, self.now = database, notify, now
        self.notifications = self.untold = 0

    def run(self, kind: str, query: Select,
            recipients: Callable[[Session, Sequence[Any]], Mapping[str, Sequence[str]]]) -> int:
        """Claim and tell what `query` finds, a batch a transaction, until it finds nothing new.

        Only what has someone to tell is claimed: a notice with nobody to hear it (no active staff in any role
        it may go to) stays unclaimed, to be told by a later run once there is someone; this run passes over it."""
        told = 0
        nobody: set[str] = set()  # found with nobody to tell: read again by each later batch, and passed over
        for _ in range(_MAX_BATCHES):
            with self.database.write() as session:
                rows = session.execute(query.limit(BATCH + len(nobody))).all()
                fresh = [row for row in rows if row.subject not in nobody]
                who = recipients(session, fresh) if fresh else {}
                nobody.update(row.subject for row in fresh if not who.get(row.subject))
                claimed = _claim(session, self.database.is_sqlite, kind,
                                 [row.subject for row in fresh if row.subject not in nobody], self.now)
                mine = [row for row in fresh if row.subject in claimed]  # another server may have claimed the rest
                for row in mine:
                    self.notifications += self.notify(
                        session, recipients=who[row.subject], kind=_NOTIFICATION_KINDS[kind],
                        key=f"{_KEY_PREFIX[kind]}:{row.subject}:{kind}", now=self.now, case_ref=row.ref)
                told += len(mine)
            if len(fresh) < BATCH:
                break
        self.untold += len(nobody)
        return told


_KEY_PREFIX = {REMINDER: "deadline", PASSED: "deadline", ACUTE: "case"}


def _not_told(kind: str, subject: Any) -> Any:
    return ~exists().where(DeadlineNotice.kind == kind, DeadlineNotice.subject == subject)


def _deadlines(kind: str, ended: Sequence[str]) -> Select:
    subject = cast(Deadline.id, String)
    return (select(subject.label("subject"), Deadline.case_id, Case.ref, Case.state)
            .join(Case, Case.id == Deadline.case_id)
            .where(Deadline.stopped_at.is_(None), Case.state.not_in(ended), _not_told(kind, subject))
            .order_by(Deadline.due_on, Deadline.id))


def _reminders_due(today: date, calendar: HolidayCalendar, policy: Reminders, ended: Sequence[str]) -> Select:
    """The running deadlines not yet due (due today or later) whose reminder day has come."""
    windows = [and_(Deadline.name == name, Deadline.due_on <= latest_due_reminded(today, lead, calendar))
               for name, lead in sorted(policy.remind_before.items())]
    query = _deadlines(REMINDER, ended).where(Deadline.due_on >= today)
    return query.where(or_(*windows)) if windows else query.where(Deadline.id.is_(None))


def _passed(today: date, ended: Sequence[str]) -> Select:
    """The deadlines whose due day is over while they still run."""
    return _deadlines(PASSED, ended).where(Deadline.due_on < today)


def _acute(now: datetime, policy: Reminders) -> Select:
    """The concerns marked as acute danger registered within the policy's window and not yet alerted.

    The window runs from the registration (the case's first entry in the transition log), not the arrival:
    intake may record an arrival up to ARRIVAL_MAX_AGE earlier, and such a concern is news when it is registered.
    The arrival bounds the scan of the index all the same, since it is never further back than that."""
    since = now - policy.acute_within
    registered = exists().where(TransitionLogEntry.case_ref == Case.ref, TransitionLogEntry.from_state.is_(None),
                                TransitionLogEntry.at >= since, TransitionLogEntry.at <= now)
    return (select(Case.id.label("subject"), Case.ref)
            .where(Case.acute_danger.is_(True), Case.received_at >= since - ARRIVAL_MAX_AGE,
                   Case.received_at <= now, registered, _not_told(ACUTE, Case.id))
            .order_by(Case.received_at, Case.id))


def _claim(session: Session, is_sqlite: bool, kind: str, subjects: Sequence[str], now: datetime) -> set[str]:
    """Insert a notice for each of `subjects` that has none; the subjects this transaction claimed.

    One statement; on PostgreSQL a concurrent claim of the same notice waits for the other transaction and then
    does nothing, so exactly one of two servers tells."""
    if not subjects:
        return set()
    insert = (sqlite if is_sqlite else postgresql).insert(DeadlineNotice)
    statement = (insert.values([{"kind": kind, "subject": subject, "made_at": now} for subject in subjects])
                 .on_conflict_do_nothing(index_elements=[DeadlineNotice.kind, DeadlineNotice.subject])
                 .returning(DeadlineNotice.subject))
    return set(session.connection().execute(statement).scalars())  # Core: no ORM bulk mode


def _holders(session: Session, rows: Sequence[Any], policy: Reminders,
             staff: Mapping[str, Sequence[str]]) -> Mapping[str, Sequence[str]]:
    """Who holds each deadline's case: its active assignees (one query for the batch), else the active staff of
    the role that holds a case nobody is assigned to in that state, else (none of them active) the escalation
    roles', so that a reminder reaches someone; nobody only when none of those has an active member."""
    assigned: defaultdict[str, list[str]] = defaultdict(list)
    escalation = sorted({member for role in policy.escalation for member in staff.get(role, ())})
    query = (select(Assignment.case_id, Assignment.staff_id).join(Staff, Staff.id == Assignment.staff_id)
             .where(Assignment.case_id.in_(sorted({row.case_id for row in rows})), Assignment.ended_at.is_(None),
                    Staff.active.is_(True)))
    for case_id, staff_id in session.execute(query):
        assigned[case_id].append(staff_id)
    result: dict[str, Sequence[str]] = {}
    for row in rows:
        if assigned.get(row.case_id):
            result[row.subject] = sorted(set(assigned[row.case_id]))
        else:
            role = policy.unassigned_role(row.state)
            result[row.subject] = (staff.get(role, ()) if role is not None else ()) or escalation
    return result


def _staff_by_role(session: Session, roles: Iterable[str]) -> Mapping[str, Sequence[str]]:
    """The active staff of each of `roles`, by id: one query a run."""
    found: defaultdict[str, list[str]] = defaultdict(list)
    for staff_id, role in session.execute(select(Staff.id, Staff.role)
                                          .where(Staff.role.in_(sorted(set(roles))), Staff.active.is_(True))
                                          .order_by(Staff.id)):
        found[role].append(staff_id)
    return found


def _notifications() -> Notify:
    """`cases.notifications.notify`, imported when first needed (it is another engineer's package)."""
    notify: Notify = importlib.import_module("cases.notifications").notify
    return notify


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
