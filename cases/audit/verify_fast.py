"""Prove a stored log intact with bulk reads and bulk hashing, or say that it cannot; never name a finding.

`cases.audit.verify` runs this first for each log and runs its detailed check (which names every finding) only
when this one cannot vouch for the log. So "intact" must hold only where the detailed check would find
nothing at all. Why it does, check by check of `cases.audit.verify._verify_log`:

- *Entries missing or extra.* seq is an integer primary key; count = max and min = 1 (or no rows) means
  the sequence numbers are exactly 1 … N, as the detailed check demands of its stream.
- *Entries changed, reordered, forged; nodes changed, missing, extra; the tail removed.* Every leaf hash
  SHA-256(0x00 ‖ entry) is computed from the entry bytes, and every node of the tree of N leaves from the
  level below it, in Python; the stored node table must hold, per level k, exactly the indices 0 …
  (N >> k) - 1 (count, min and max on the primary key (level, idx); on SQLite also every value an
  integer) and no other level, and its hashes, read in (level, idx) order, must equal the computed ones
  level by level. That is every node the detailed check compares, and its count of stray nodes is zero.
- *Chain hashes.* SHA-256(previous ‖ leaf) from GENESIS for every entry, compared with every stored one.
- *Checkpoints.* Stored and held checkpoints are checked by the detailed check's own code first (any
  finding there: no vouching); each signed root must be the root of the first `size` computed leaves
  (`workflow.merkle.root` over the computed levels), and no size may exceed N.
- *Columns against the entry, and the entry's form* (`_parse`, `_columns_disagree`): inside the database,
  one query per log finds any row that fails. The detailed check parses the entry with Python's `json`;
  SQL's JSON functions agree with it only on a narrower set of inputs, so the query also demands that
  narrower set (any entry outside it is not vouched for; vidoro's canonical entries are all inside it):
  the entry starts with `{` and ends with `}` (one object, nothing around it); at most 4,096 bytes and
  at most 256 brackets (no integer literal past Python's 4,300-digit limit, no nesting past its
  recursion limit); no backslash, tab, newline, carriage return or NUL byte and no `"` followed by a
  space — so every string is written literally, a key is always followed directly by `:`, and counting
  `"to":` counts the keys "to" — and each key compared occurs at most once (SQLite's `json_extract`
  takes the first of duplicate keys, Python the last; PostgreSQL's jsonb, like Python, the last). UTF-8
  validity is checked in Python (SQLite does not check it). Then the subject ("case"; "target" in the
  administration log) must be a string, and it and the other keys of `Log.columns` (trigger/from/to,
  actor/action/ground, actor/action) must equal the columns as JSON values (a string "5" is not the
  number 5, a missing key and null are both None); the `at` column, rendered in UTC with microseconds,
  must be the entry's "at" string exactly, a valid date in years 1–9999 — so both give one instant.
  Any SQL error (invalid JSON on PostgreSQL, a BLOB in a text column on SQLite) means "not vouched for".
- *Cases* (`_verify_cases`): after the transition log is vouched for, its columns are its entries, so the
  last logged state of each case is the `to_state` of its highest seq; SQL finds any case whose state
  differs or has no entry, and any logged case_ref with no case. Only if there is one are the last states
  read and handed to `_verify_cases`, which names them.

The SQL checks trust the database engine's JSON, text and date functions (the detailed check trusts it to
return the rows as stored; an owner able to redefine those functions is outside what either can see).

Speed and memory: the SQL checks run on a second connection, in a thread (the drivers release the GIL
while the database works), while this thread reads and hashes; both see one snapshot (`side_connection`).
Entries are hashed 50,000 at a time and not kept; the leaf hashes and the computed tree (2 × 65 MB at
1,000,000 entries) are. Measured peak for a whole verify of 1,000,000 entries: 0.33 GiB on SQLite, 0.8 GiB
on PostgreSQL, whose driver holds the whole result of the entry query in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from hashlib import sha256

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from cases.audit.log import Log
from cases.db import Database
from workflow.log import GENESIS
from workflow.merkle import root as tree_root

__all__ = ["Intact", "SideChecks", "last_states", "log_intact", "side_connection"]

BATCH = 50_000  # entries fetched and hashed at a time; progress is reported per batch
# Longer entries are left to the detailed check: at 1,500 bytes no integer literal can pass Python's
# 4,300-digit limit and no nesting its recursion limit, where SQL's JSON would accept both.
MAX_ENTRY_BYTES = 1500

# Bytes no vouched-for entry holds on SQLite: a backslash (so no escapes), JSON whitespace but the space.
_FORBIDDEN = b"\\\t\n\r\x00"
_DIGITS = "[0-9]"
_SQLITE_AT = "-".join([_DIGITS * 4, _DIGITS * 2, _DIGITS * 2]) + " " + ":".join([_DIGITS * 2] * 3) + "." + _DIGITS * 6


@dataclass(frozen=True)
class Intact:
    """What a vouched-for log holds: its size, its stored node count and its root."""

    entries: int
    nodes: int
    root: bytes


# --- the snapshot shared by two connections -------------------------------------------------------------


@contextmanager
def side_connection(db: Database, session: Session) -> Iterator[Connection | None]:
    """A second connection seeing exactly the snapshot `session` sees; None where none can be had.

    Call before `session` has read anything. PostgreSQL exports the session's snapshot and the second
    connection adopts it (`SET TRANSACTION SNAPSHOT`). SQLite (WAL) fixes a reader's snapshot at its first
    read: a third connection holds the write lock (BEGIN IMMEDIATE) while both make their first read, so
    no commit can fall between them, and lets go at once. An in-memory database has no second connection.
    """
    side = None
    try:
        if db.is_sqlite:
            if db.engine.url.database in (None, "", ":memory:"):
                yield None
                return
            with db.engine.execution_options(vidoro_begin="IMMEDIATE").connect() as lock:
                try:
                    lock.begin()
                except DBAPIError:  # a read-only file, or a writer holding the lock past the busy timeout
                    yield None
                    return
                session.connection().exec_driver_sql("SELECT count(*) FROM sqlite_master").all()
                side = db.engine.connect()
                side.exec_driver_sql("SELECT count(*) FROM sqlite_master").all()
                lock.rollback()
        else:
            main = session.connection()
            if main.exec_driver_sql("SELECT pg_is_in_recovery()").scalar_one():  # a standby may not export
                yield None
                return
            snapshot = main.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
            try:
                side = db.engine.connect().execution_options(isolation_level="REPEATABLE READ",
                                                              postgresql_readonly=True)
                side.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            except DBAPIError:  # no connection to spare: the checks run in turn on the session's own
                if side is not None:
                    side.close()
                side = None
        yield side
    finally:
        if side is not None:
            side.rollback()
            side.close()


class SideChecks:
    """The SQL checks, run in order in one worker thread on `connection` (or at once, in this thread)."""

    def __init__(self, connection: Connection, threaded: bool) -> None:
        self.connection = connection
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="verify-sql") if threaded else None

    def columns_agree(self, log: Log) -> Future[bool]:
        return self._submit(lambda: self._first(_columns_sql(self.connection, log)) is None)

    def cases_agree(self) -> Future[bool]:
        return self._submit(lambda: self._first(_cases_sql(self.connection)) is None)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def _submit(self, check: Callable[[], bool]) -> Future[bool]:
        def guarded() -> bool:
            try:
                with self.connection.begin_nested():  # an error must not end the snapshot's transaction
                    return check()
            except DBAPIError:
                return False
        if self._pool is not None:
            return self._pool.submit(guarded)
        done: Future[bool] = Future()
        done.set_result(guarded())
        return done

    def _first(self, sql: str):
        return self.connection.exec_driver_sql(sql).first()


def _columns_sql(connection: Connection, log: Log) -> str:
    """A query for the first row whose columns disagree with its entry, or whose entry is not vouched for."""
    table = log.entries.__tablename__
    subject_column, subject, _nullable = log.columns[0]  # the case_ref of the older logs
    pairs = log.columns[1:]
    columns = ", ".join(column for column, _key, _nullable in pairs)
    if connection.dialect.name == "sqlite":
        # Presence of every key compared: a NOT NULL column equal to it, or json_type for a nullable one
        # (`_plain_json` counts each key once per entry in total, so each entry has each exactly once).
        present = " AND ".join(f"json_type(j, '$.{key}') IS NOT NULL" if nullable else f"{column} IS NOT NULL"
                               for column, key, nullable in pairs)
        paths = ", ".join(f"'$.{key}'" for _column, key, _nullable in pairs)
        return f"""
