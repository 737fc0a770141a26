"""Which function each job name runs. A job is `fn(database, *, now) -> str` (issue 19's contract): it does
its work in its own transactions, is idempotent at the same `now`, and returns a summary of counts only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from cases.audit.checkpoints import CheckpointRounds
from cases.audit.signing import LogSigner
from cases.db import Database

__all__ = ["JobFunction", "registry"]


class JobFunction(Protocol):
    def __call__(self, database: Database, *, now: datetime) -> str: ...


def registry(*, signer: LogSigner | None, targets: list[str],
             report: Callable[[str], None] = print) -> dict[str, JobFunction]:
    """The jobs this code knows, by the names `policies/routines/jobs.toml` schedules (`checkpoints` needs a signer)."""
    jobs: dict[str, JobFunction] = {"expire_consents": _expire_consents}
    if signer is not None:
        jobs["checkpoints"] = CheckpointRounds(signer, targets, report)
    # --- for the lead at merge (issue 19): the other engineers' jobs, and their lines in jobs.toml -----------
    # jobs["deadline_reminders"] = cases.deadlines.run_deadline_jobs
    # jobs["send_mail"] = cases.notifications.send_pending_mail
    # jobs["retention"] = cases.retention.run_retention_job
    return jobs


def _expire_consents(database: Database, *, now: datetime) -> str:
    """End the interventions no consent covers any more (`cases.interventions.expire_consents`)."""
    from cases.interventions.operations import expire_consents

    return f"{expire_consents(database, now=now)} interventions ended"
