"""The suite's own conftest: a run without PostgreSQL says so in its summary, also outside CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# One small database test: its SQLite half runs, its PostgreSQL half finds nothing listening.
TINY_DB_TEST = "tests/cases/test_database.py::test_a_read_holds_no_transaction_once_it_ends"


@pytest.mark.parametrize("processes", ["0", "1"], ids=["one-process", "xdist"])
def test_a_run_without_postgresql_says_so_loudly(processes):
    env = {k: v for k, v in os.environ.items() if k != "CI"}  # the banner is for the runs outside CI too
    env["VIDORO_TEST_POSTGRES_URL"] = "postgresql+psycopg://postgres@127.0.0.1:1/test"  # a closed port
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", processes, "-q",
                          TINY_DB_TEST], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed, 1 skipped" in run.stdout
    assert "POSTGRESQL NOT TESTED: 1 PostgreSQL test(s) skipped" in run.stdout
    banner_at = run.stdout.index("POSTGRESQL NOT TESTED")
    assert banner_at > run.stdout.index("short test summary"), "the banner comes last, next to the result"
