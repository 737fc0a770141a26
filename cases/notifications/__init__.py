"""Each person's notifications, and e-mail over SMTP that tells them (issue 19 item 3).

- `notify`, `notify_unit`: make notifications inside the caller's transaction, once per person and event.
- a person's own list, unread count and marking read: `cases.inbox`, above the casework.
- `send_pending_mail`: the job that sends the outbox (`cases.notifications.mail`).

A notification and its mail hold a kind, a case's pseudonym and a count, never personal data
(`policies/routines/notifications.toml`). Beneath the casework that calls it: nothing here imports `cases.casework`.
"""

from cases.notifications.mail import Mailer, MailSettings, SmtpMailer, send_pending_mail
from cases.notifications.records import notify, notify_packet, notify_packets_closed, notify_unit

__all__ = [
    "MailSettings",
    "Mailer",
    "SmtpMailer",
    "notify",
    "notify_packet",
    "notify_packets_closed",
    "notify_unit",
    "send_pending_mail",
]
