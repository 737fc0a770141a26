"""Each person's notifications and the e-mail outbox that tells them (issue 19 item 3).

A notification says that something needs this person: its kind (`policies/routines/notifications.toml`), a case's
pseudonym, when; never a name, an identity number or concern text. `key` names the event it is about, and
(staff_id, key) is unique, so the same event notifies a person once however often it is reported
(`cases.notifications.notify`). The outbox holds one row per mail: which notification, and how far its
delivery got; the mail's text is rendered from the notification when it is sent, so the outbox holds no text.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cases.models.base import Base

__all__ = ["MailOutbox", "Notification"]


class Notification(Base):
    """One notification to one member of staff; `read_at` None: unread."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("staff_id", "key", name="uq_notifications_staff_id_key"),
        Index("ix_notifications_staff_id_created_at_id", "staff_id", "created_at", "id"),  # the list, a seek
        Index("ix_notifications_staff_id_read_at", "staff_id", "read_at"),  # the unread count
        Index("ix_notifications_read_at_created_at", "read_at", "created_at"),  # the retention job's purge
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(200))  # the event: e.g. "referral_packet:<packet id>"
    case_ref: Mapped[str | None] = mapped_column(String(16))  # the case's pseudonym, never its id or person
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


class MailOutbox(Base):
    """One e-mail waiting to be sent, or sent: claimed by a worker until `claimed_until` (a lease), then
    `sent`, `failed` after the attempts allowed, `no_address` or `mail_off` (`cases.notifications.mail`)."""

    __tablename__ = "mail_outbox"
    __table_args__ = (Index("ix_mail_outbox_state_claimed_until", "state", "claimed_until"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    notification_id: Mapped[str] = mapped_column(ForeignKey("notifications.id"), unique=True)  # one mail each
    state: Mapped[str] = mapped_column(String(16))  # pending, sent, failed, no_address, mail_off
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    message_id: Mapped[str | None] = mapped_column(String(255))  # the Message-ID header it was sent with
