"""Whether a deadline's reminder has come: what the work list marks as "due soon", on the reminders' own rule.

The same lead times as the job's (`policies/routines/reminders.toml`, working days), so that what a list marks and what
the job reminds of cannot drift apart.
"""

from __future__ import annotations

from datetime import date
from functools import cache, lru_cache

from policies.routines.reminders import load_reminders
from workflow.working_days.arithmetic import reminder_day
from workflow.working_days.sweden import SwedishCalendar

__all__ = ["reminder_due", "swedish_calendar"]


@cache
def swedish_calendar() -> SwedishCalendar:
    """Sweden's calendar, made once a process (the library computes each year's holidays when first asked)."""
    return SwedishCalendar()


def reminder_due(deadline: str | None, due_on: date, today: date) -> bool | None:
    """Whether `today` falls between the reminder day of `deadline` due on `due_on` and its due day; None when
    the policy sets no lead time for it (or no deadline runs)."""
    lead = load_reminders().remind_before.get(deadline or "")
    if lead is None:
        return None
    return _reminder_day(due_on, lead) <= today <= due_on


@lru_cache(maxsize=4096)
def _reminder_day(due_on: date, lead: int) -> date:
    # A page of the work list asks for the same few due days over and over: 40 µs each counted afresh.
    return reminder_day(due_on, lead, swedish_calendar())
