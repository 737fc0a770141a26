"""When each job is due: APScheduler's triggers turn `policies/routines/jobs.toml` into moments, DST-correct.

Only the triggers are used (no APScheduler scheduler, job store or executor): they compute fire times; the
queue in vidoro's own database (`cases.jobs.queue`) decides who runs them. Every worker computes the same
moments (a cron line in the flowchart's time zone; an interval counted from a fixed origin), so the slot
two workers offer for one occurrence is the same value, and the database keeps one row for it.

Daylight saving time, in the flowchart's time zone (Sweden's): a daily time that does not exist (02:30 on
the last Sunday of March) runs an hour later that night (APScheduler's rule); a daily time that happens
twice (02:30 on the last Sunday of October) runs once, at its first occurrence, as cron(8) does —
APScheduler would run it twice. A line whose hour field repeats (`0 * * * *`) runs in both of the doubled
hours: they are two hours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from policies.routines.jobs import JobSchedule

__all__ = ["ORIGIN", "Schedule"]

ORIGIN = datetime(2000, 1, 3, tzinfo=UTC)  # intervals count from here (a Monday, midnight UTC)
_LOOK_BACK = (timedelta(days=1), timedelta(days=32), timedelta(days=367))  # how far to seek the last moment
_MAX_STEPS = 100_000  # bound on the moments walked through in one call (a year of every-five-minutes)


@dataclass
class Schedule:
    """One job's moments: `due(now)` is the latest moment at or before `now` (None if none yet)."""

    name: str
    trigger: BaseTrigger
    fixed_hour: bool = False  # a cron line at fixed hours: its doubled autumn hour runs once
    slot: datetime | None = field(default=None, init=False)  # the latest moment `due` found
    following: datetime | None = field(default=None, init=False)  # the moment after it

    @classmethod
    def of(cls, job: JobSchedule, timezone: str, *, every: float | None = None) -> Schedule:
        """The schedule of `job` (`every` seconds instead of the file's, when given: the operator's setting)."""
        if every is None and job.cron is not None:
            try:
                trigger: BaseTrigger = CronTrigger.from_crontab(job.cron, timezone=ZoneInfo(timezone))
            except ValueError as exc:
                raise ValueError(f"jobs.toml: jobs.{job.name}: {exc}") from None
            hour = job.cron.split()[1]
            return cls(job.name, trigger, fixed_hour=not any(c in hour for c in "*/-"))
        seconds = every if every is not None else job.every
        if not seconds or seconds <= 0:
            raise ValueError(f"jobs.{job.name}: the interval must be a positive number of seconds")
        return cls(job.name, IntervalTrigger(seconds=seconds, start_date=ORIGIN, timezone=UTC))

    def after(self, moment: datetime) -> datetime | None:
        """The first moment strictly after `moment`, in UTC.

        The trigger is given times in its own zone, as APScheduler's scheduler gives it its own fire times: handed
        a UTC time inside a doubled hour, its cron arithmetic can answer the same moment again."""
        moment = moment.astimezone(UTC)
        zone = getattr(self.trigger, "timezone", UTC)
        candidate, steps = self.trigger.get_next_fire_time(moment.astimezone(zone), moment.astimezone(zone)), 0
        while candidate is not None and (candidate.astimezone(UTC) <= moment or self._repeat(candidate)):
            steps += 1
            if steps > 3:
                raise RuntimeError(f"the schedule of {self.name} does not move on after {moment.isoformat()}")
            candidate = self.trigger.get_next_fire_time(candidate, candidate)
        return None if candidate is None else candidate.astimezone(UTC)

    def due(self, now: datetime) -> datetime | None:
        """The latest moment at or before `now`: the occurrence a worker offers now (missed ones coalesce)."""
        if self.following is not None and self.slot is not None and now < self.following and now >= self.slot:
            return self.slot
        start = self.slot if self.slot is not None and self.slot <= now else None
        if start is None:
            start = self._seek(now)
            if start is None:
                return None
        slot, following, steps = start, self.after(start), 0
        while following is not None and following <= now and steps < _MAX_STEPS:
            slot, following, steps = following, self.after(following), steps + 1
        self.slot, self.following = slot, following
        return slot

    def _seek(self, now: datetime) -> datetime | None:
        if isinstance(self.trigger, IntervalTrigger):  # counted from ORIGIN: one step back from the next
            following = self.trigger.get_next_fire_time(None, now).astimezone(UTC)
            return now if following == now else following - self.trigger.interval
        for back in _LOOK_BACK:
            first = self.after(now - back)
            if first is not None and first <= now:
                return first
        return None

    def _repeat(self, moment: datetime) -> bool:
        """Whether `moment` is the second pass of a doubled autumn hour, on a line at fixed hours."""
        if not self.fixed_hour or not isinstance(self.trigger, CronTrigger):
            return False
        local = moment.astimezone(self.trigger.timezone)
        return local.replace(fold=0).astimezone(UTC) != moment.astimezone(UTC)
