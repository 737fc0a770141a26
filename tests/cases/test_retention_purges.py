"""The retention job's purges on both databases: exactly the expired web sessions, idempotency keys, sign-in
attempts and ended request-count windows go; the live ones stay; a dry run counts them and deletes nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from cases.models import ApiRequestCount, IdempotencyRecord, SignInAttempt, WebSession
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
            counted.request_counts) == (2, 1, 1, 3)
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
                       "3 request counts")
    assert _left(db)["sessions"] == {"live", "idle", "too-old"}
