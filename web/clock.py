"""Today and now for the pages, in the flowchart's time zone (its deadlines are calendar days there)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from cases.flowcharts import current_engine
from workflow.deadlines import local_date

__all__ = ["now", "today", "zone", "zone_name"]


def now() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    return local_date(now(), zone_name())


def zone_name() -> str:
    """The flowchart's `timezone`: the one place the zone is named (policies/vid_oro.toml)."""
    return current_engine().chart.timezone


def zone() -> ZoneInfo:
    return ZoneInfo(zone_name())  # ZoneInfo keeps the zones it made: no file is read twice
