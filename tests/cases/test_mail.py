"""The e-mail job against a real SMTP server on 127.0.0.1 (aiosmtpd, on a free port), on both databases: what
was sent holds no identity number, name or concern text of the case; each mail is sent once, a second run at
the same moment sends nothing; a failed attempt is retried later and given up after the attempts allowed; a
worker that dies mid-batch sends again at most the one mail in flight; without VIDORO_SMTP_URL nothing is sent."""

from __future__ import annotations

import email
import socket
from datetime import date, timedelta
from email import policy as email_policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from cases import ConcernForm, register_concern
from cases.crypto.identity import generate_identity_number
from cases.models import MailOutbox, Notification
from cases.notifications import MailSettings, notify, send_pending_mail
from cases.staff.administration import set_email
from policies.routines.notifications import load_notifications
from tests.cases.route_v2 import PATHS, drive
from tests.conftest import NOW

GIVEN, FAMILY = "Zlatana", "Qvarnströmsson"
CONCERN = "Eleven visar filmer från en våldsbejakande grupp och talar om att resa till ett läger i sommar."


class Inbox:
    """aiosmtpd's handler: keeps every message's envelope and raw bytes."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls it by this name
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp():
    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, MailSettings(smtp_url=f"smtp://127.0.0.1:{port}", mail_from="vidoro@kommun.example",
                                  base_url="https://vidoro.kommun.example")
    finally:
        controller.stop()


def _outbox(db) -> list[MailOutbox]:
    with db.read() as s:
        return list(s.scalars(select(MailOutbox).order_by(MailOutbox.id)))


def _queue(db, staff, n: int) -> None:
    """`n` notifications to the caseworker, each with a mail."""
    with db.write() as s:
        for i in range(n):
            notify(s, recipients=[staff["caseworker"].id], kind="deadline_reminder", key=f"reminder:{i}",
                   now=NOW, case_ref="VO-ABCDEFGH")


@pytest.mark.usefixtures("flowchart_v2")
def test_the_mails_of_a_referral_hold_no_personal_data_and_go_once(db, staff, smtp):
    inbox, settings = smtp
    number = generate_identity_number(date(2001, 3, 2), 301)
    ref = register_concern(db, staff["reporter"], ConcernForm(
        concern=CONCERN, reporter_org="school", identity_number=number, given_name=GIVEN, family_name=FAMILY,
        acute_danger=True, police_contacted_at=NOW), now=NOW).ref
    last = drive(db, staff, ref, PATHS["sig"][1], NOW)
    set_email(db, None, "partner-1", "partner-1@example.org", now=last)
    set_email(db, None, "caseworker-1", "caseworker-1@example.org", now=last)
    with db.write() as s:  # the deadline job's kind of notification, to a person with an address
        notify(s, recipients=[staff["caseworker"].id], kind="deadline_passed", key=f"passed:{ref}", now=last,
               case_ref=ref)
        # the packet's notification was made before the partner had an address: it is on the list, not mailed
    assert len(_outbox(db)) == 1
    with db.write() as s:
        notify(s, recipients=[staff["partner"].id], kind="consent_withdrawn", key=f"withdrawn:{ref}", now=last,
               case_ref=ref)
    summary = send_pending_mail(db, now=last, settings=settings)
    assert summary == "2 mails sent, 0 failed, 0 without address"
    assert sorted(rcpt for _, (rcpt,), _ in inbox.messages) == ["caseworker-1@example.org", "partner-1@example.org"]
    secrets = [number, number.replace("-", ""), number.replace("-", "")[2:], GIVEN, FAMILY, CONCERN[:20],
               "Test partner", "Test caseworker"]
    for _, _, raw in inbox.messages:
        message = email.message_from_bytes(raw, policy=email_policy.default)
        text = raw.decode("utf-8", "replace") + str(message["Subject"]) + message.get_content()
        for secret in secrets:
            assert secret.lower() not in text.lower(), secret
        assert ref in str(message["Subject"])
        assert "https://vidoro.kommun.example/notifications" in message.get_content()
    assert all(m.state == "sent" and m.sent_at == last and m.message_id for m in _outbox(db))
    assert send_pending_mail(db, now=last, settings=settings) == "0 mails sent"
    assert len(inbox.messages) == 2


def test_a_server_without_an_smtp_url_sends_nothing_and_leaves_the_mail_to_one_with_mail(db, staff, smtp):
    """Two servers on one database, one without mail: its job touches no row, and the other's sends them all."""
    inbox, settings = smtp
    set_email(db, None, "caseworker-1", "caseworker-1@example.org", now=NOW)
    _queue(db, staff, 2)
    off = MailSettings(smtp_url=None, mail_from="vidoro@kommun.example")
    assert send_pending_mail(db, now=NOW, settings=off) == "mail off on this server: 2 waiting"
    assert [(m.state, m.attempts, m.claimed_until) for m in _outbox(db)] == [("pending", 0, None)] * 2
    assert inbox.messages == []
    with db.read() as s:
        assert len(s.scalars(select(Notification.id)).all()) == 2
    assert send_pending_mail(db, now=NOW, settings=settings) == "2 mails sent, 0 failed, 0 without address"
    assert len(inbox.messages) == 2 and [m.state for m in _outbox(db)] == ["sent", "sent"]


