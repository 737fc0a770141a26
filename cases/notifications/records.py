"""Make notifications, each once: one per recipient and event (`key`), and the mail that tells them.

Runs inside the caller's transaction, so a notification is written with the change it is about or not at all.
A second report of the same event adds nothing: the database's unique (staff_id, key) decides, with an
INSERT … ON CONFLICT DO NOTHING (on PostgreSQL and SQLite alike), so two transactions racing over the same
event cannot both add one, and neither fails.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cases.models import MailOutbox, Notification, ReferralPacket, Staff
from policies.routines.notifications import load_notifications

__all__ = ["notify", "notify_packet", "notify_packets_closed", "notify_unit"]

MAX_KEY = 200  # the column's length


def notify(session: Session, *, recipients: Iterable[str], kind: str, key: str, now: datetime,
           case_ref: str | None = None) -> int:
    """One notification per recipient staff id (an active account's), unless that recipient has one with this
    `key` already; a mail queued for each new one whose recipient has an address. Returns how many were new."""
    if kind not in load_notifications():
        raise ValueError(f"not a kind of notification in policies/routines/notifications.toml: {kind!r}")
    if not key or len(key) > MAX_KEY:
        raise ValueError(f"a notification's key is 1 to {MAX_KEY} characters")
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    # Only active accounts: a disabled one is told nothing (and an id that names no account cannot break the
    # caller's transaction with a foreign key's refusal)
    asked = sorted(set(recipients))
    wanted = sorted(session.scalars(select(Staff.id).where(Staff.id.in_(asked), Staff.active.is_(True)))) if asked \
        else []
    if not wanted:
        return 0
    rows = [{"id": str(uuid.uuid4()), "staff_id": staff_id, "kind": kind, "key": key, "case_ref": case_ref,
             "created_at": now} for staff_id in wanted]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(Notification).on_conflict_do_nothing(index_elements=["staff_id", "key"])
    added = session.execute(statement.returning(Notification.id, Notification.staff_id), rows).all()
    if not added:
        return 0
    by_staff = {row.staff_id: row.id for row in added}
    mailed = session.scalars(select(Staff.id).where(Staff.id.in_(sorted(by_staff)), Staff.email.is_not(None),
                                                    Staff.email != "")).all()
    for staff_id in sorted(mailed):
        session.add(MailOutbox(staff_id=staff_id, notification_id=by_staff[staff_id], state="pending",
                               attempts=0, created_at=now))
    session.flush()
    return len(added)


def notify_unit(session: Session, *, unit: str, kind: str, key: str, now: datetime,
                case_ref: str | None = None) -> int:
    """`notify` every active member of staff of `unit` (`Staff.unit`, e.g. a partner organisation)."""
    members = session.scalars(select(Staff.id).where(Staff.unit == unit, Staff.active.is_(True))).all()
    return notify(session, recipients=members, kind=kind, key=key, now=now, case_ref=case_ref)


def notify_packet(session: Session, packet: ReferralPacket, case_ref: str, now: datetime) -> int:
    """A new referral packet: every unit it is shared with is told, once per packet."""
    return sum(notify_unit(session, unit=unit, kind="referral_packet", key=f"referral_packet:{packet.id}",
                           now=now, case_ref=case_ref) for unit in sorted(set(packet.recipients)))


def notify_packets_closed(session: Session, packets: Iterable[ReferralPacket], consent_id: str, case_ref: str,
                          now: datetime) -> int:
    """A withdrawn consent closed these packets: the units they were shared with are told, once per consent."""
    units = sorted({unit for packet in packets for unit in packet.recipients})
    return sum(notify_unit(session, unit=unit, kind="consent_withdrawn", key=f"consent_withdrawn:{consent_id}",
                           now=now, case_ref=case_ref) for unit in units)
