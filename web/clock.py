"""Today and now for the pages, in Stockholm time (the flowchart's deadlines are Swedish calendar days).

The time comes from the app's clock, one object with `now()` that `create_app({"VIDORO_CLOCK": ...})` may
replace (a test sets and advances time with it instead of sleeping). A view reads the moment here once and
passes it to the operation it calls, so everything a request does happens at the same moment.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Protocol

from flask import Flask, current_app, has_app_context

from workflow.deadlines import local_date

__all__ = ["Clock", "SystemClock", "init_app", "now", "today"]


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
    return local_date(now(), "Europe/Stockholm")
