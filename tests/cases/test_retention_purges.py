"""The retention job's purges on both databases: exactly the expired web sessions, idempotency keys, sign-in
attempts, ended request-count windows, notifications and finished outbox mails go; the live ones stay (a mail
still waiting or claimed, and its notification, however old); a dry run counts them and deletes nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from cases.models import ApiRequestCount, IdempotencyRecord, MailOutbox, Notification, SignInAttempt, WebSession
from cases.retention import purge_expired, run_retention_job
from cases.staff.ratelimit import RECHECK_WINDOW_SECONDS, WINDOW_SECONDS
from tests.conftest import NOW


def _fill(db, staff) -> None:
    someone = staff["caseworker"].id
    minute, recheck = int(NOW.timestamp()) // WINDOW_SECONDS, int(NOW.timestamp()) // RECHECK_WINDOW_SECONDS
    with db.write() as session:
        session.add_all([
            WebSession(id="live", staff_id=someone, created_at=NOW - timedelta(hours=2),
                       last_seen_at=NOW - timedelta(minutes=5)),
            WebSession(id="idle", staff_id=someone, created_at=NOW - timedelta(hours=2),
                       last_seen_at=NOW - timedelta(minutes=31)),
            WebSession(id="too-old", staff_id=someone, created_at=NOW - timedelta(hours=10, minutes=1),
                       last_seen_at=NOW - timedelta(minutes=1)),
            IdempotencyRecord(staff_id=someone, key="fresh", fingerprint="f", status=201, answer={},
                              created_at=NOW - timedelta(hours=23)),
            IdempotencyRecord(staff_id=someone, key="stale", fingerprint="f", status=201, answer={},
                              created_at=NOW - timedelta(hours=25)),
            SignInAttempt(username_hash="h", address="127.0.0.1", at=NOW - timedelta(days=29), succeeded=True),
            SignInAttempt(username_hash="h", address="127.0.0.1", at=NOW - timedelta(days=31), succeeded=False),
            ApiRequestCount(subject="token:a", window=minute, count=3),
            ApiRequestCount(subject="token:a", window=minute - 1, count=3),
            ApiRequestCount(subject="account:b", window=minute - 500, count=3),
            ApiRequestCount(subject="recheck:b", window=recheck, count=1),
            ApiRequestCount(subject="recheck:b", window=recheck - 1, count=1),
        ])


def _left(db) -> dict[str, set]:
    with db.read() as session:
        return {
            "sessions": set(session.scalars(select(WebSession.id))),
            "keys": set(session.scalars(select(IdempotencyRecord.key))),
            "attempts": {a.succeeded for a in session.scalars(select(SignInAttempt))},
            "counts": set(session.execute(select(ApiRequestCount.subject, ApiRequestCount.window))),
        }


def test_the_purges_remove_exactly_the_expired_rows(db, staff):
    _fill(db, staff)
    before = _left(db)
    counted = purge_expired(db, now=NOW, dry_run=True)
    assert (counted.sessions, counted.idempotency_keys, counted.sign_in_attempts,
            counted.request_counts, counted.notifications, counted.mails) == (2, 1, 1, 3, 0, 0)
    assert _left(db) == before
    purged = purge_expired(db, now=NOW)
    assert purged == counted
    left = _left(db)
    minute, recheck = int(NOW.timestamp()) // WINDOW_SECONDS, int(NOW.timestamp()) // RECHECK_WINDOW_SECONDS
    assert left == {"sessions": {"live"}, "keys": {"fresh"}, "attempts": {True},
                    "counts": {("token:a", minute), ("recheck:b", recheck)}}
    assert purge_expired(db, now=NOW).total == 0


def test_the_job_purges_with_the_instances_session_limits_and_says_so_in_counts(db, staff):
    _fill(db, staff)
    summary = run_retention_job(db, now=NOW, session_idle=timedelta(hours=3), session_max=timedelta(hours=12))
    assert summary == ("0 erased, 0 failed, 0 kept; purged 0 sessions, 1 idempotency keys, 1 sign-in attempts, "
                       "3 request counts, 0 notifications, 0 outbox mails")
    assert _left(db)["sessions"] == {"live", "idle", "too-old"}


# --- notifications and the outbox (retention.toml [purges]: read 90 days, unread 365, finished mails 30) -------

DAY = timedelta(days=1)
# name: (read how long ago, None if unread; made how long ago; its mail's state and how long ago it was queued,
# None if no mail). A "claimed" mail is stored as pending with a lease that has not run out.
NOTES = {
    "read-recently": (89 * DAY, 100 * DAY, None),
    "read-long-ago": (91 * DAY, 100 * DAY, None),
    "unread-young": (None, 364 * DAY, None),
    "unread-old": (None, 366 * DAY, None),
    "unread-old-mail-waiting": (None, 400 * DAY, ("pending", 400 * DAY)),
    "read-long-ago-mail-claimed": (200 * DAY, 400 * DAY, ("claimed", 400 * DAY)),
    "read-long-ago-mail-sent": (91 * DAY, 91 * DAY, ("sent", 91 * DAY)),
    "new-mail-sent": (None, 29 * DAY, ("sent", 29 * DAY)),
    "new-mail-failed": (None, 31 * DAY, ("failed", 31 * DAY)),
    "new-mail-no-address": (None, 31 * DAY, ("no_address", 31 * DAY)),
    "new-mail-off": (None, 40 * DAY, ("mail_off", 40 * DAY)),
    "new-mail-waiting": (None, 40 * DAY, ("pending", 40 * DAY)),
    "unread-old-mail-off": (None, 366 * DAY, ("mail_off", 20 * DAY)),  # switched off late: goes with its note
}


def _fill_notifications(db, staff) -> None:
    someone = staff["caseworker"].id
    with db.write() as session:
        for name, (read, made, _mail) in NOTES.items():
            session.add(Notification(id=name, staff_id=someone, kind="deadline_reminder", key=name,
                                     case_ref="VO-TEST0001", created_at=NOW - made,
                                     read_at=None if read is None else NOW - read))
        session.flush()
        for name, (_read, _made, mail) in NOTES.items():
            if mail is not None:
                state, queued = mail
                claimed = state == "claimed"
                session.add(MailOutbox(staff_id=someone, notification_id=name,
                                       state="pending" if claimed else state, attempts=1 if claimed else 0,
                                       claimed_until=NOW + timedelta(minutes=5) if claimed else None,
                                       created_at=NOW - queued, sent_at=NOW - queued if state == "sent" else None))


def _notifications_left(db) -> tuple[set[str], set[str]]:
    with db.read() as session:
        return (set(session.scalars(select(Notification.id))),
                set(session.scalars(select(MailOutbox.notification_id))))


def test_the_purge_removes_exactly_the_expired_notifications_and_finished_mails(db, staff):
    _fill_notifications(db, staff)
    before = _notifications_left(db)
    counted = purge_expired(db, now=NOW, dry_run=True)
    assert (counted.notifications, counted.mails) == (4, 5)
    assert _notifications_left(db) == before
    purged = purge_expired(db, now=NOW)
    assert purged == counted
    notes, mails = _notifications_left(db)
    assert notes == {"read-recently", "unread-young", "unread-old-mail-waiting", "read-long-ago-mail-claimed",
                     "new-mail-sent", "new-mail-failed", "new-mail-no-address", "new-mail-off", "new-mail-waiting"}
    assert mails == {"unread-old-mail-waiting", "read-long-ago-mail-claimed", "new-mail-sent", "new-mail-waiting"}
    with db.read() as session:  # the waiting and claimed mails are untouched, lease and all
        claimed = session.scalars(select(MailOutbox).where(
            MailOutbox.notification_id == "read-long-ago-mail-claimed")).one()
        assert (claimed.state, claimed.attempts, claimed.claimed_until) == ("pending", 1, NOW + timedelta(minutes=5))
    again = purge_expired(db, now=NOW)
    assert again.total == 0 and _notifications_left(db) == (notes, mails)


def test_a_notification_goes_once_its_mail_is_finished(db, staff):
    _fill_notifications(db, staff)
    purge_expired(db, now=NOW)
    with db.write() as session:
        for mail in session.scalars(select(MailOutbox).where(MailOutbox.state == "pending")):
            mail.state, mail.claimed_until = "sent", None
    later = purge_expired(db, now=NOW + timedelta(hours=12))
    assert (later.notifications, later.mails) == (2, 3)
    assert _notifications_left(db) == ({"read-recently", "unread-young", "new-mail-sent", "new-mail-failed",
                                        "new-mail-no-address", "new-mail-off", "new-mail-waiting"},
                                       {"new-mail-sent"})


def test_the_job_says_how_many_notifications_and_mails_it_purged(db, staff):
    _fill_notifications(db, staff)
    summary = run_retention_job(db, now=NOW)
    assert summary.endswith("0 request counts, 4 notifications, 5 outbox mails")