def test_an_address_removed_before_sending_is_not_mailed(db, staff, smtp):
    inbox, settings = smtp
    set_email(db, None, "caseworker-1", "caseworker-1@example.org", now=NOW)
    _queue(db, staff, 1)
    set_email(db, None, "caseworker-1", "", now=NOW)
    assert send_pending_mail(db, now=NOW, settings=settings) == "0 mails sent, 0 failed, 1 without address"
    assert inbox.messages == [] and [m.state for m in _outbox(db)] == ["no_address"]


class Failing:
    """A mailer whose server refuses every message."""

    def __init__(self) -> None:
        self.tries = 0

    def send(self, message) -> None:
        self.tries += 1
        raise ConnectionRefusedError("no server")

    def close(self) -> None:
        pass


def test_a_failed_mail_is_retried_later_and_given_up_after_the_attempts_allowed(db, staff):
    rules = load_notifications().mail
    set_email(db, None, "caseworker-1", "caseworker-1@example.org", now=NOW)
    _queue(db, staff, 1)
    settings = MailSettings(smtp_url="smtp://127.0.0.1:9", mail_from="vidoro@kommun.example")
    mailer, moment = Failing(), NOW
    assert send_pending_mail(db, now=moment, settings=settings, mailer=mailer).startswith("0 mails sent, 1 failed")
    assert send_pending_mail(db, now=moment, settings=settings, mailer=mailer) == "0 mails sent"  # not yet again
    for _ in range(rules.max_attempts - 1):
        moment += timedelta(seconds=rules.retry_seconds)
        send_pending_mail(db, now=moment, settings=settings, mailer=mailer)
    (row,) = _outbox(db)
    assert (row.state, row.attempts, mailer.tries) == ("failed", rules.max_attempts, rules.max_attempts)
    moment += timedelta(days=1)
    assert send_pending_mail(db, now=moment, settings=settings, mailer=mailer) == "0 mails sent"


class Crash(BaseException):
    """The worker dies (as SIGKILL would end it) after a message left."""


class DiesAfterOne:
    def __init__(self, inner) -> None:
        self.inner, self.sent = inner, 0

    def send(self, message) -> None:
        self.inner.send(message)
        self.sent += 1
        raise Crash  # sent, and never marked sent

    def close(self) -> None:
        self.inner.close()


