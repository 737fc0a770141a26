"""The e-mail job: send what the outbox holds over SMTP, each mail once (issue 19 item 3).

`send_pending_mail(database, now=…)` is a job as `contracts.md` has them: it claims a batch of waiting mails
for a lease (`claimed_until`, with FOR UPDATE SKIP LOCKED on PostgreSQL, so two workers never claim the same
row; SQLite's writers queue anyway), commits the claim, then sends each and marks it sent in a transaction
of its own. A worker that dies mid-batch leaves its claimed rows to return after the lease: at most the one
mail in flight (sent, not yet marked) is sent again, with the same Message-ID. A failed attempt is retried
after `retry_seconds`, and given up (`failed`) after `max_attempts` (`policies/routines/notifications.toml [mail]`).

Each claim counts an attempt, so a row's `attempts` names the claim that holds it: a worker checks before each
mail that its claim still holds, and settles a mail only under that claim (`UPDATE … WHERE attempts = mine`).
A worker whose lease ran out (the lease is at least a batch of mails at the server's timeout each, checked when
the policy is read) and whose mails another took over neither sends them nor overwrites what the other wrote.

Without `VIDORO_SMTP_URL` mail is off on this server: the job leaves the outbox as it is and sends nothing; the
mails wait for a server with mail (several servers may share one database, not all of them sending mail).
A recipient whose address was removed since is `no_address`.

The text is rendered when the mail is sent, from the notification's kind, the case's pseudonym and the count
of unread notifications (`policies.routines.notifications.render`): nothing else can reach a mail.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Protocol, cast
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import ColumnElement, CursorResult, and_, func, select, update

from cases.db import Database
from cases.models import MailOutbox, Notification, Staff
from policies.routines.notifications import Notifications, load_notifications, render

__all__ = ["FINISHED", "MailSettings", "Mailer", "SmtpMailer", "send_pending_mail"]

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
# The states an outbox row ends in; "pending" (waiting, or claimed under a lease) is not one of them
FINISHED = ("sent", "failed", "no_address", "mail_off")
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})  # a login in clear text never leaves the machine


@dataclass(frozen=True)
class MailSettings:
    """Where mail goes: the SMTP server's URL (None: mail is off), the sender, and the address links start at."""

    smtp_url: str | None
    mail_from: str
    base_url: str = DEFAULT_BASE_URL

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> MailSettings:
        """VIDORO_SMTP_URL, VIDORO_MAIL_FROM and VIDORO_BASE_URL, as `web.config` reads them too."""
        env = os.environ if environ is None else environ
        return cls(smtp_url=env.get("VIDORO_SMTP_URL") or None,
                   mail_from=env.get("VIDORO_MAIL_FROM") or "vidoro@localhost",
                   base_url=(env.get("VIDORO_BASE_URL") or DEFAULT_BASE_URL).rstrip("/"))


class Mailer(Protocol):
    """Sends one message; raises `OSError` or `smtplib.SMTPException` when it could not."""

    def send(self, message: EmailMessage) -> None: ...

    def close(self) -> None: ...


