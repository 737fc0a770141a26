"""Which function each job name runs. A job is `fn(database, *, now) -> str` (issue 19's contract): it does
its work in its own transactions, is idempotent at the same `now`, and returns a summary of counts only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from cases.audit.checkpoints import CheckpointRounds
from cases.audit.signing import LogSigner
from cases.db import Database

if TYPE_CHECKING:
    from cases.notifications import MailSettings

__all__ = ["JobFunction", "JobSettings", "registry"]

# The jobs' own modules are imported when a job runs, not here: the casework queues jobs (an acute concern
# asks for the deadline job at once) and the jobs use the casework, so importing them here would be a cycle.


class JobFunction(Protocol):
    def __call__(self, database: Database, *, now: datetime) -> str: ...


@dataclass(frozen=True)
class JobSettings:
    """What the jobs take from the instance's configuration: how long sessions live (the purge must not end
    one the instance still keeps: VIDORO_SESSION_IDLE and _MAX) and where mail goes (None: from the
    environment, `MailSettings.from_env`)."""

    session_idle: timedelta | None = None  # None: the purge's own defaults (cases.retention.purges)
    session_max: timedelta | None = None
    mail: MailSettings | None = None


def registry(*, signer: LogSigner | None, targets: list[str], report: Callable[[str], None] = print,
             settings: JobSettings | None = None) -> dict[str, JobFunction]:
    """The jobs this code knows, by the names `policies/routines/jobs.toml` schedules (`checkpoints` needs a
    signer)."""
    jobs: dict[str, JobFunction] = {"expire_consents": _expire_consents}
    if signer is not None:
        jobs["checkpoints"] = CheckpointRounds(signer, targets, report)
    settings = settings or JobSettings()

    def deadline_reminders(database: Database, *, now: datetime) -> str:
        from cases.deadlines import run_deadline_jobs
        return run_deadline_jobs(database, now=now)

    def send_mail(database: Database, *, now: datetime) -> str:
        from cases.notifications import send_pending_mail
        return send_pending_mail(database, now=now, settings=settings.mail)

    def retention(database: Database, *, now: datetime) -> str:
        from cases.retention import run_retention_job
        limits = {name: value for name, value in (("session_idle", settings.session_idle),
                                                  ("session_max", settings.session_max)) if value is not None}
        return run_retention_job(database, now=now, **limits)

    jobs.update(deadline_reminders=deadline_reminders, send_mail=send_mail, retention=retention)
    return jobs


def _expire_consents(database: Database, *, now: datetime) -> str:
    """End the interventions no consent covers any more (`cases.interventions.expire_consents`)."""
    from cases.interventions.operations import expire_consents

    return f"{expire_consents(database, now=now)} interventions ended"
