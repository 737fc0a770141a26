"""Working days counted over a holiday calendar: the reminder day of a deadline, and the query's bound for it.

A working day is Monday to Friday and no holiday of the calendar passed in (`workflow.working_days.sweden` is
Sweden's). Used for the reminders' lead times only (`policies.routines.reminders`): statutory due dates are not moved
(docs/deadlines.md says why). Pure: the calendar is passed in, no clock.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Protocol

__all__ = ["HolidayCalendar", "is_working_day", "latest_due_reminded", "reminder_day"]

_SEARCH_LIMIT = 400  # days: no run of non-working days is anywhere near this long; a bound, not a rule


class HolidayCalendar(Protocol):
    """Which weekdays are no working days (the edge behind which the holiday library sits)."""

    def is_holiday(self, day: date) -> bool: ...


def is_working_day(day: date, calendar: HolidayCalendar) -> bool:
    """Whether `day` is a working day: Monday to Friday and no holiday of `calendar`."""
    return day.weekday() < 5 and not calendar.is_holiday(day)


def _previous_working_day(day: date, calendar: HolidayCalendar) -> date:
    """`day` itself when it is a working day, else the last working day before it."""
    for _ in range(_SEARCH_LIMIT):
        if is_working_day(day, calendar):
            return day
        day -= timedelta(days=1)
    raise ValueError("no working day within the search limit")


def reminder_day(due_on: date, working_days_before: int, calendar: HolidayCalendar) -> date:
    """The day a reminder is due for a deadline due on `due_on`: `working_days_before` working days before it.

    Counted from the due day when that is a working day, else from the last working day before it: with no
    lead time, a deadline due on a Sunday is reminded on the Friday, while someone is at work to act on it."""
    if working_days_before < 0:
        raise ValueError("a lead time is never negative")
    day = _previous_working_day(due_on, calendar)
    for _ in range(working_days_before):
        day = _previous_working_day(day - timedelta(days=1), calendar)
    return day


def latest_due_reminded(today: date, working_days_before: int, calendar: HolidayCalendar) -> date:
    """The last due date whose reminder is due by `today`: a query of every deadline due on or before it finds
    each deadline to remind, with no per-row arithmetic in the database (`reminder_day` never decreases as the
    due date grows, so the set is an interval)."""
    if reminder_day(today, working_days_before, calendar) > today:  # never: a reminder is never after its due day
        raise ValueError("reminder after the due day")
    day = today
    for _ in range(_SEARCH_LIMIT + working_days_before * 3):
        following = day + timedelta(days=1)
        if reminder_day(following, working_days_before, calendar) > today:
            return day
        day = following
    raise ValueError("no end to the reminder window within the search limit")
