"""The database handle: engines for SQLite and PostgreSQL, transactions, and schema migrations.

SQLite runs in WAL mode with foreign keys on, and every write transaction starts with BEGIN IMMEDIATE so
that two writers queue for the lock instead of failing half-way. Its file is owner-only (0600) whatever the
umask, and so are the -wal, -shm and -journal files beside it. PostgreSQL needs nothing special here; the
log append takes its own lock (see `cases.audit.log`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from cases.crypto.keys import KeyStore
from cases.crypto.vault import Vault
from cases.errors import KeyMaterialError

__all__ = ["MIGRATIONS", "Database"]

MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_BUSY_MS = 30_000


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
            if raw is None:  # a pool hands out open connections; this one was closed under it
                raise RuntimeError("the database connection closed before the migration began")
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

    def ping(self) -> None:
        """Run the cheapest statement; a database out of reach raises `sqlalchemy.exc.SQLAlchemyError`."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def current_revision(self) -> str | None:
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(self.alembic_config()).get_current_head()

    def dispose(self) -> None:
        self.engine.dispose()
        close = getattr(self.keys, "close", None)
        if close is not None:
            close()


def _make_engine(url: str, *, echo: bool) -> Engine:
    # hide_parameters: SQLAlchemy writes a statement's values into its errors and echo lines, and both reach
    # the logs; a refused row must not carry a name or a sealed field there.
    if not url.startswith("sqlite"):
        return create_engine(url, echo=echo, pool_pre_ping=True, hide_parameters=True)
    database = make_url(url).database
    engine = create_engine(url, echo=echo, hide_parameters=True, connect_args={"timeout": SQLITE_BUSY_MS / 1000})

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
