"""The database handle: engines for SQLite and PostgreSQL, transactions, and schema migrations.

SQLite runs in WAL mode with foreign keys on, and every write transaction starts with BEGIN IMMEDIATE so
that two writers queue for the lock instead of failing half-way. Its file is owner-only (0600) whatever the
umask, and so are the -wal, -shm and -journal files beside it. PostgreSQL needs nothing special here; the
log append takes its own lock (see `cases.log`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Dialect, Engine, Select, create_engine, event, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from cases.errors import KeyMaterialError
from cases.keys import KeyStore
from cases.vault import Vault

__all__ = ["MIGRATIONS", "Database", "HotRead"]

MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_BUSY_MS = 30_000
T = TypeVar("T")


class Database:
    """One database: `write()` and `read()` open a transaction that commits or rolls back as a whole."""

    def __init__(self, url: str, *, keys: KeyStore | None = None, echo: bool = False) -> None:
        self.url = url
        self.keys = keys
        self.engine = _make_engine(url, echo=echo)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        writer = self.engine.execution_options(vidoro_begin="IMMEDIATE") if self.is_sqlite else self.engine
        self._writer = sessionmaker(writer, expire_on_commit=False)
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        # A long read sees one moment throughout: SQLite's WAL snapshot does that already, PostgreSQL needs
        # REPEATABLE READ (its default READ COMMITTED sees each statement's own moment).
        snapshot = self.engine if self.is_sqlite else self.engine.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True)
        self._snapshot = sessionmaker(snapshot, expire_on_commit=False)
        # Hot reads run in autocommit: no BEGIN/ROLLBACK around them (on PostgreSQL two round trips fewer);
        # each statement reads what is committed when it runs, as under PostgreSQL's READ COMMITTED. On
        # PostgreSQL they have a pool of their own that does not ping the server before every use (another
        # round trip each): a connection the server dropped fails its read, which then runs once more on a
        # fresh one (`read_rows`).
        self._rows = (self.engine.execution_options(vidoro_begin=None) if self.is_sqlite else
                      _hot_reads_engine(url, echo=echo))
        self._vault: Vault | None = None

    @property
    def vault(self) -> Vault:
        """The door personal data passes through; there is none without a key store."""
        if self.keys is None:
            raise KeyMaterialError("no key store", "this database handle was opened without keys; open it with "
                                   "the instance's key store (`vidoro init` creates one)",
                                   "databasen öppnades utan nyckellager; öppna den med instansens nyckellager")
        if self._vault is None:
            self._vault = Vault(self.keys)
        return self._vault

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A read-write transaction: committed when the block ends, rolled back if it raises."""
        with self._writer.begin() as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction: never committed; closing it ends the transaction, objects stay loaded."""
        with self._reader() as session:
            yield session

    def read_rows(self, reads: Callable[[Connection], T]) -> T:
        """`reads(connection)` on a bare connection, for hot paths that want rows, not objects (the session
        check and the work list on every page view): no ORM bookkeeping, and each statement sees what was
        committed when it ran (no snapshot across statements: use `read` or `snapshot` for that). `reads`
        never writes, so when the database dropped the connection since its last use (a restart, an idle
        timeout) it runs once more on a fresh one: SQLAlchemy invalidates the pool's older connections when it
        sees the disconnect. This instead of a ping before every use."""
        try:
            with self._rows.connect() as connection:
                return reads(connection)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            if not self.is_sqlite:
                self._rows.dispose()  # the pool's other connections are as dead as this one (a `HotRead` saw it)
        with self._rows.connect() as connection:
            return reads(connection)

    @contextmanager
    def snapshot(self) -> Iterator[Session]:
        """A read-only transaction that sees the database as it was at its first read (verify, export)."""
        with self._snapshot() as session:
            yield session

    def alembic_config(self) -> Config:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        return config

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to `revision` (default: the newest); safe to run again."""
        with self.engine.connect() as connection:
            raw = connection.connection.dbapi_connection
            if self.is_sqlite:
                # SQLite alters a table by copying it, which foreign keys would refuse half-way; they are
                # switched off for the migration (outside its transaction, where SQLite allows it) and
                # every reference is checked before the migration commits.
                raw.execute("PRAGMA foreign_keys=OFF")
            try:
                with connection.begin():
                    config = self.alembic_config()
                    config.attributes["connection"] = connection
                    if self.keys is not None:
                        config.attributes["vault"] = self.vault
                    command.upgrade(config, revision)
                    if self.is_sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
                        raise RuntimeError("the migration left a broken reference; nothing was changed")
            finally:
                if self.is_sqlite:
                    raw.execute("PRAGMA foreign_keys=ON")

    def current_revision(self) -> str | None:
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(self.alembic_config()).get_current_head()

    def dispose(self) -> None:
        self.engine.dispose()
        if not self.is_sqlite:
            self._rows.dispose()  # the hot reads' own pool
        close = getattr(self.keys, "close", None)
        if close is not None:
            close()


