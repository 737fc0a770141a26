"""The retention job's purges: records of signing in and of requests that have outlived their use.

Each is one bulk DELETE through an index (migration 0027 adds those of web sessions and request counts):
- web sessions timed out, idle longer than `session_idle` or older than `session_max` (a signed-in page refuses
  them already, `cases.staff.accounts.open_session`; pass the instance's VIDORO_SESSION_IDLE and _MAX);
- idempotency keys past their window (`cases.casework.idempotency.KEEP`);
- sign-in attempts past what `policies/routines/retention.toml` [purges] keeps (rate limiting looks that far back);
- API request counts of windows that have ended (`cases.staff.ratelimit`: a window per minute for tokens and
  accounts, a longer one for wrong passwords when making a token).
A dry run counts the same rows and deletes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Delete, delete, func, or_, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from cases.casework.idempotency import KEEP as IDEMPOTENCY_KEEP
from cases.db import Database
from cases.models import ApiRequestCount, IdempotencyRecord, SignInAttempt, WebSession
from cases.staff.ratelimit import RECHECK_WINDOW_SECONDS, WINDOW_SECONDS
from policies.routines.retention import load_retention

__all__ = ["SESSION_IDLE", "SESSION_MAX", "Purged", "purge_expired"]

# The defaults of VIDORO_SESSION_IDLE and VIDORO_SESSION_MAX (web.config), for a caller without the configuration.
SESSION_IDLE = timedelta(minutes=30)
SESSION_MAX = timedelta(hours=10)
_RECHECK = "recheck:%"  # the subjects counted in the longer window (`cases.staff.tokens`)


@dataclass(frozen=True)
class Purged:
    """How many rows each purge removed (or, in a dry run, would remove)."""

    sessions: int
    idempotency_keys: int
    sign_in_attempts: int
    request_counts: int

    @property
    def total(self) -> int:
        return self.sessions + self.idempotency_keys + self.sign_in_attempts + self.request_counts


def purge_expired(db: Database, *, now: datetime, session_idle: timedelta = SESSION_IDLE,
                  session_max: timedelta = SESSION_MAX, dry_run: bool = False) -> Purged:
    """Delete (or with `dry_run` only count) every expired row of the four kinds, in one transaction."""
    attempts = timedelta(days=load_retention().sign_in_attempts_days)
    minute, recheck = int(now.timestamp()) // WINDOW_SECONDS, int(now.timestamp()) // RECHECK_WINDOW_SECONDS
    # A per-minute window's number is far larger than a longer window's: each kind is compared with its own.
    conditions: list[tuple[Any, ColumnElement[bool]]] = [
        (WebSession, or_(WebSession.last_seen_at < now - session_idle, WebSession.created_at < now - session_max)),
        (IdempotencyRecord, IdempotencyRecord.created_at < now - IDEMPOTENCY_KEEP),
        (SignInAttempt, SignInAttempt.at < now - attempts),
        (ApiRequestCount, (ApiRequestCount.window < minute) & ApiRequestCount.subject.not_like(_RECHECK)),
        (ApiRequestCount, (ApiRequestCount.window < recheck) & ApiRequestCount.subject.like(_RECHECK)),
    ]
    with db.write() as session:
        counts = [_purge(session, table, where, dry_run) for table, where in conditions]
    return Purged(counts[0], counts[1], counts[2], counts[3] + counts[4])


def _purge(session: Session, table: Any, where: ColumnElement[bool], dry_run: bool) -> int:
    if dry_run:
        return session.scalar(select(func.count()).select_from(table).where(where)) or 0
    statement: Delete = delete(table).where(where)
    return cast("CursorResult[Any]", session.execute(statement)).rowcount