SELECT seq FROM (SELECT seq, entry AS e, CAST(entry AS TEXT) AS j, at, {subject_column}, {columns} FROM {table})
WHERE NOT coalesce(
  typeof(e) = 'blob' AND length(e) <= {MAX_ENTRY_BYTES} AND substr(e, 1, 1) = x'7b' AND substr(e, -1, 1) = x'7d'
  AND {subject_column} IS NOT NULL AND {present}
  AND typeof(at) = 'text' AND length(CAST(at AS BLOB)) = 26 AND at GLOB '{_SQLITE_AT}' AND substr(at, 1, 4) <> '0000'
  AND datetime(julianday(substr(at, 1, 19))) = substr(at, 1, 19)
  AND json_extract(j, '$.{subject}', {paths}, '$.at')
      = json_array({subject_column}, {columns}, replace(at, ' ', 'T') || '+00:00')
, 0) LIMIT 1"""  # noqa: S608 -- table and column names are the models', not input
    values = ", ".join(f"j -> '{key}'" for _column, key, _nullable in pairs)
    # OFFSET 0 keeps the subquery whole: otherwise PostgreSQL would parse the entry once per use of j.
    return f"""
SELECT seq FROM (
  SELECT seq, entry, convert_from(entry, 'UTF8')::jsonb AS j, at, {subject_column}, {columns} FROM {table} OFFSET 0) r
