"""The hot reads' connections (`Database.read_rows`): no ping before use, one more try on a dropped one."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from cases.db import Database
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
