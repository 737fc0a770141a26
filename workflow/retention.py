"""When a case's retention period is over: the one definition the `retention_over` guard and the retention job use.

Socialtjänstlagen (2025:400), the rule on thinning personal records (its number is not verified): thinned
`retention_years` after the last entry, counted in the flowchart's own time zone.
"""

from __future__ import annotations

from datetime import date, datetime

from policies import Flowchart
from workflow.deadlines import add_months, local_date

__all__ = ["retention_over", "retention_until"]


def retention_until(chart: Flowchart, last_entry_at: datetime) -> date:
    """The first day on which a case whose last entry was at `last_entry_at` may be thinned."""
    return add_months(local_date(last_entry_at, chart.timezone), 12 * chart.retention_years)


def retention_over(chart: Flowchart, last_entry_at: datetime, now: datetime) -> bool:
    """Whether the retention period after `last_entry_at` is over at `now`."""
    return local_date(now, chart.timezone) >= retention_until(chart, last_entry_at)
