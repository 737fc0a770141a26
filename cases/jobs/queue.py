"""The queue: rows in `jobs`, offered by every worker, claimed by one under a lease, finished or retried.

- `offer` inserts a scheduled occurrence (key: its slot) and `enqueue` a one-off job (key: the caller's) with
  INSERT … ON CONFLICT DO NOTHING: however many workers offer the same occurrence, there is one row.
- `claim` takes the oldest due row, queued or running under a lease that ran out (its worker died), with
  SELECT … FOR UPDATE SKIP LOCKED on PostgreSQL (two workers never take the same row and never wait for each
  other); SQLite has one writer at a time (`Database.write` begins IMMEDIATE), so a plain claim is safe there.
  The claim commits before the job runs: the lease, not an open transaction, holds the row.
- `renew` extends a running job's lease, `finish` and `fail` change the row, only while the lease is still the
  caller's: a worker that outlived its lease (another took the job over) records nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cases.db import Database
from cases.models import Job

__all__ = ["DONE", "FAILED", "QUEUED", "RUNNING", "Claimed", "claim", "enqueue", "fail", "finish", "job_counts",
           "offer", "purge_finished", "renew", "slot_key"]

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
LEASE_LOST = "LeaseExpired"  # the error recorded for a job whose worker never came back, on its last attempt


@dataclass(frozen=True)
class Claimed:
    """A job this worker holds until `lease_until`: run it, then `finish` or `fail` it."""

    id: int
    name: str
    key: str
    slot: datetime
    attempt: int
    owner: str


def slot_key(slot: datetime) -> str:
    """A scheduled occurrence's key: its slot in UTC, to the microsecond (every worker writes it the same)."""
    return slot.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def offer(db: Database, name: str, slot: datetime, *, now: datetime) -> bool:
    """Add the occurrence of `name` due at `slot`, unless a worker already did; True if this call added it."""
    with db.write() as session:
        return _insert(session, name, slot_key(slot), slot, now)


def enqueue(session: Session, *, name: str, key: str, now: datetime) -> bool:
    """Queue a one-off run of `name`, once per `key`, in the caller's transaction; True if it is new."""
    if not key or len(key) > 120:
        raise ValueError("a job's key is 1 to 120 characters")
    return _insert(session, name, key, now, now)


def _insert(session: Session, name: str, key: str, slot: datetime, now: datetime) -> bool:
    values = {"name": name, "key": key, "slot": slot, "state": QUEUED, "run_after": slot, "attempts": 0,
              "created_at": now}
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    added = session.execute(dialect.insert(Job).values(**values)
                            .on_conflict_do_nothing(index_elements=["name", "key"]).returning(Job.id)).first()
    return added is not None


def claim(db: Database, owner: str, *, names: Collection[str], now: datetime, lease: timedelta,
          max_attempts: int) -> Claimed | None:
    """Take the oldest due job among `names` and lease it to `owner`; None when nothing is due.

    A row found running under a lease that ran out on its last attempt is marked failed, not run again."""
    for _ in range(100):  # bound: rows whose worker died on their last attempt, failed on the way
        with db.write() as session:
            row = session.scalar(
                select(Job).where(Job.name.in_(list(names)), or_(
                    and_(Job.state == QUEUED, Job.run_after <= now),
                    and_(Job.state == RUNNING, Job.lease_until < now)))
                .order_by(Job.run_after, Job.id).limit(1).with_for_update(skip_locked=True))
            if row is None:
                return None
            if row.state == RUNNING and row.attempts >= max_attempts:
                row.state, row.error, row.finished_at = FAILED, LEASE_LOST, now
                continue
            row.state, row.attempts, row.lease_owner = RUNNING, row.attempts + 1, owner
            row.lease_until, row.started_at, row.error = now + lease, now, None
            return Claimed(row.id, row.name, row.key, row.slot, row.attempts, owner)
    return None


def renew(db: Database, job: Claimed, *, now: datetime, lease: timedelta) -> bool:
    """Extend the running job's lease to `now + lease`; False if it is no longer the caller's (nothing changed)."""
    return _settle(db, job, lease_until=now + lease)


def finish(db: Database, job: Claimed, *, now: datetime, result: str) -> bool:
    """Mark the job done with its summary; False if the lease was lost meanwhile (nothing is changed)."""
    return _settle(db, job, state=DONE, result=result[:200], finished_at=now, lease_until=None)


def fail(db: Database, job: Claimed, *, now: datetime, error: str, max_attempts: int, retry_in: timedelta) -> str:
    """Put the job back for a later try, or mark it failed after its last attempt; the state it is left in."""
    if job.attempt >= max_attempts:
        return FAILED if _settle(db, job, state=FAILED, error=error[:120], finished_at=now, lease_until=None) else ""
    return QUEUED if _settle(db, job, state=QUEUED, error=error[:120], run_after=now + retry_in,
                             lease_until=None) else ""


def _settle(db: Database, job: Claimed, **values: object) -> bool:
    with db.write() as session:
        result = session.execute(update(Job).where(Job.id == job.id, Job.state == RUNNING,
                                                   Job.lease_owner == job.owner, Job.attempts == job.attempt)
                                 .values(**values))
        return bool(getattr(result, "rowcount", 0))


def purge_finished(db: Database, *, before: datetime) -> int:
    """Delete done and failed rows that finished before `before`, except each job's newest occurrence (so that
    a worker starting later does not offer it again)."""
    with db.write() as session:
        latest = {name: slot for name, slot in session.execute(select(Job.name, func.max(Job.slot)).group_by(Job.name))}
        removed = 0
        for name, slot in latest.items():
            result = session.execute(delete(Job).where(Job.name == name, Job.slot < slot,
                                                       Job.state.in_([DONE, FAILED]), Job.finished_at < before))
            removed += int(getattr(result, "rowcount", 0))
        return removed


def job_counts(db: Database) -> dict[tuple[str, str], int]:
    """How many rows each job has in each state (done and failed count the runs kept, see `purge_finished`)."""
    with db.read() as session:
        return {(name, state): count for name, state, count in
                session.execute(select(Job.name, Job.state, func.count()).group_by(Job.name, Job.state))}
