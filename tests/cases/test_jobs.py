"""The job queue and runner (cases.jobs): one row per occurrence however many workers offer it, each job run
once, retries with back-off then failure, a lost lease records nothing, and the checkpoints as a job. Runs on
SQLite and on PostgreSQL; the clock is passed in."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from cases.audit.checkpoints import CheckpointRounds
from cases.audit.signing import LogSigner
from cases.jobs import DONE, FAILED, MAX_ATTEMPTS, QUEUED, Runner, Schedule, UnknownJob, enqueue, job_counts, queue
from cases.jobs.runner import Heartbeat, retry_in
from cases.models import Checkpoint, Job
from policies.model import Label
from policies.routines.jobs import JobSchedule

START = datetime(2026, 12, 7, 22, 0, 30, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def every(name: str, seconds: float) -> Schedule:
    return Schedule.of(JobSchedule(name, Label("Jobb", "Job"), every=seconds), "Europe/Stockholm")


def rows(db, name: str | None = None) -> list[Job]:
    with db.read() as session:
        query = select(Job).order_by(Job.id)
        return list(session.scalars(query if name is None else query.where(Job.name == name)))


def test_two_workers_offering_the_same_occurrence_make_one_row_and_run_it_once(db):
    calls: list[datetime] = []

    def tick(database, *, now):
        calls.append(now)
        return "1 tick"

    clock = Clock()
    first, second = (Runner(db, {"tick": tick}, {"tick": every("tick", 60)}, clock=clock, report=lambda _: None)
                     for _ in range(2))
    assert [r.state for r in first.run_due()] == [DONE]
    assert second.run_due() == [] and first.run_due() == []  # the same moment again: nothing
    clock.now += timedelta(seconds=61)
    assert [r.summary for r in second.run_due()] == ["1 tick"]
    assert first.run_due() == []
    done = rows(db, "tick")
    assert [(r.state, r.attempts, r.slot, r.result) for r in done] == [
        (DONE, 1, datetime(2026, 12, 7, 22, 0, tzinfo=UTC), "1 tick"),
        (DONE, 1, datetime(2026, 12, 7, 22, 1, tzinfo=UTC), "1 tick")]
    assert len(calls) == 2
    assert job_counts(db) == {("tick", DONE): 2}


def test_a_queued_job_is_queued_once_per_key_in_the_callers_transaction(db):
    ran: list[str] = []
    clock = Clock()
    with db.write() as session:
        assert enqueue(session, name="mail", key="packet-1", now=clock.now)
        assert not enqueue(session, name="mail", key="packet-1", now=clock.now)
    with pytest.raises(RuntimeError), db.write() as session:
        enqueue(session, name="mail", key="packet-2", now=clock.now)
        raise RuntimeError("the caller's change failed: its job goes with it")
    runner = Runner(db, {"mail": lambda database, *, now: ran.append("x") or "1 sent"}, {}, clock=clock)
    assert [r.name for r in runner.run_due()] == ["mail"]
    assert ran == ["x"] and [r.key for r in rows(db)] == ["packet-1"]


def test_a_failing_job_is_tried_again_after_a_back_off_then_marked_failed(db, caplog):
    clock = Clock()

    def broken(database, *, now):
        raise ZeroDivisionError("19791231-1234 must never reach a log")  # an exception's text is never kept

    reports: list[str] = []
    runner = Runner(db, {"broken": broken}, {"broken": every("broken", 3600)}, clock=clock, report=reports.append)
    with caplog.at_level(logging.INFO, logger="vidoro.cases"):
        for attempt in range(1, MAX_ATTEMPTS + 1):
            ran = runner.run_due()
            assert [(r.attempt, r.state) for r in ran] == [(attempt, QUEUED if attempt < MAX_ATTEMPTS else FAILED)]
            assert runner.run_due() == []  # not before its back-off has passed
            clock.now += retry_in(attempt)
    assert runner.run_due() == []  # failed for good: not tried again
    [row] = rows(db, "broken")
    assert (row.state, row.attempts, row.error) == (FAILED, MAX_ATTEMPTS, "ZeroDivisionError")
    assert [retry_in(n) for n in (1, 2, 3, 9)] == [timedelta(seconds=30), timedelta(seconds=60),
                                                   timedelta(seconds=120), timedelta(hours=1)]
    lines = [r for r in caplog.records if r.getMessage() == "job_run"]
    assert [r.vidoro for r in lines][-1] == {"event": "job_run", "outcome": "failed", "job": "broken",
                                             "attempt": MAX_ATTEMPTS, "error": "ZeroDivisionError"}
    assert "19791231" not in caplog.text and not any("19791231" in r for r in reports)
    assert job_counts(db) == {("broken", FAILED): 1}


def test_a_job_whose_worker_died_is_taken_over_when_its_lease_runs_out_and_the_late_worker_records_nothing(db):
    clock = Clock()
    assert queue.offer(db, "sweep", START, now=START)
    lease = timedelta(minutes=1)
    dead = queue.claim(db, "dead-worker", names={"sweep"}, now=START, lease=lease, max_attempts=3)
    assert dead is not None and dead.attempt == 1
    assert queue.claim(db, "other", names={"sweep"}, now=START + lease, lease=lease, max_attempts=3) is None
    clock.now = START + lease + timedelta(seconds=1)
    runner = Runner(db, {"sweep": lambda database, *, now: "0 swept"}, {}, clock=clock, owner="other")
    assert [(r.attempt, r.state) for r in runner.run_due()] == [(2, DONE)]
    assert not queue.finish(db, dead, now=clock.now, result="late")  # the first worker came back too late
    [row] = rows(db, "sweep")
    assert (row.state, row.lease_owner, row.result, row.attempts) == (DONE, "other", "0 swept", 2)


def test_a_job_whose_workers_keep_dying_fails_after_its_last_attempt(db):
    now, lease = START, timedelta(seconds=10)
    queue.offer(db, "sweep", START, now=START)
    for _ in range(2):
        assert queue.claim(db, "doomed", names={"sweep"}, now=now, lease=lease, max_attempts=2) is not None
        now += lease + timedelta(seconds=1)
    assert queue.claim(db, "doomed", names={"sweep"}, now=now, lease=lease, max_attempts=2) is None
    [row] = rows(db, "sweep")
    assert (row.state, row.error) == (FAILED, queue.LEASE_LOST)


def test_a_schedule_naming_a_job_no_code_runs_stops_the_runner(db):
    with pytest.raises(UnknownJob, match="retention"):
        Runner(db, {}, {"retention": every("retention", 60)})


def test_finished_rows_are_kept_ninety_days_and_each_jobs_newest_always(db):
    clock = Clock()
    runner = Runner(db, {"tick": lambda database, *, now: "ok"}, {"tick": every("tick", 86400)}, clock=clock)
    for _ in range(3):
        runner.run_due()  # purges as it goes: the third pass, 100 days on, removes the first row
        clock.now += timedelta(days=50)
    assert [r.slot.date().isoformat() for r in rows(db, "tick")] == ["2027-01-26", "2027-03-17"]
    assert queue.purge_finished(db, before=clock.now + timedelta(days=999)) == 1  # never the newest
    assert len(rows(db, "tick")) == 1


def test_the_checkpoints_job_of_two_workers_issues_one_checkpoint_per_interval_and_delivers_it_once(db, keys,
                                                                                                    tmp_path):
    signer = LogSigner.create(tmp_path / "signing", "kommun.example/vidoro")
    outbox = tmp_path / "outbox"
    clock = Clock()
    runners = [Runner(db, {"checkpoints": CheckpointRounds(signer, [str(outbox)], report=lambda _: None)},
                      {"checkpoints": every("checkpoints", 60)}, clock=clock) for _ in range(2)]
    for _ in range(3):
        for runner in runners:
            runner.run_due()
        clock.now += timedelta(seconds=60)
    assert [(r.state, r.attempts) for r in rows(db, "checkpoints")] == [(DONE, 1)] * 3
    assert rows(db, "checkpoints")[0].result == "4 checkpoints"  # one of each log, then none: nothing grew
    assert [r.result for r in rows(db, "checkpoints")[1:]] == ["0 checkpoints"] * 2
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Checkpoint)) == 4
    assert len(list(outbox.iterdir())) == 4


RENEWED_WAIT = 200  # the test's wait for a beat, bounded in count …
RENEWED_STEP = 0.05  # … and in time (10 s at most)


def test_a_job_that_outlives_its_lease_keeps_it_while_it_runs_and_is_not_taken_over(db):
    """The job blocks while the clock moves past its first lease twice; the heartbeat (a tiny interval, the
    clock injected) renews the lease meanwhile, so another worker finds nothing to take over, and the run is
    recorded as done once, on its first attempt."""
    clock, lease = Clock(), timedelta(minutes=1)
    taken_over: list[object] = []

    def long(database, *, now):
        for _ in range(2):
            clock.now += timedelta(seconds=50)  # 100 s in all: past the lease it was claimed with
            assert _wait_for_lease(database, clock.now + lease), "the lease was not renewed"
        taken_over.append(queue.claim(database, "other", names={"long"}, now=clock.now, lease=lease,
                                      max_attempts=MAX_ATTEMPTS))
        return "done late"

    runner = Runner(db, {"long": long}, {}, clock=clock, lease=lease, report=lambda _: None, heartbeat=0.01)
    with db.write() as session:
        enqueue(session, name="long", key="k", now=START)

    ran = runner.run_due()

    assert taken_over == [None]
    assert [(r.state, r.attempt, r.summary) for r in ran] == [(DONE, 1, "done late")]
    [row] = rows(db, "long")
    assert (row.state, row.attempts, row.lease_owner, row.lease_until) == (DONE, 1, runner.owner, None)
    assert not [t for t in threading.enumerate() if t.name.startswith("vidoro-lease-")]  # the heartbeat stopped


def test_a_beat_renews_only_a_lease_that_is_still_this_workers(db):
    clock, lease = Clock(), timedelta(minutes=1)
    with db.write() as session:
        enqueue(session, name="sweep", key="k", now=START)
    mine = queue.claim(db, "mine", names={"sweep"}, now=START, lease=lease, max_attempts=MAX_ATTEMPTS)
    assert mine is not None
    beat = Heartbeat(db, mine, lease=lease, clock=clock, interval=3600, report=lambda _: None)
    clock.now = START + timedelta(seconds=40)
    assert beat.renew() and _utc(rows(db)[0].lease_until) == clock.now + lease
    clock.now = START + timedelta(seconds=101)  # past the renewed lease: the worker stalled; another takes over
    theirs = queue.claim(db, "theirs", names={"sweep"}, now=clock.now, lease=lease, max_attempts=MAX_ATTEMPTS)
    assert theirs is not None
    assert not beat.renew() and beat.lost
    [row] = rows(db)
    assert (row.lease_owner, row.attempts, _utc(row.lease_until)) == ("theirs", 2, clock.now + lease)


def _wait_for_lease(db, until: datetime) -> bool:
    """Whether the job's lease reaches `until` within the bounded wait (the heartbeat's thread renews it)."""
    waiting = threading.Event()
    for _ in range(RENEWED_WAIT):
        with db.read() as session:
            if _utc(session.scalar(select(func.max(Job.lease_until)))) >= until:
                return True
        waiting.wait(RENEWED_STEP)
    return False


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
