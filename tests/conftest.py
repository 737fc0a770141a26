"""Shared fixtures: a database on SQLite and on PostgreSQL for every test that touches one.

PostgreSQL tests use a schema of their own in the `test` database (VIDORO_TEST_POSTGRES_URL), so runs
never see each other's tables. With CI=true a PostgreSQL that cannot be reached fails the run, and so
does any skipped test: in CI a skip would hide a test that did not run.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from cases import Database, add_staff
from cases.crypto.identity import generate_identity_number
from cases.crypto.keys import FileKeyStore
from cases.models import Base

POSTGRES_URL = os.environ.get("VIDORO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"
ROLES = ("reporter", "coordinator", "intake", "caseworker", "decider", "partner", "auditor", "admin", "system")
NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)

# `flowchart_v2`: the tests of flowchart version 2's intervention route run on that version explicitly.
pytest_plugins = ["tests.flowchart_v2"]


POSTGRES_SKIP = "PostgreSQL not reachable"  # the skip's reason, counted by the summary's banner below


def _postgres_unreachable(reason: str):
    if IN_CI:
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(f"{POSTGRES_SKIP}: {reason}")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite file, copied for each test (much faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "vidoro.db"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    db.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_schema():
    """A fresh schema in the test database, migrated once; dropped at the end of the run."""
    schema = f"vidoro_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = create_engine(POSTGRES_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # any failure to connect means: no PostgreSQL here
        _postgres_unreachable(type(exc).__name__)
    url = f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}options=-csearch_path%3D{schema}"
    db = Database(url)
    db.upgrade()
    db.dispose()
    yield url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _truncate(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """The URL of an empty, migrated database: one run on SQLite, one on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "vidoro.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_schema")
    _truncate(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def blank_url(request, tmp_path):
    """The URL of a database without any schema: a new SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'blank.db'}"
        return
    request.getfixturevalue("postgres_schema")  # skips (or fails in CI) as the suite does without PostgreSQL
    with empty_schema("vidoro_blank") as url:
        yield url


@contextmanager
def empty_schema(prefix: str) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL schema named `prefix`_<random>, dropped afterwards."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def keys(tmp_path) -> FileKeyStore:
    """A fresh key store in the test's own folder (the embedded default, files and all)."""
    return FileKeyStore.create(tmp_path / "keys")


@pytest.fixture
def db(db_url, keys):
    database = Database(db_url, keys=keys)
    yield database
    database.dispose()


@pytest.fixture
def staff(db):
    """One active account per role, as actors."""
    return {role: add_staff(db, f"{role}-1", f"Test {role}", role, unit="police" if role == "partner" else None)
            for role in ROLES}


@pytest.fixture
def child_number() -> str:
    """A generated personnummer of a 14-year-old (on NOW)."""
    return generate_identity_number(date(2012, 5, 17), 238)


@pytest.fixture
def adult_number() -> str:
    """A generated samordningsnummer of a 19-year-old (on NOW)."""
    return generate_identity_number(date(2007, 3, 2), 415, coordination=True)


# Started first, so that with pytest-xdist's work stealing the short tests fill in around them rather than one
# of them starting last and running alone (a fuzz run is about a quarter of the whole suite's time).
LONGEST_FIRST = ("tests/web/test_api_fuzz.py::", "tests/browser/test_walkthrough.py::",
                 "tests/cases/test_state_machine.py::test_operations_agree_with_the_flowchart_model")


def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        return next((i for i, start in enumerate(LONGEST_FIRST) if item.nodeid.startswith(start)), len(LONGEST_FIRST))

    items.sort(key=rank)  # stable: the rest keep their order


_skipped: list[str] = []
_postgres_skipped: set[str] = set()


def pytest_runtest_logreport(report):
    # With pytest-xdist the workers' reports reach the controller through this hook too, so the lists below
    # count the whole run there.
    if report.skipped:
        _skipped.append(report.nodeid)
        if POSTGRES_SKIP in str(report.longrepr):
            _postgres_skipped.add(report.nodeid)


@pytest.hookimpl(wrapper=True, tryfirst=True)  # the outermost wrapper: after the short summary, by the last line
def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Say loudly when the PostgreSQL half of the tests did not run: a green run then proves half as much."""
    result = yield
    if not _postgres_skipped:
        return result
    terminalreporter.write_sep("!", f"POSTGRESQL NOT TESTED: {len(_postgres_skipped)} PostgreSQL test(s) skipped",
                               red=True, bold=True)
    terminalreporter.write_line(f"PostgreSQL was not reachable at VIDORO_TEST_POSTGRES_URL ({_where(POSTGRES_URL)}); "
                                "only the SQLite half of the database tests ran. Start PostgreSQL or point "
                                "VIDORO_TEST_POSTGRES_URL at one (CI=true turns this into a failure).", red=True)
    terminalreporter.write_sep("!", red=True, bold=True)
    return result


def _where(url: str) -> str:
    """The URL's host, port and database, without a password that may be in it."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return f"{parsed.host}:{parsed.port or 5432}/{parsed.database}"


def pytest_sessionfinish(session, exitstatus):
    if IN_CI and _skipped and exitstatus == 0:
        print(f"\nCI=true: {len(_skipped)} test(s) skipped, which counts as a failure here: {_skipped[:5]}")
        session.exitstatus = 1
