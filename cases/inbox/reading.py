"""A person's own notifications: a page of them, newest first, how many are unread, and marking them read.

Each person sees and marks only their own: another's notification id is answered as if it did not exist
(`NotificationNotFound`, a 404), whatever the role. Pages follow a cursor, as the work list's do
(`cases.casework.worklist`): the order (created_at, id) is unique, and the cursor carries the key of the last
row shown, so the next page is a seek in `ix_notifications_staff_id_created_at_id`, never an offset. Listing
opens no case and logs no read: a notification holds a case's pseudonym and a kind, nothing more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.orm import Session

from cases import cursors
from cases.actors import require_staff
from cases.casework.idempotency import Claim
from cases.casework.skeleton import staff_write
from cases.db import Database
from cases.errors import BadCursor, NotificationNotFound
from cases.models import Notification
from workflow import Actor

__all__ = ["MAX_PER_PAGE", "PER_PAGE", "NotificationItem", "NotificationPage", "list_notifications",
           "mark_all_read", "mark_read", "unread_count"]

PER_PAGE = 50
MAX_PER_PAGE = 200
_ID = re.compile(r"[0-9a-f-]{1,36}")


@dataclass(frozen=True)
class NotificationItem:
    id: str
    kind: str
    case_ref: str | None
    created_at: datetime
    read_at: datetime | None


@dataclass(frozen=True)
class NotificationPage:
    items: tuple[NotificationItem, ...]
    unread: int
    next_cursor: str | None  # the page after this one, if there is one


def list_notifications(db: Database, actor: Actor, *, cursor: str | None = None, per_page: int = PER_PAGE,
                       unread_only: bool = False) -> NotificationPage:
    """A page of the actor's notifications, newest first; `cursor` from a page's `next_cursor`."""
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    after = _decode(cursor) if cursor is not None else None
    with db.read() as session:
        require_staff(session, actor)
        query = select(Notification).where(Notification.staff_id == actor.id)
        if unread_only:
            query = query.where(Notification.read_at.is_(None))
        if after is not None:
            query = query.where(tuple_(Notification.created_at, Notification.id) < tuple_(*after))
        rows = session.scalars(query.order_by(Notification.created_at.desc(), Notification.id.desc())
                               .limit(per_page + 1)).all()
        unread = _unread(session, actor.id)
    shown = rows[:per_page]
    items = tuple(NotificationItem(r.id, r.kind, r.case_ref, r.created_at, r.read_at) for r in shown)
    next_cursor = _encode(shown[-1].created_at, shown[-1].id) if len(rows) > per_page else None
    return NotificationPage(items, unread, next_cursor)


def unread_count(db: Database, actor: Actor) -> int:
    """How many of the actor's notifications are unread (0 for anyone who is not active staff)."""
    with db.read() as session:
        return _unread(session, actor.id)


def mark_read(db: Database, actor: Actor, notification_id: str, *, now: datetime,
              claim: Claim | None = None) -> NotificationItem:
    """Mark one of the actor's own notifications read (again: unchanged); another's is `NotificationNotFound`.
    With a `claim`, its answer is kept in the same transaction."""
    if not isinstance(notification_id, str) or not _ID.fullmatch(notification_id):
        raise NotificationNotFound(str(notification_id)[:36])
    with staff_write(db, actor, now=now, claim=claim) as acting:
        row = acting.session.scalars(select(Notification).where(Notification.id == notification_id,
                                                                Notification.staff_id == actor.id)).first()
        if row is None:
            raise NotificationNotFound(notification_id)
        if row.read_at is None:
            row.read_at = now
        return acting.settled(NotificationItem(row.id, row.kind, row.case_ref, row.created_at, row.read_at))


def mark_all_read(db: Database, actor: Actor, *, now: datetime) -> int:
    """Mark every unread notification of the actor read; how many were."""
    with db.write() as session:
        require_staff(session, actor)
        done = session.execute(update(Notification).where(Notification.staff_id == actor.id,
                                                          Notification.read_at.is_(None)).values(read_at=now))
        return int(getattr(done, "rowcount", 0) or 0)


def _unread(session: Session, staff_id: str) -> int:
    return session.scalar(select(func.count()).select_from(Notification).where(
        Notification.staff_id == staff_id, Notification.read_at.is_(None))) or 0


def _encode(created_at: datetime, notification_id: str) -> str:
    return cursors.pack([created_at.astimezone(UTC).isoformat(), notification_id])


def _decode(cursor: str) -> tuple[datetime, str]:
    created_at, notification_id = cursors.unpack(cursor, 2)
    try:
        moment = datetime.fromisoformat(created_at)
        if moment.tzinfo is None or not isinstance(notification_id, str) or not _ID.fullmatch(notification_id):
            raise BadCursor
        return moment.astimezone(UTC), notification_id
    except (ValueError, TypeError) as exc:
        raise BadCursor from exc