class SmtpMailer:
    """The standard library's SMTP client on one connection, opened at the first message.

    `smtp://host:port` (plain; `?starttls=1` upgrades it), `smtps://host:port` (TLS from the start), and
    `user:password@` for a server that wants a login: only over TLS (smtps or starttls), or to this machine
    (127.0.0.1, ::1, localhost), so a password never crosses a network in clear. The password is never logged or
    shown. `timeout`: seconds the server may take to answer (`policies/routines/notifications.toml [mail]`)."""

    def __init__(self, url: str, *, timeout: float | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("VIDORO_SMTP_URL must be smtp://host:port or smtps://host:port")
        self.tls = parts.scheme == "smtps"
        self.starttls = parse_qs(parts.query).get("starttls", ["0"])[0].lower() in ("1", "true", "yes")
        self.host, self.port = parts.hostname, parts.port or (465 if self.tls else 25)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        if (self.user is not None or self.password is not None) and not (self.tls or self.starttls) \
                and self.host.lower() not in _LOOPBACK:
            raise ValueError("VIDORO_SMTP_URL has a user and password but no TLS: the password would cross the "
                             "network in clear; use smtps://… or smtp://…?starttls=1")
        self.timeout = load_notifications().mail.timeout_seconds if timeout is None else timeout
        self._smtp: smtplib.SMTP | None = None

    def send(self, message: EmailMessage) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
        self._smtp.send_message(message)

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        smtp = (smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context) if self.tls
                else smtplib.SMTP(self.host, self.port, timeout=self.timeout))
        try:
            if self.starttls and not self.tls:
                smtp.starttls(context=context)
            if self.user is not None:
                smtp.login(self.user, self.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp


@dataclass(frozen=True)
class _Claimed:
    id: int
    notification_id: str
    kind: str
    case_ref: str | None
    email: str | None
    unread: int
    attempts: int  # the claim's number: this worker's while the row's attempts are still this


def send_pending_mail(database: Database, *, now: datetime, settings: MailSettings | None = None,
                      mailer: Mailer | None = None) -> str:
    """Send the waiting mails (one batch); a one-line summary with counts only."""
    settings = settings or MailSettings.from_env()
    policy = load_notifications()
    if settings.smtp_url is None and mailer is None:
        return f"mail off on this server: {_waiting(database)} waiting"  # left for a server with mail
    # A URL refused (a password without TLS) is refused before anything is claimed
    mailer = mailer or SmtpMailer(settings.smtp_url or "", timeout=policy.mail.timeout_seconds)
    claimed = _claim(database, now, policy)
    if not claimed:
        return "0 mails sent"
    sent = failed = skipped = lost = 0
    try:
        for row in claimed:
            if not _still_mine(database, row):  # the lease ran out and another worker took the mail over
                lost += 1
                continue
            if not row.email:
                _finish(database, row, state="no_address", now=now)
                skipped += 1
                continue
            message = _message(row, settings, policy, now)
            try:
                mailer.send(message)
            except (OSError, smtplib.SMTPException):
                _failed(database, row, now, policy)
                failed += 1
                mailer.close()  # a broken connection is opened afresh for the next one
                continue
            sent += 1  # sent, whether or not it is still this worker's to mark
            lost += not _finish(database, row, state="sent", now=now, message_id=str(message["Message-ID"]))
    finally:
        mailer.close()
    taken = f", {lost} taken over by another worker" if lost else ""
    return f"{sent} mails sent, {failed} failed, {skipped} without address{taken}"


def _claim(database: Database, now: datetime, policy: Notifications) -> list[_Claimed]:
    """Take a batch of waiting mails for the lease, in one short transaction."""
    rules = policy.mail
    with database.write() as session:
        query = (select(MailOutbox).where(MailOutbox.state == "pending",
                                          (MailOutbox.claimed_until.is_(None)) | (MailOutbox.claimed_until <= now))
                 .order_by(MailOutbox.id).limit(rules.batch))
        if not database.is_sqlite:
            query = query.with_for_update(skip_locked=True, of=MailOutbox)
        rows = []
        for row in session.scalars(query).all():
            if row.attempts >= rules.max_attempts:  # claimed that often and never finished: a worker died on it
                row.state, row.claimed_until = "failed", None
                continue
            row.claimed_until = now + timedelta(seconds=rules.lease_seconds)
            row.attempts += 1
            rows.append(row)
        if not rows:
            return []
        notes = {n.id: n for n in session.scalars(select(Notification).where(
            Notification.id.in_([r.notification_id for r in rows])))}
        staff = sorted({r.staff_id for r in rows})
        emails = {row.id: row.email for row in session.execute(
            select(Staff.id, Staff.email).where(Staff.id.in_(staff), Staff.active.is_(True)))}
        unread = {row.staff_id: row.unread for row in session.execute(
            select(Notification.staff_id, func.count().label("unread")).where(
                Notification.staff_id.in_(staff), Notification.read_at.is_(None)).group_by(Notification.staff_id))}
        return [_Claimed(r.id, r.notification_id, notes[r.notification_id].kind, notes[r.notification_id].case_ref,
                         emails.get(r.staff_id), unread.get(r.staff_id, 0), r.attempts) for r in rows]


def _message(row: _Claimed, settings: MailSettings, policy: Notifications, now: datetime) -> EmailMessage:
    kind = policy[row.kind]
    link = settings.base_url + policy.mail.path

    def text(template: str) -> str:
        return render(template, count=row.unread, case_ref=row.case_ref, link=link)

    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = row.email
    message["Subject"] = text(kind.subject.sv)
    message["Date"] = format_datetime(now)
    domain = settings.mail_from.rpartition("@")[2] or "localhost"
    # The same for every attempt: a mail sent again after a crash is recognisably the same mail
    message["Message-ID"] = f"<vidoro.{row.notification_id}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies back
    message.set_content(text(kind.body.sv) + "\n\n--\n\n" + text(kind.body.en) + "\n")
    return message


def _mine(row: _Claimed) -> ColumnElement[bool]:
    """The outbox row as this worker claimed it: still waiting, under this claim (no other claimed it since)."""
    return and_(MailOutbox.id == row.id, MailOutbox.state == "pending", MailOutbox.attempts == row.attempts)


def _still_mine(database: Database, row: _Claimed) -> bool:
    with database.read() as session:
        return session.scalar(select(MailOutbox.id).where(_mine(row))) is not None


def _settle(database: Database, row: _Claimed, **values: object) -> bool:
    """Write `values` to the row only under this worker's claim; False (nothing written) if it was taken over."""
    with database.write() as session:
        result = session.execute(update(MailOutbox).where(_mine(row)).values(**values)
                                 .execution_options(synchronize_session=False))
        return bool(cast("CursorResult[Any]", result).rowcount)


def _finish(database: Database, row: _Claimed, *, state: str, now: datetime, message_id: str | None = None) -> bool:
    sent = {"sent_at": now, "message_id": message_id} if state == "sent" else {}
    return _settle(database, row, state=state, claimed_until=None, **sent)


def _failed(database: Database, row: _Claimed, now: datetime, policy: Notifications) -> bool:
    """One attempt failed: tried again after `retry_seconds`, or given up after `max_attempts`."""
    if row.attempts >= policy.mail.max_attempts:
        return _settle(database, row, state="failed", claimed_until=None)
    return _settle(database, row, claimed_until=now + timedelta(seconds=policy.mail.retry_seconds))


def _waiting(database: Database) -> int:
    with database.read() as session:
        return session.scalar(select(func.count()).select_from(MailOutbox).where(MailOutbox.state == "pending")) or 0
