"""The job queue (`jobs`): one row per scheduled occurrence or queued one-off job, shared by every worker.

A scheduled occurrence's key is its slot (the moment it was due, in UTC); a queued job's key is the caller's.
UNIQUE (name, key) is what makes N workers on N machines create one row for one occurrence, and a job
queued twice one job. A worker claims a row by setting a lease (owner and expiry); a row whose lease ran out
is claimed again, so a worker killed mid-job loses nothing. No personal data: names, times, counts.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cases.models.base import Base

__all__ = ["Job"]


class Job(Base):
    """One run of a job: queued, running (under a lease), done or failed (after its last attempt)."""

    __tablename__ = "jobs"
    __table_args__ = (UniqueConstraint("name", "key", name="uq_jobs_name_key"),
                      Index("ix_jobs_state_run_after", "state", "run_after"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(48))
    key: Mapped[str] = mapped_column(String(120))
    slot: Mapped[datetime]  # when it was due: the scheduled moment, or when it was queued
    state: Mapped[str] = mapped_column(String(16))  # queued, running, done, failed
    run_after: Mapped[datetime]  # not before: the slot, or the next try after a failure
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    result: Mapped[str | None] = mapped_column(String(200))  # the job's one-line summary (counts only)
    error: Mapped[str | None] = mapped_column(String(120))  # the exception's type, never its message
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
