"""The database handle: reads survive a dropped connection, end their transaction, and pass through
SQLAlchemy's execution events; the SQLite files are owner-only."""

from __future__ import annotations

import os
import stat
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.exc import DBAPIError

from cases.casework.worklist import work_list
from cases.db import Database
from cases.models import Staff
from cases.staff import accounts
from tests.conftest import NOW, POSTGRES_URL


def _backend_pid(db: Database) -> int:
    with db.read() as session:
        return session.execute(text("SELECT pg_backend_pid()")).scalar_one()


def test_a_read_runs_on_a_fresh_connection_when_the_server_dropped_every_pooled_one(postgres_schema):
    """A restart or an idle timeout drops the pool's connections: the next read must not fail on one of them
    (the pool pings a connection before handing it out, as SQLAlchemy documents, and reconnects)."""
    db = Database(postgres_schema)
    admin = create_engine(POSTGRES_URL)
    try:
        with db.read() as one, db.read() as other:  # two connections in the pool
            pids = [s.execute(text("SELECT pg_backend_pid()")).scalar_one() for s in (one, other)]
        assert pids[0] != pids[1]
        with admin.begin() as conn:
            for backend in pids:
                assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend}).scalar()
        # each pooled connection found dead when next handed out, and replaced: no read fails on one
        assert not {_backend_pid(db) for _ in range(4)} & set(pids)
        with db.read() as session:  # no plan settings of its own: every connection plans as PostgreSQL does
            assert session.scalar(select(func.current_setting("plan_cache_mode"))) == "auto"
    finally:
        db.dispose()
        admin.dispose()


def test_a_failed_read_says_so_and_leaves_the_pool_usable(db):
    with pytest.raises(DBAPIError) as raised, db.read() as session:
        session.execute(text("SELECT no_such_column FROM staff")).all()
    assert not raised.value.connection_invalidated
    with db.read() as session:
        assert session.execute(text("SELECT 1")).scalar_one() == 1


def test_a_read_holds_no_transaction_once_it_ends(db):
    """A read's transaction ends with its block: nothing left open behind it that could hold back writers."""
    with db.read() as session:
        session.execute(select(Staff.id)).all()
        raw = session.connection().connection.dbapi_connection
        if db.is_sqlite:
            assert raw.in_transaction  # it did read in a transaction
    if db.is_sqlite:
        assert not raw.in_transaction
    else:
        assert raw.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def test_the_reads_on_every_page_view_go_through_sqlalchemys_execution_events(db, staff):
    """The session check and the work list run on every page view; logging and tracing hook SQLAlchemy's
    execution events, so those reads must pass through them (they once ran on the driver's own cursor)."""
    account = accounts.Account(staff["decider"].id, "decider", "Decider", "decider", None)
    token = accounts.start_session(db, account, now=NOW)
    seen: list[str] = []

    def statement(conn, cursor, sql, parameters, context, executemany) -> None:
        seen.append(" ".join(sql.split()))

    event.listen(db.engine, "before_cursor_execute", statement)
    try:
        assert accounts.open_session(db, token, idle=timedelta(hours=1), absolute=timedelta(hours=8), now=NOW)
        work_list(db, staff["decider"], today=NOW.date())
    finally:
        event.remove(db.engine, "before_cursor_execute", statement)
    assert any("FROM web_sessions JOIN staff" in sql for sql in seen), seen
    assert any("FROM cases" in sql and "ORDER BY cases.next_due_on" in sql for sql in seen), seen


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


def test_a_database_error_names_no_value_it_was_given(db, staff):
    """SQLAlchemy writes a statement's parameters into its errors, and errors reach the logs: the engine hides
    them, so that a refused row never carries a name or a sealed value into a log line."""
    marker = "Generated Person 4711"
    with pytest.raises(DBAPIError) as refused, db.write() as session:
        session.execute(text("INSERT INTO staff (id, username, display_name, role, active, created_at) "
                             "VALUES (:id, :username, :name, 'reporter', true, :at)"),
                        {"id": staff["reporter"].id, "username": "someone-new", "name": marker, "at": NOW})
    assert marker not in str(refused.value) and "someone-new" not in str(refused.value)
    assert "hidden" in str(refused.value)  # SQLAlchemy says so where the parameters would have been
