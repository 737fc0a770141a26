"""Today and now for the pages, in Stockholm time (the flowchart's deadlines are Swedish calendar days)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from workflow.deadlines import local_date

__all__ = ["now", "today"]


def now() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    return local_date(now(), "Europe/Stockholm")