class HotRead:
    """A read for `Database.read_rows` that runs on every page view (the session check, the work list):
    compiled once per kind of database and run on the driver's own cursor, without SQLAlchemy's execution
    and result objects, which cost more than the statement itself there (bench/README.md).

    What SQLAlchemy would do with the values is still done: the statement's own literals are bound, each
    value passes its column type's bind processor, each column of a row its result processor (so a time
    comes back in UTC, a flag as a bool, as through `execute`). A driver error comes out as SQLAlchemy's
    `DBAPIError`; a lost connection is invalidated and said so (`connection_invalidated`), so `read_rows`
    runs the read again on a fresh one. Values are always bound, never written into the SQL; a statement
    with an expanding IN (`in_` of a plain list) is refused: give `in_` a list of `literal`s instead.
    """

    def __init__(self, statement: Select) -> None:
        self.statement = statement
        self._by_dialect: dict[str, _Compiled] = {}

    def rows(self, connection: Connection, params: Mapping[str, Any]) -> list[tuple]:
        """Every row, as tuples in the order of the statement's columns."""
        compiled = self._compiled(connection.dialect)
        raw = connection.connection
        cursor = raw.cursor()
        try:
            cursor.execute(compiled.sql, compiled.values(params))
            found = cursor.fetchall()
        except connection.dialect.loaded_dbapi.Error as exc:
            gone = connection.dialect.is_disconnect(exc, raw.dbapi_connection, cursor)
            if gone:
                connection.invalidate(exc)
            raise DBAPIError.instance(compiled.sql, None, exc, connection.dialect.loaded_dbapi.Error,
                                      connection_invalidated=gone) from exc
        finally:
            if not connection.invalidated:
                cursor.close()
        return compiled.convert(found)

    def first(self, connection: Connection, params: Mapping[str, Any]) -> tuple | None:
        found = self.rows(connection, params)
        return found[0] if found else None

    def _compiled(self, dialect: Dialect) -> _Compiled:
        try:
            return self._by_dialect[dialect.name]
        except KeyError:
            self._by_dialect[dialect.name] = compiled = _Compiled(self.statement, dialect)
            return compiled


class _Compiled:
    """A `HotRead`'s statement for one dialect: its SQL, the names of its parameters in order (for drivers
    that bind by position), its own values, and the bind and result processors that do anything."""

    def __init__(self, statement: Select, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        binds = compiled.bind_names  # parameter → its name in the SQL
        if any(parameter.expanding for parameter in binds):
            raise ValueError("a HotRead binds every value itself: no expanding IN (give `in_` a list of literals)")
        self.sql = compiled.string
        self.names = tuple(compiled.positiontup) if compiled.positional else None
        # values written in the statement (`literal`, `column == "x"`) cannot be replaced by a caller's
        # parameter of the same generated name; a named parameter's default can, as through `execute`
        self.defaults = {name: parameter.effective_value for parameter, name in binds.items()
                         if not parameter.required and not parameter.unique}
        self.literals = {name: parameter.effective_value for parameter, name in binds.items() if parameter.unique}
        # by name, as SQLAlchemy keeps them: a name used twice is one value, processed once, by the processor
        # of whichever of its uses has a type that has one
        binders = ((name, parameter.type.dialect_impl(dialect).bind_processor(dialect))
                   for parameter, name in binds.items())
        self.binders = tuple({name: process for name, process in binders if process is not None}.items())
        results = enumerate(column.type.dialect_impl(dialect).result_processor(dialect, None)
                            for column in statement.selected_columns)
        self.results = tuple((index, process) for index, process in results if process is not None)

    def values(self, params: Mapping[str, Any]) -> tuple | dict:
        values = {**self.defaults, **params, **self.literals}
        for name, process in self.binders:
            if name in values:
                values[name] = process(values[name])
        return values if self.names is None else tuple(values[name] for name in self.names)

    def convert(self, rows: list) -> list[tuple]:
        if not self.results:
            return [tuple(row) for row in rows]
        converted = []
        for row in rows:
            row = list(row)
            for index, process in self.results:
                row[index] = process(row[index])
            converted.append(tuple(row))
        return converted


def _hot_reads_engine(url: str, *, echo: bool) -> Engine:
    """PostgreSQL's pool for `read_rows`: autocommit, no ping, and generic plans.

    The driver prepares a statement it has run five times on a connection; PostgreSQL would still plan each
    run afresh for its values (a custom plan), which cost more than running the work list's page (0.2 of
    0.3 ms). A hot read's statements are built so that one plan suits every value (each filter has its
    index: tests/cases/test_worklist.py checks the generic plans), so they are planned once per connection."""
    engine = create_engine(url, echo=echo, isolation_level="AUTOCOMMIT", pool_recycle=3600)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET plan_cache_mode = force_generic_plan")
        if not dbapi_connection.autocommit:
            dbapi_connection.commit()

    return engine


def _make_engine(url: str, *, echo: bool) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, echo=echo, pool_pre_ping=True)
    database = make_url(url).database
    engine = create_engine(url, echo=echo, connect_args={"timeout": SQLITE_BUSY_MS / 1000})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself, so writers can ask for IMMEDIATE.
        _owner_only(database)  # before the pragmas: WAL mode creates the -wal and -shm files
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON",
                       f"busy_timeout={SQLITE_BUSY_MS}"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        mode = connection.get_execution_options().get("vidoro_begin", "DEFERRED")
        if mode is not None:  # None: statements in autocommit (`Database.read_rows`)
            connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def _owner_only(database: str | None) -> None:
    """Make the SQLite file and its -wal, -shm and -journal files owner-only (0600).

    SQLite creates the database file with the umask's mode (0644 under the usual 022: every local account
    could read the logs and the cases' metadata) and the files beside it with the database file's mode. Run
    on each new connection, right after SQLite opened (and perhaps created, empty) the file and before it
    writes anything. Files of another owner are left alone (a read-only copy, say)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    for file in (path, *(path.with_name(path.name + side) for side in SQLITE_SIDE_FILES)):
        try:
            found = file.stat()
            if found.st_uid == os.getuid() and found.st_mode & 0o077:
                os.chmod(file, 0o600)
        except FileNotFoundError:
            continue
