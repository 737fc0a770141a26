"""Work that happens on its own (issue 19): the schedule, the queue in the database, the runner, the registry.

    runner = make_runner(db, signer=signer, targets=targets, checkpoint_interval=3600)
    runner.run_due()          # what is due now, once (`vidoro worker --once`)
    runner.run_forever(stop)  # until stopped (`vidoro worker`, `vidoro serve`)

Other code queues a one-off job with `enqueue(session, name=…, key=…, now=…)` in its own transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime, timedelta

from cases.actors import utcnow
from cases.audit.signing import LogSigner
from cases.db import Database
from cases.flowcharts import current_engine
from cases.jobs.errors import UnknownJob
from cases.jobs.queue import DONE, FAILED, QUEUED, RUNNING, enqueue, job_counts
from cases.jobs.registry import JobFunction, JobSettings, registry
from cases.jobs.runner import DEFAULT_LEASE, MAX_ATTEMPTS, Ran, Runner
from cases.jobs.schedule import Schedule
from policies.routines.jobs import load_jobs

__all__ = ["DEFAULT_LEASE", "DONE", "FAILED", "MAX_ATTEMPTS", "QUEUED", "RUNNING", "JobFunction", "JobSettings",
           "Ran", "Runner", "Schedule", "UnknownJob", "enqueue", "job_counts", "make_runner", "registry", "schedules"]

CHECKPOINTS = "checkpoints"


def schedules(*, known: Collection[str], checkpoint_interval: float) -> dict[str, Schedule]:
    """The schedules of `policies/routines/jobs.toml`, in the flowchart's time zone; the checkpoints every
    `checkpoint_interval` seconds (the operator's VIDORO_CHECKPOINT_INTERVAL), none at 0 or without a signer."""
    zone = current_engine().chart.timezone
    found = {}
    for name, job in load_jobs().items():
        if name == CHECKPOINTS:
            if not checkpoint_interval or name not in known:
                continue
            found[name] = Schedule.of(job, zone, every=checkpoint_interval)
        else:
            found[name] = Schedule.of(job, zone)
    return found


def make_runner(db: Database, *, signer: LogSigner | None, targets: list[str], checkpoint_interval: float,
                lease: timedelta = DEFAULT_LEASE, clock: Callable[[], datetime] = utcnow,
                report: Callable[[str], None] = print, settings: JobSettings | None = None) -> Runner:
    """A runner of every job this code knows, on the schedule of `policies/routines/jobs.toml`."""
    jobs = registry(signer=signer, targets=targets, report=report, settings=settings)
    return Runner(db, jobs, schedules(known=jobs, checkpoint_interval=checkpoint_interval), lease=lease,
                  clock=clock, report=report)