def test_a_worker_that_dies_mid_batch_resends_at_most_the_one_in_flight(db, staff, smtp):
    from cases.notifications import SmtpMailer

    inbox, settings = smtp
    rules = load_notifications().mail
    set_email(db, None, "caseworker-1", "caseworker-1@example.org", now=NOW)
    _queue(db, staff, 3)
    with pytest.raises(Crash):
        send_pending_mail(db, now=NOW, settings=settings, mailer=DiesAfterOne(SmtpMailer(settings.smtp_url or "")))
    assert len(inbox.messages) == 1
    assert send_pending_mail(db, now=NOW, settings=settings) == "0 mails sent"  # still claimed by the dead one
    after = NOW + timedelta(seconds=rules.lease_seconds)
    assert send_pending_mail(db, now=after, settings=settings) == "3 mails sent, 0 failed, 0 without address"
    ids = [email.message_from_bytes(raw)["Message-ID"] for _, _, raw in inbox.messages]
    assert len(ids) == 4 and len(set(ids)) == 3  # the one in flight twice, each other once


def test_two_workers_at_once_send_each_mail_once(db, staff, smtp):
    """Two jobs racing over one outbox (threads on one database handle; SKIP LOCKED on PostgreSQL)."""
    from concurrent.futures import ThreadPoolExecutor

    inbox, settings = smtp
    rules = load_notifications().mail
    set_email(db, None, "caseworker-1", "caseworker-1@example.org", now=NOW)
    total = rules.batch * 2 + 7
    _queue(db, staff, total)
    with ThreadPoolExecutor(max_workers=2) as pool:
        for _ in range(4):  # bounded: four rounds of two racing jobs are more than the outbox needs
            list(pool.map(lambda _: send_pending_mail(db, now=NOW, settings=settings), range(2)))
    ids = [email.message_from_bytes(raw)["Message-ID"] for _, _, raw in inbox.messages]
    assert len(ids) == len(set(ids)) == total
    assert all(m.state == "sent" for m in _outbox(db))


@pytest.mark.parametrize(("url", "expected"), [
    ("smtp://127.0.0.1:8025", ("127.0.0.1", 8025, False, False, None, None)),
    ("smtp://mail.example:587?starttls=1", ("mail.example", 587, False, True, None, None)),
    ("smtps://vidoro:p%40ss@mail.example", ("mail.example", 465, True, False, "vidoro", "p@ss")),
])
def test_the_smtp_url_says_where_how_and_as_whom(url, expected):
    from cases.notifications import SmtpMailer

    mailer = SmtpMailer(url)
    assert (mailer.host, mailer.port, mailer.tls, mailer.starttls, mailer.user, mailer.password) == expected


@pytest.mark.parametrize("url", ["http://mail.example", "smtp://", "mail.example:25"])
def test_an_smtp_url_of_another_kind_is_refused(url):
    from cases.notifications import SmtpMailer

    with pytest.raises(ValueError):
        SmtpMailer(url)


def test_a_mail_that_kills_its_worker_every_time_is_given_up(db, staff, smtp):
    from cases.notifications import SmtpMailer

    inbox, settings = smtp
    rules = load_notifications().mail
    set_email(db, None, "caseworker-1", "caseworker-1@example.org", now=NOW)
    _queue(db, staff, 1)
    moment = NOW
    for _ in range(rules.max_attempts):  # bounded: one death per attempt allowed
        with pytest.raises(Crash):
            send_pending_mail(db, now=moment, settings=settings,
                              mailer=DiesAfterOne(SmtpMailer(settings.smtp_url or "")))
        moment += timedelta(seconds=rules.lease_seconds)
    assert send_pending_mail(db, now=moment, settings=settings) == "0 mails sent"
    assert [m.state for m in _outbox(db)] == ["failed"] and len(inbox.messages) == rules.max_attempts


class Recording:
    """A mailer that keeps each message's Message-ID; `during` runs inside the first send (another worker)."""

    def __init__(self, during=None) -> None:
        self.ids: list[str] = []
        self.during = during

    def send(self, message) -> None:
        self.ids.append(str(message["Message-ID"]))
        if self.during is not None:
            during, self.during = self.during, None
            during()

    def close(self) -> None:
        pass


