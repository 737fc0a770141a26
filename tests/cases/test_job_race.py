"""Workers racing over the queue: 1,000 due jobs and two workers on PostgreSQL, each job done exactly once;
and a worker killed with SIGKILL in the middle of a batch loses no job (on SQLite and on PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from cases import Database
from cases.actors import utcnow
from cases.jobs import DONE, Runner, enqueue
from cases.models import Job
from tests.cases.job_worker import MARKS, mark, marks
from tests.conftest import _truncate

ROOT = Path(__file__).resolve().parents[2]
JOBS = 1000
RACE_LIMIT_S = 180  # the whole race, however busy the machine


def make_marks_table(db: Database) -> None:
    with db.write() as session:
        session.execute(text("CREATE TABLE IF NOT EXISTS job_marks (name VARCHAR(48) NOT NULL, "
                             "worker VARCHAR(48))"))
        session.execute(text("DELETE FROM job_marks"))


def marked(db: Database) -> dict[str, int]:
    with db.read() as session:
        return dict(session.execute(text("SELECT name, count(*) FROM job_marks GROUP BY name")).all())


@pytest.fixture
def postgres_url(request) -> str:
    """PostgreSQL only, without a SQLite twin to skip (SQLite has one writer at a time: nothing to race)."""
    url = request.getfixturevalue("postgres_schema")
    _truncate(url)
    return url


@pytest.fixture
def postgres_db(postgres_url):
    database = Database(postgres_url)
    yield database
    with database.write() as session:
        session.execute(text("DROP TABLE IF EXISTS job_marks"))
    database.dispose()


def test_two_workers_racing_over_a_thousand_due_jobs_do_each_exactly_once(postgres_db, postgres_url):
    make_marks_table(postgres_db)
    now = utcnow()
    keys = [f"{n:04d}" for n in range(JOBS)]
    with postgres_db.write() as session:
        for key in keys:
            enqueue(session, name="mark", key=key, now=now)

    def job(owner: str):
        """Marks the job it runs: the one row its worker holds (a worker runs one job at a time)."""
        def run(database: Database, *, now) -> str:
            with database.write() as session:
                [key] = session.scalars(select(Job.key).where(Job.name == "mark", Job.state == "running",
                                                              Job.lease_owner == owner)).all()
                session.execute(text("INSERT INTO job_marks (name, worker) VALUES (:name, :worker)"),
                                {"name": key, "worker": owner})
            return "1 mark"
        return run

    deadline = time.monotonic() + RACE_LIMIT_S
    done: dict[str, int] = {}
    failures: list[BaseException] = []

    def work(label: str) -> None:
        database = Database(postgres_url)
        try:
            runner = Runner(database, {"mark": job(label)}, {}, owner=label)
            count = 0
            while time.monotonic() < deadline:
                ran = runner.run_due(batch=50)
                if not ran:
                    break
                count += len(ran)
            done[label] = count
        except BaseException as exc:
            failures.append(exc)
        finally:
            database.dispose()

    workers = [threading.Thread(target=work, args=(f"worker-{n}",), name=f"worker-{n}") for n in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(RACE_LIMIT_S + 10)
    assert not failures and not any(w.is_alive() for w in workers), failures
    assert marked(postgres_db) == dict.fromkeys(keys, 1)  # every job once, none twice
    assert sum(done.values()) == JOBS, done
    with postgres_db.read() as session:
        assert session.execute(select(Job.state, Job.attempts, func.count()).group_by(Job.state, Job.attempts)
                               ).all() == [(DONE, 1, JOBS)]
        by_worker = dict(session.execute(text("SELECT worker, count(*) FROM job_marks GROUP BY worker")).all())
    assert by_worker == done and all(done.values()), (by_worker, done)  # both raced; each marked what it ran


def test_a_worker_killed_mid_batch_loses_no_job(db_url, tmp_path):
    database = Database(db_url)
    try:
        make_marks_table(database)
        now = utcnow()
        with database.write() as session:  # marks before and after the job that blocks, in the queue's order
            for n in range(MARKS // 2):
                enqueue(session, name=f"mark_{n:04d}", key="batch", now=now)
            enqueue(session, name="block", key="batch", now=now)
            for n in range(MARKS // 2, MARKS):
                enqueue(session, name=f"mark_{n:04d}", key="batch", now=now)
        lease = 60
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        with (tmp_path / "worker.log").open("w") as log:
            worker = subprocess.Popen([sys.executable, "-m", "tests.cases.job_worker", db_url, str(tmp_path),
                                       str(lease)], cwd=ROOT, env=env, stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 60
            while not (tmp_path / "started").exists() and worker.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert (tmp_path / "started").exists(), (tmp_path / "worker.log").read_text()
        finally:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(10)
        assert marked(database) == {f"mark_{n:04d}": 1 for n in range(MARKS // 2)}  # the batch stopped there
        with database.read() as session:
            held = session.scalar(select(Job).where(Job.name == "block"))
            assert (held.state, held.lease_owner, held.attempts) == ("running", "doomed", 1)

        # another worker, at a time past the dead worker's lease (the clock is passed in: nothing sleeps)
        later = utcnow() + timedelta(seconds=lease + 1)
        survivor = Runner(database, {**marks(), "block": mark("block")}, {}, clock=lambda: later, owner="survivor")
        assert survivor.run_due() and survivor.run_due() == []
        assert marked(database) == {**{f"mark_{n:04d}": 1 for n in range(MARKS)}, "block": 1}
        with database.read() as session:
            rows = session.scalars(select(Job)).all()
        assert {(r.name, r.state, r.attempts, r.lease_owner) for r in rows if r.name == "block"} == {
            ("block", DONE, 2, "survivor")}
        assert all(r.state == DONE for r in rows) and len(rows) == MARKS + 1
    finally:
        with database.write() as session:
            session.execute(text("DROP TABLE IF EXISTS job_marks"))
        database.dispose()
