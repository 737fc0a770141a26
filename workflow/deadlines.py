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

from policies import Deadline, Flowchart

__all__ = ["add_months", "due_on", "local_date", "retention_over", "retention_until"]


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


# --- the retention period: the one definition the `retention_over` guard and the retention job use -----------


def retention_until(chart: Flowchart, last_entry_at: datetime) -> date:
    """The first day a case whose last entry was at `last_entry_at` may be thinned: `retention_years` later.

    Socialtjänstlagen (2025:400), the rule on thinning personal records (its number is not verified)."""
    return add_months(local_date(last_entry_at, chart.timezone), 12 * chart.retention_years)


def retention_over(chart: Flowchart, last_entry_at: datetime, now: datetime) -> bool:
    """Whether the retention period after `last_entry_at` is over at `now`, in the flowchart's time zone."""
    return local_date(now, chart.timezone) >= retention_until(chart, last_entry_at)