def test_a_worker_whose_claim_was_taken_over_neither_sends_nor_marks_the_mails(db, staff):
    """The first worker's lease runs out during its first mail and a second worker takes both mails over and
    sends them: the first marks nothing (the second's moment stands) and does not send the other mail again."""
    rules = load_notifications().mail
    set_email(db, None, "caseworker-1", "caseworker-1@example.org", now=NOW)
    _queue(db, staff, 2)
    settings = MailSettings(smtp_url="smtp://127.0.0.1:9", mail_from="vidoro@kommun.example")
    later = NOW + timedelta(seconds=rules.lease_seconds)
    second = Recording()
    summaries = []

    def take_over() -> None:
        summaries.append(send_pending_mail(db, now=later, settings=settings, mailer=second))

    first = Recording(during=take_over)
    summary = send_pending_mail(db, now=NOW, settings=settings, mailer=first)
    assert summaries == ["2 mails sent, 0 failed, 0 without address"]
    assert summary == "1 mails sent, 0 failed, 0 without address, 2 taken over by another worker"
    assert len(first.ids) == 1 and len(second.ids) == 2  # only the one in flight went twice
    assert [(m.state, m.sent_at, m.attempts) for m in _outbox(db)] == [("sent", later, 2)] * 2


def test_a_failure_after_a_take_over_does_not_undo_the_other_workers_send(db, staff):
    rules = load_notifications().mail
    set_email(db, None, "caseworker-1", "caseworker-1@example.org", now=NOW)
    _queue(db, staff, 1)
    settings = MailSettings(smtp_url="smtp://127.0.0.1:9", mail_from="vidoro@kommun.example")
    later = NOW + timedelta(seconds=rules.lease_seconds)

    class FailsAfterTakeOver(Failing):
        def send(self, message) -> None:
            send_pending_mail(db, now=later, settings=settings, mailer=Recording())
            super().send(message)

    assert send_pending_mail(db, now=NOW, settings=settings, mailer=FailsAfterTakeOver()).startswith(
        "0 mails sent, 1 failed")
    assert [(m.state, m.sent_at, m.claimed_until) for m in _outbox(db)] == [("sent", later, None)]


@pytest.mark.parametrize("url", ["smtp://vidoro:secret@mail.example:25", "smtp://vidoro@mail.example:587",
                                 "smtp://vidoro:secret@mail.example:587?starttls=0"])
def test_a_login_without_tls_to_another_machine_is_refused(url):
    from cases.notifications import SmtpMailer

    with pytest.raises(ValueError, match="no TLS") as refused:
        SmtpMailer(url)
    assert "secret" not in str(refused.value)


@pytest.mark.parametrize("url", ["smtps://vidoro:secret@mail.example", "smtp://vidoro:secret@mail.example:587?starttls=1",
                                 "smtp://vidoro:secret@127.0.0.1:25", "smtp://vidoro:secret@localhost:25",
                                 "smtp://vidoro:secret@[::1]:25"])
def test_a_login_over_tls_or_on_this_machine_is_allowed(url):
    from cases.notifications import SmtpMailer

    assert SmtpMailer(url).user == "vidoro"


def test_a_refused_smtp_url_claims_nothing(db, staff):
    set_email(db, None, "caseworker-1", "caseworker-1@example.org", now=NOW)
    _queue(db, staff, 1)
    settings = MailSettings(smtp_url="smtp://vidoro:secret@mail.example:25", mail_from="vidoro@kommun.example")
    with pytest.raises(ValueError, match="no TLS"):
        send_pending_mail(db, now=NOW, settings=settings)
    assert [(m.state, m.attempts, m.claimed_until) for m in _outbox(db)] == [("pending", 0, None)]
