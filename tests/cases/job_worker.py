"""One worker process of tests/cases/test_job_race.py, to be killed with SIGKILL in the middle of a batch.

    python -m tests.cases.job_worker DATABASE_URL FOLDER LEASE_SECONDS

Runs the queued jobs `mark_NNNN` (each adds a row naming itself to `job_marks`) and `block`, which writes
FOLDER/started and then waits for FOLDER/release (at most a minute, then fails): the parent kills it there.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

from cases import Database
from cases.jobs import Runner

MARKS = 40
WAIT_LIMIT_S = 60


def mark(name: str):
    def job(database: Database, *, now) -> str:
        with database.write() as session:
            session.execute(text("INSERT INTO job_marks (name) VALUES (:name)"), {"name": name})
        return "1 mark"
    return job


def marks() -> dict:
    return {f"mark_{n:04d}": mark(f"mark_{n:04d}") for n in range(MARKS)}


def blocking(folder: Path):
    def job(database: Database, *, now) -> str:
        (folder / "started").write_text("started")
        deadline = time.monotonic() + WAIT_LIMIT_S
        while not (folder / "release").exists():
            if time.monotonic() > deadline:
                raise TimeoutError("never released")
            time.sleep(0.05)  # waiting for the parent's kill, not for time to pass
        return "released"
    return job


def main(url: str, folder: str, lease: str) -> None:
    database = Database(url)
    runner = Runner(database, {**marks(), "block": blocking(Path(folder))}, {},
                    lease=timedelta(seconds=float(lease)), owner="doomed")
    runner.run_due()


if __name__ == "__main__":
    main(*sys.argv[1:4])
