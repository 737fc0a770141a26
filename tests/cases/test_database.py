"""The hot reads (`Database.read_rows`, `HotRead`): no ping before use, one more try on a dropped connection,
and the same rows as SQLAlchemy's `execute` gives."""

from __future__ import annotations

import os
import stat
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Date, bindparam, create_engine, func, literal, literal_column, or_, select, text
from sqlalchemy.exc import DBAPIError

from cases.db import Database, HotRead
from cases.models import Staff
from cases.types import UTCDateTime
from tests.conftest import POSTGRES_URL


def test_a_read_runs_again_on_a_fresh_connection_when_the_server_dropped_its_own(postgres_schema):
    db = Database(postgres_schema)
    admin = create_engine(POSTGRES_URL)
    try:
        first = db.read_rows(lambda connection: connection.execute(text("SELECT pg_backend_pid()")).scalar())
        with admin.begin() as conn:  # as a restart or an idle timeout would: the pooled connection is gone
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first}).scalar()
        calls = []

        def reads(connection):
            calls.append(1)
            return connection.execute(text("SELECT pg_backend_pid()")).scalar()

        again = db.read_rows(reads)
        assert again != first and len(calls) == 2  # the dead connection failed, a fresh one answered
        assert db.read_rows(reads) == again and len(calls) == 3  # and stays in the pool
    finally:
        db.dispose()
        admin.dispose()


def test_other_failures_of_a_read_are_not_tried_again(db):
    calls = []

    def reads(connection):
        calls.append(1)
        return connection.execute(text("SELECT no_such_column FROM staff")).all()

    with pytest.raises(DBAPIError):
        db.read_rows(reads)
    assert len(calls) == 1


def test_hot_reads_do_not_hold_a_transaction(db):
    """Autocommit: a hot read leaves no transaction open behind it that could hold back writers."""
    if db.is_sqlite:
        assert db.read_rows(lambda connection: connection.connection.dbapi_connection.in_transaction) is False
    else:  # now() is the transaction's start: two statements of one transaction would see the same
        def two_moments(connection):
            first = connection.exec_driver_sql("SELECT now()").scalar()
            connection.exec_driver_sql("SELECT pg_sleep(0.01)")
            return first, connection.exec_driver_sql("SELECT now()").scalar()

        first, second = db.read_rows(two_moments)
        assert second > first


# HotRead: the hot reads' statements on the driver's own cursor, with what SQLAlchemy would do to the values

MOMENT = datetime(2026, 3, 29, 0, 59, 59, 250_000, tzinfo=UTC)  # an hour before Stockholm's summer time


def test_a_hot_read_gives_what_execute_gives(db, staff):
    """Bound values pass their types' bind processors (a date; a Stockholm time stored as UTC), a name used
    twice is bound twice and processed once, the statement's own literals are bound, and each column comes
    back through its type (a time in UTC, a flag as a bool, a date as a date): the rows `execute` gives."""
    someone = staff["intake"]
    statement = (select(Staff.id, Staff.active, literal(MOMENT, UTCDateTime), literal(date(2026, 12, 31), Date),
                        bindparam("when", type_=UTCDateTime), bindparam("day", type_=Date))
                 .where(Staff.id == bindparam("who"), Staff.active.is_(True), bindparam("when") == MOMENT,
                        or_(Staff.id == bindparam("who"), Staff.role == "no such role"),
                        or_(bindparam("day", type_=Date) > date(2026, 12, 31), Staff.role == "no such role"))
                 .order_by(Staff.id))
    params = {"who": someone.id, "when": MOMENT.astimezone(ZoneInfo("Europe/Stockholm")), "day": date(2027, 1, 1)}
    expected = db.read_rows(lambda connection: [tuple(row) for row in connection.execute(statement, params)])
    found = db.read_rows(lambda connection: HotRead(statement).rows(connection, params))
    assert found == expected == [(someone.id, True, MOMENT, date(2026, 12, 31), MOMENT, date(2027, 1, 1))]
    assert found[0][2].utcoffset() == timedelta(0) and type(found[0][1]) is bool
    assert db.read_rows(lambda connection: HotRead(statement).first(connection, {**params, "who": "nobody"})) is None


