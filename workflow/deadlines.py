"""When a deadline falls due, computed from the flowchart's rule, the case and the moment it starts.

Deadlines are calendar dates in the municipality's time zone: a protection assessment received at 22:00
Stockholm time is due the next day, whatever the server's clock says.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from policies import Deadline

__all__ = ["add_months", "due_on", "local_date"]


def local_date(moment: datetime, timezone: str) -> date:
    """The calendar date of an aware `moment` in `timezone`."""
    if moment.tzinfo is None:
        raise ValueError("moments must be timezone-aware")
    return moment.astimezone(ZoneInfo(timezone)).date()


def add_months(day: date, months: int) -> date:
    """`day` plus whole months, clamped to the end of a shorter month (31 Oct + 4 months = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_on(
    deadline: Deadline,
    *,
    received_at: datetime,
    fired_at: datetime,
    timezone: str,
    payload: Mapping[str, Any],
) -> date:
    """The date `deadline` falls due when started at `fired_at` on a case received at `received_at`."""
    if deadline.rule == "field":
        if deadline.field is None:  # the loader refuses a field rule without a date field
            raise ValueError(f"deadline rule 'field' names no field: {deadline.name}")
        given: date = payload[deadline.field]  # the form's check made it a `date`
        return given
    start = received_at if deadline.start == "received" else fired_at
    day = local_date(start, timezone)
    if deadline.rule == "same_day":
        local_time = start.astimezone(ZoneInfo(timezone)).time()
        late = deadline.late_after is not None and local_time >= deadline.late_after
        return day + timedelta(days=1) if late else day
    if deadline.rule == "days":
        return day + timedelta(days=deadline.days)
    return add_months(day, deadline.months)
