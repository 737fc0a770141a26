"""Each person's notifications, and e-mail over SMTP that tells them (issue 19 item 3).

- `notify`, `notify_unit`: make notifications inside the caller's transaction, once per person and event.
- `list_notifications`, `unread_count`, `mark_read`, `mark_all_read`: a person's own, and only their own.
- `send_pending_mail`: the job that sends the outbox (`cases.notifications.mail`).

A notification and its mail hold a kind, a case's pseudonym and a count, never personal data
(`policies/routines/notifications.toml`). Beneath the casework that calls it: nothing here imports `cases.casework`.
"""

from cases.notifications.listing import (
    NotificationItem,
    NotificationPage,
    list_notifications,
    mark_all_read,
    mark_read,
    unread_count,
)
from cases.notifications.mail import Mailer, MailSettings, SmtpMailer, send_pending_mail
from cases.notifications.records import notify, notify_packet, notify_packets_closed, notify_unit

__all__ = [
    "MailSettings",
    "Mailer",
    "NotificationItem",
    "NotificationPage",
    "SmtpMailer",
    "list_notifications",
    "mark_all_read",
    "mark_read",
    "notify",
    "notify_packet",
    "notify_packets_closed",
    "notify_unit",
    "send_pending_mail",
    "unread_count",
]
