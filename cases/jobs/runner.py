"""The runner: offers what the schedule says is due, then claims and runs jobs until none is left.

One runner per worker (`vidoro worker`, or the side process of `vidoro serve`); any number of them on any
number of machines share one database. Each pass: offer every scheduled job's current slot (one row however
many offer it), then claim, run and settle due jobs one at a time, up to `batch` of them. A job that raises
is tried again after a back-off (30 s, 1 min, 2 min … at most an hour) and marked failed after its last
attempt; a job whose worker died is taken over when its lease runs out. While a job runs, a heartbeat thread
renews its lease every third of it (`Heartbeat`), so a job that takes longer than the lease is not taken over
by another worker while this one still runs it; the heartbeat stops when the job ends. Each run is one
structured log line (`job_run`: the job's name, the attempt, the outcome; never its summary or a message,
which could hold anything) and is kept in the table, which the metrics count (`web.metrics`).
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from cases.actors import utcnow
from cases.db import Database
from cases.events import emit
from cases.jobs import queue
from cases.jobs.errors import UnknownJob
from cases.jobs.registry import JobFunction
from cases.jobs.schedule import Schedule

__all__ = ["DEFAULT_LEASE", "MAX_ATTEMPTS", "Heartbeat", "Ran", "Runner", "retry_in"]

DEFAULT_LEASE = timedelta(minutes=15)  # renewed every third of it while a job runs; VIDORO_JOB_LEASE sets it
MAX_ATTEMPTS = 5
RETRY_FIRST, RETRY_MAX = timedelta(seconds=30), timedelta(hours=1)
KEEP_FINISHED = timedelta(days=90)  # done and failed rows kept this long (the metrics count them)


def retry_in(attempt: int) -> timedelta:
    """The back-off after the `attempt`-th failure: 30 s, doubling, at most an hour."""
    return min(RETRY_FIRST * 2 ** max(attempt - 1, 0), RETRY_MAX)


@dataclass(frozen=True)
class Ran:
    """One job run by this runner: its name, the attempt, the state it was left in, and its summary."""

    name: str
    attempt: int
    state: str  # done, queued (to be tried again), failed; "" if the lease was lost meanwhile
    summary: str


class Heartbeat:
    """Renews a running job's lease every `interval` seconds on a thread of its own, from `with` to its end.

    Each beat (`renew`) sets the lease to the clock's now plus `lease`, only while it is still this worker's;
    once it is not (taken over after a stall longer than the lease) the heartbeat stops, and the job's result
    is not recorded (`queue.finish` finds the lease lost). A beat that fails (the database away for a moment)
    is reported and the next one tries again."""

    def __init__(self, db: Database, job: queue.Claimed, *, lease: timedelta, clock: Callable[[], datetime],
                 interval: float, report: Callable[[str], None] = print) -> None:
        self.db, self.job, self.lease, self.clock, self.interval = db, job, lease, clock, interval
        self.report = report
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"vidoro-lease-{job.id}", daemon=True)

    def renew(self) -> bool:
        """One beat: extend the lease; False (and the heartbeat stops) once the lease is no longer ours."""
        if not queue.renew(self.db, self.job, now=self.clock(), lease=self.lease):
            self.lost = True
            self._stop.set()
        return not self.lost

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=max(5.0, 2 * self.interval))

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.renew()
            except Exception as exc:  # a beat missed is not the job's failure; the lease has two more thirds
                self.report(f"jobs: renewing the lease of {self.job.name} failed: {type(exc).__name__}")


class Runner:
    """Runs `jobs` (name → function) on `schedules` (name → when) against `db`, with `clock` for the time.

    `heartbeat` is the seconds between lease renewals while a job runs (a third of the lease unless given)."""

    def __init__(self, db: Database, jobs: Mapping[str, JobFunction], schedules: Mapping[str, Schedule], *,
                 lease: timedelta = DEFAULT_LEASE, clock: Callable[[], datetime] = utcnow,
                 owner: str | None = None, report: Callable[[str], None] = print,
                 heartbeat: float | None = None) -> None:
        for name in schedules:
            if name not in jobs:
                raise UnknownJob(name)
        self.db, self.jobs, self.schedules, self.lease, self.clock = db, dict(jobs), dict(schedules), lease, clock
        self.heartbeat = heartbeat if heartbeat is not None else lease.total_seconds() / 3
        self.owner = owner or f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"
        self.report = report
        self._offered: dict[str, datetime] = {}
        self._purged: datetime | None = None

    def offer_due(self) -> int:
        """Offer each scheduled job's current slot once; how many rows this call added."""
        now, added = self.clock(), 0
        for name, schedule in self.schedules.items():
            slot = schedule.due(now)
            if slot is None or self._offered.get(name) == slot:
                continue
            added += queue.offer(self.db, name, slot, now=now)
            self._offered[name] = slot
        return added

    def run_due(self, *, batch: int = 1000, stop: threading.Event | None = None) -> list[Ran]:
        """One pass: offer what is due, then run due jobs until none is left or `batch` have run."""
        self.offer_due()
        self._purge()
        ran: list[Ran] = []
        while len(ran) < batch and not (stop is not None and stop.is_set()):
            job = queue.claim(self.db, self.owner, names=self.jobs, now=self.clock(), lease=self.lease,
                              max_attempts=MAX_ATTEMPTS)
            if job is None:
                break
            ran.append(self._run(job))
        return ran

    def run_forever(self, stop: threading.Event, *, poll: float = 1.0) -> None:
        """Pass after pass until `stop` is set, waiting up to `poll` seconds between passes (less when the
        next scheduled moment is nearer); a pass that fails is reported and the next one goes on."""
        while not stop.is_set():
            try:
                self.run_due(stop=stop)
            except Exception as exc:  # the database away for a moment must not end the worker
                self.report(f"jobs: a pass failed: {type(exc).__name__}")
            stop.wait(self._pause(poll))

    def _run(self, job: queue.Claimed) -> Ran:
        function = self.jobs[job.name]
        try:
            with Heartbeat(self.db, job, lease=self.lease, clock=self.clock, interval=self.heartbeat,
                           report=self.report):
                summary = function(self.db, now=self.clock())
        except Exception as exc:
            state = queue.fail(self.db, job, now=self.clock(), error=type(exc).__name__,
                               max_attempts=MAX_ATTEMPTS, retry_in=retry_in(job.attempt))
            emit("job_run", "failed", job=job.name, attempt=job.attempt, error=type(exc).__name__)
            self.report(f"jobs: {job.name} failed (attempt {job.attempt}: {type(exc).__name__}); "
                        + ("tried again later" if state == queue.QUEUED else "no more attempts"
                           if state == queue.FAILED else "its lease had run out"))
            return Ran(job.name, job.attempt, state, "")
        kept = queue.finish(self.db, job, now=self.clock(), result=str(summary))
        emit("job_run", "done" if kept else "lease_lost", job=job.name, attempt=job.attempt)
        return Ran(job.name, job.attempt, queue.DONE if kept else "", str(summary))

    def _pause(self, poll: float) -> float:
        now = self.clock()
        nearest = min((s.following for s in self.schedules.values() if s.following is not None), default=None)
        if nearest is None:
            return poll
        return max(0.01, min(poll, (nearest - now).total_seconds()))

    def _purge(self) -> None:
        now = self.clock()
        if self._purged is None or now - self._purged > timedelta(hours=1):
            queue.purge_finished(self.db, before=now - KEEP_FINISHED)
            self._purged = now
