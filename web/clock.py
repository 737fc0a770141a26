"""Today and now for the pages, in the flowchart's time zone (its deadlines are calendar days there).

The time comes from the app's clock, one object with `now()` that `create_app({"VIDORO_CLOCK": ...})` may
replace (a test sets and advances time with it instead of sleeping). A view reads the moment here once and
passes it to the operation it calls, so everything a request does happens at the same moment.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g, has_app_context

from cases.flowcharts import current_engine
from workflow.deadlines import local_date

__all__ = ["Clock", "SystemClock", "init_app", "now", "today", "zone", "zone_name"]


class Clock(Protocol):
    """Where the app reads the time: a timezone-aware moment (UTC)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The machine's clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


_SYSTEM = SystemClock()


def init_app(app: Flask) -> None:
    app.extensions["vidoro.clock"] = app.config.get("VIDORO_CLOCK") or _SYSTEM


def now() -> datetime:
    """The app's clock; outside an app (a script importing a page helper) the machine's."""
    clock: Clock = current_app.extensions.get("vidoro.clock", _SYSTEM) if has_app_context() else _SYSTEM
    return clock.now()


def today() -> date:
    return local_date(now(), zone_name())


def zone_name() -> str:
    """The flowchart's `timezone`: the one place the zone is named (policies/vid_oro.toml). Read once per
    request: a list shows fifty times, and finding the current flowchart costs a system call each time."""
    if not has_app_context():
        return current_engine().chart.timezone
    name: str | None = g.get("vidoro_zone")
    if name is None:
        g.vidoro_zone = name = current_engine().chart.timezone
    return name


def zone() -> ZoneInfo:
    return ZoneInfo(zone_name())  # ZoneInfo keeps the zones it made: no file is read twice
