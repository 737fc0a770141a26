"""The retention job's purges: records of signing in, of requests and of notifications that have outlived their use.

Each is one bulk DELETE through an index (migration 0027 adds those of web sessions and request counts, 0029
that of notifications by when they were read and made):
- web sessions timed out, idle longer than `session_idle` or older than `session_max` (a signed-in page refuses
  them already, `cases.staff.accounts.open_session`; pass the instance's VIDORO_SESSION_IDLE and _MAX);
- idempotency keys past their window (`cases.casework.idempotency.KEEP`);
- sign-in attempts past what `policies/routines/retention.toml` [purges] keeps (rate limiting looks that far back);
- API request counts of windows that have ended (`cases.staff.ratelimit`: a window per minute for tokens and
  accounts, a longer one for wrong passwords when making a token);
- outbox rows whose mail is finished (`cases.notifications.mail.FINISHED`: sent, given up, no address, mail off),
  queued longer ago than retention.toml keeps them, or belonging to a notification that goes now. A mail still
  waiting or claimed (`pending`) is never deleted;
- notifications read longer ago than retention.toml keeps read ones, or unread and made longer ago than it keeps
  unread ones, unless a mail of theirs is still waiting: the outbox row refers to its notification, so the
  outbox goes first, and a notification goes only once no outbox row refers to it.
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
from cases.models import ApiRequestCount, IdempotencyRecord, MailOutbox, Notification, SignInAttempt, WebSession
from cases.notifications.mail import FINISHED
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
    notifications: int
    mails: int  # outbox rows of finished mails

    @property
    def total(self) -> int:
        return (self.sessions + self.idempotency_keys + self.sign_in_attempts + self.request_counts
                + self.notifications + self.mails)


def purge_expired(db: Database, *, now: datetime, session_idle: timedelta = SESSION_IDLE,
                  session_max: timedelta = SESSION_MAX, dry_run: bool = False) -> Purged:
    """Delete (or with `dry_run` only count) every expired row of the six kinds, in one transaction."""
    policy = load_retention()
    attempts = timedelta(days=policy.sign_in_attempts_days)
    minute, recheck = int(now.timestamp()) // WINDOW_SECONDS, int(now.timestamp()) // RECHECK_WINDOW_SECONDS
    # A per-minute window's number is far larger than a longer window's: each kind is compared with its own.
    conditions: list[tuple[Any, ColumnElement[bool]]] = [
        (WebSession, or_(WebSession.last_seen_at < now - session_idle, WebSession.created_at < now - session_max)),
        (IdempotencyRecord, IdempotencyRecord.created_at < now - IDEMPOTENCY_KEEP),
        (SignInAttempt, SignInAttempt.at < now - attempts),
        (ApiRequestCount, (ApiRequestCount.window < minute) & ApiRequestCount.subject.not_like(_RECHECK)),
        (ApiRequestCount, (ApiRequestCount.window < recheck) & ApiRequestCount.subject.like(_RECHECK)),
        *_notifications(now, policy.read_notifications_days, policy.unread_notifications_days,
                        policy.finished_mail_days, dry_run),
    ]
    with db.write() as session:
        counts = [_purge(session, table, where, dry_run) for table, where in conditions]
    return Purged(counts[0], counts[1], counts[2], counts[3] + counts[4], counts[6], counts[5])


def _notifications(now: datetime, read_days: int, unread_days: int, mail_days: int,
                   dry_run: bool) -> list[tuple[Any, ColumnElement[bool]]]:
    """The outbox's finished rows, then the notifications: in this order, for the outbox's foreign key."""
    due = or_(Notification.read_at < now - timedelta(days=read_days),
              Notification.read_at.is_(None) & (Notification.created_at < now - timedelta(days=unread_days)))
    finished = MailOutbox.state.in_(FINISHED)
    mail_due = finished & or_(MailOutbox.created_at < now - timedelta(days=mail_days),
                              MailOutbox.notification_id.in_(select(Notification.id).where(due)))
    # Run for real, a due notification's finished rows are gone by the time it is deleted: any row left keeps it
    # (a mail still waiting, or one finished meanwhile). Counted, its finished rows would have gone: not left.
    left = select(MailOutbox.id).where(MailOutbox.notification_id == Notification.id)
    if dry_run:
        left = left.where(~finished)
    return [(MailOutbox, mail_due), (Notification, due & ~left.exists())]


def _purge(session: Session, table: Any, where: ColumnElement[bool], dry_run: bool) -> int:
    if dry_run:
        return session.scalar(select(func.count()).select_from(table).where(where)) or 0
    statement: Delete = delete(table).where(where)
    return cast("CursorResult[Any]", session.execute(statement)).rowcount