WHERE NOT coalesce(
  length(entry) <= {MAX_ENTRY_BYTES} AND get_byte(entry, 0) = 123 AND get_byte(entry, length(entry) - 1) = 125
  AND jsonb_typeof(j -> '{subject}') = 'string'
  AND jsonb_build_array(j -> '{subject}', {values}) = jsonb_build_array({subject_column}, {columns})
  AND at >= TIMESTAMPTZ '0001-01-01 00:00:00+00' AND at < TIMESTAMPTZ '10000-01-01 00:00:00+00'
  AND to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"') = j ->> 'at'
, false) LIMIT 1"""  # noqa: S608


def _cases_sql(connection: Connection) -> str:
    """A query for any case not in its last logged state, or without one, and any logged case not stored."""
    if connection.dialect.name == "sqlite":  # SQLite's max() picks the other columns from the max row
        last = "SELECT case_ref, to_state, max(seq) FROM transition_log GROUP BY case_ref"
    else:
        last = "SELECT DISTINCT ON (case_ref) case_ref, to_state FROM transition_log ORDER BY case_ref, seq DESC"
    return f"""
WITH last AS ({last})
SELECT 1 FROM cases c LEFT JOIN last l ON l.case_ref = c.ref
WHERE l.case_ref IS NULL OR l.to_state IS NULL OR l.to_state <> c.state
UNION ALL
SELECT 1 FROM last l WHERE NOT EXISTS (SELECT 1 FROM cases c WHERE c.ref = l.case_ref)
LIMIT 1"""  # noqa: S608


# --- the log itself: sequence, leaves, chain, tree, roots ---------------------------------------------------


class _Levels:
    """The computed tree as a `workflow.merkle.NodeSource`."""

    def __init__(self, levels: list[list[bytes]]) -> None:
        self.levels = levels

    def node(self, level: int, index: int) -> bytes:
        return self.levels[level][index]


def log_intact(session: Session, log: Log, expected: dict[int, list[tuple[str, bytes]]],
               progress: Callable[[int], None] | None) -> Intact | None:
    """Vouch for the log's sequence, entries, chain, tree and the roots `expected` at their sizes, or None.

    `expected` maps a size to the (where, signed root) pairs that must be the root at that size.
    """
    connection = session.connection()
    raw = connection.connection.driver_connection
    if raw is None:  # only a connection already given back to the pool has none
        raise RuntimeError("the session's database connection is closed")
    postgres = connection.dialect.name == "postgresql"
    cursor = raw.cursor(binary=True) if postgres else raw.cursor()  # binary: bytea as bytes, not hex text
    try:
        return _check(cursor, log, expected, progress, postgres)
    except TypeError:  # a value of the wrong type: text where bytes belong
        return None
    finally:
        cursor.close()


def _check(cursor, log: Log, expected, progress, postgres: bool) -> Intact | None:
    entries_table, nodes_table = log.entries.__tablename__, log.nodes.__tablename__
    keys = [b'"%s":' % key.encode() for key in ("at", *(key for _c, key, _n in log.columns))]
    cursor.execute(f"SELECT count(*), min(seq), max(seq) FROM {entries_table}")  # noqa: S608
    size, low, high = cursor.fetchone()
    if size and (low, high) != (1, size):
        return None
    if any(s > size for s in expected):
        return None
    cursor.execute(f"SELECT entry, chain_hash FROM {entries_table} ORDER BY seq")  # noqa: S608
    leaves: list[bytes] = []
    previous = GENESIS
    while rows := cursor.fetchmany(BATCH):
        entries = [row[0] for row in rows]
        if not postgres and not _plain_json(entries, keys):
            return None
        batch = [sha256(b"\x00" + entry).digest() for entry in entries]  # RFC 9162 leaf hashes
        chain = []
        for leaf in batch:
            previous = sha256(previous + leaf).digest()
            chain.append(previous)
        if chain != [row[1] for row in rows]:
            return None
        leaves += batch
        if progress:
            progress(len(rows))
    if len(leaves) != size:
        return None

    wanted = {level: size >> level for level in range(size.bit_length())}
    typed = "count(*)" if postgres else "sum(typeof(idx) = 'integer')"  # SQLite keeps 2.5 in an INTEGER column
    cursor.execute(f"SELECT level, count(*), min(idx), max(idx), {typed} FROM {nodes_table} GROUP BY level")  # noqa: S608
    have = {level: (count, low, high, integers) for level, count, low, high, integers in cursor.fetchall()}
    if have != {level: (n, 0, n - 1, n) for level, n in wanted.items()}:
        return None
    cursor.execute(f"SELECT hash FROM {nodes_table} ORDER BY level, idx")  # noqa: S608
    levels, level = [leaves], leaves
    for number in range(len(wanted)):
        if number:
            level = [sha256(b"\x01" + left + right).digest()
                     for left, right in zip(level[0::2], level[1::2], strict=False)]  # an odd last one waits
            levels.append(level)
        if [row[0] for row in cursor.fetchmany(len(level))] != level:
            return None
    source = _Levels(levels)
    for at_size, signed in expected.items():
        root = tree_root(at_size, source)
        if any(signed_root != root for _where, signed_root in signed):
            return None
    return Intact(size, sum(wanted.values()), tree_root(size, source))


def _plain_json(entries: list[bytes], keys: list[bytes]) -> bool:
    """Whether SQLite's JSON functions read these entries as Python's `json` does (see the module's text).

    UTF-8 throughout (a sequence cannot span the newline joining them), no byte of `_FORBIDDEN`, no
    `" ` (so a key is always followed directly by its colon), and each compared key written exactly as
    many times as there are entries (the SQL query makes each entry have each key at least once).
    """
    joined = b"\n".join(entries)
    try:
        joined.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if len(joined) - len(joined.translate(None, _FORBIDDEN)) != len(entries) - 1 or b'" ' in joined:
        return False
    return all(joined.count(key) == len(entries) for key in keys)


def last_states(session: Session) -> dict[str, str]:
    """Each logged case's last state: the `to_state` of its highest seq (read only when a case disagrees)."""
    rows = session.connection().exec_driver_sql("SELECT case_ref, to_state FROM transition_log ORDER BY seq")
    return dict(rows.all())