def test_a_hot_read_keeps_the_statements_own_values(db, staff):
    """A caller's parameter that happens to have a literal's generated name does not replace it (the
    decider's page leaves out erased cases by such a literal); a named parameter's default can be."""
    statement = select(Staff.role).where(Staff.role != "intake", Staff.id != bindparam("skip", value="none"))
    hot = HotRead(statement)
    assert ":role_1" in str(statement.compile())  # the literal's generated name
    roles = {row[0] for row in db.read_rows(lambda connection: hot.rows(connection, {"role_1": "decider"}))}
    assert "intake" not in roles and "decider" in roles
    skipped = staff["decider"].id
    roles = {row[0] for row in db.read_rows(lambda connection: hot.rows(connection, {"skip": skipped}))}
    assert "decider" not in roles and "auditor" in roles


def test_a_hot_read_refuses_an_expanding_in(db):
    expanding = HotRead(select(Staff.id).where(Staff.role.in_(["intake", "decider"])))
    with pytest.raises(ValueError, match="expanding"):
        db.read_rows(lambda connection: expanding.rows(connection, {}))
    listed = HotRead(select(Staff.id).where(Staff.role.in_([literal("intake"), literal("decider")])))
    assert db.read_rows(lambda connection: listed.rows(connection, {})) == []


def test_a_failed_hot_read_says_so_as_sqlalchemy_does_and_is_not_tried_again(db):
    broken = HotRead(select(literal_column("no_such_column")).select_from(Staff))
    calls = []

    def reads(connection):
        calls.append(1)
        return broken.rows(connection, {})

    with pytest.raises(DBAPIError) as raised:
        db.read_rows(reads)
    assert not raised.value.connection_invalidated and len(calls) == 1


def test_a_hot_read_runs_again_when_the_server_dropped_every_pooled_connection(postgres_schema):
    """A restart drops every connection in the pool, not only the one in hand: the read must find a live
    one on its second try (the pool is emptied when a hot read sees the loss). The fresh connection plans
    as every hot read's does, generically (the page plans in test_worklist.py are checked that way); the
    other pools keep PostgreSQL's default."""
    db = Database(postgres_schema)
    admin = create_engine(POSTGRES_URL)
    pid = HotRead(select(func.pg_backend_pid()))
    try:
        def two_at_once(connection):  # two connections in the pool
            return pid.first(connection, {})[0], db.read_rows(lambda other: pid.first(other, {})[0])

        first, second = db.read_rows(two_at_once)
        with admin.begin() as conn:
            for backend in (first, second):
                assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend}).scalar()
        calls = []

        def reads(connection):
            calls.append(1)
            return pid.first(connection, {})[0]

        again = db.read_rows(reads)
        assert again not in (first, second) and len(calls) == 2
        assert db.read_rows(reads) == again and len(calls) == 3
        mode = HotRead(select(func.current_setting("plan_cache_mode")))
        assert db.read_rows(lambda connection: mode.first(connection, {})) == ("force_generic_plan",)
        with db.read() as session:
            assert session.scalar(select(func.current_setting("plan_cache_mode"))) == "auto"
    finally:
        db.dispose()
        admin.dispose()


# --- the SQLite files are owner-only -------------------------------------------------------------------------


@contextmanager
def permissive_umask():
    """The usual umask 022, under which SQLite made its files readable by every local account."""
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


def modes(folder: Path) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in sorted(folder.iterdir())}


def test_the_sqlite_file_and_the_files_beside_it_are_owner_only_whatever_the_umask(tmp_path):
    path = tmp_path / "vidoro.db"
    with permissive_umask():
        database = Database(f"sqlite:///{path}")
        try:
            database.upgrade()
            with database.write() as session:
                session.add(Staff(id="s-1", username="anna", display_name="Anna A", role="intake", active=True,
                                  created_at=datetime.now(UTC)))
            found = modes(tmp_path)
        finally:
            database.dispose()
    assert {"vidoro.db", "vidoro.db-wal", "vidoro.db-shm"} <= set(found)  # WAL mode, open: all three there
    assert found == dict.fromkeys(found, 0o600)


def test_a_readable_sqlite_file_made_before_is_made_owner_only_when_opened(tmp_path):
    path = tmp_path / "vidoro.db"
    made = Database(f"sqlite:///{path}")
    made.upgrade()
    made.dispose()
    for file in tmp_path.iterdir():
        file.chmod(0o644)
    database = Database(f"sqlite:///{path}")
    try:
        with database.read() as session:
            session.execute(text("SELECT 1"))
        assert modes(tmp_path) == dict.fromkeys(modes(tmp_path), 0o600)
    finally:
        database.dispose()
