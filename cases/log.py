"""Append to the transition log inside the caller's transaction, one writer at a time.

The chain needs the previous entry's hash, so appends are serialised: on PostgreSQL by a transaction-scoped
advisory lock, on SQLite by the write lock that BEGIN IMMEDIATE already holds. The primary key on `seq`
is the last line of defence: two appends with the same number can never both commit.
"""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from cases.models import AccessLogEntry, TransitionLogEntry
from workflow import GENESIS, AccessEntry, LogEntry, chain_hash

__all__ = ["append", "head"]

# Arbitrary constants naming vidoro's two log locks among the database's advisory locks.
_PG_LOCKS = {TransitionLogEntry: 0x76_69_64_6F_72_6F, AccessLogEntry: 0x76_69_64_6F_72_61}


def head(session: Session, table: type = TransitionLogEntry) -> tuple[int, bytes]:
    """The size of a log and the chain hash of its last entry (GENESIS when empty)."""
    row = session.execute(select(table.seq, table.chain_hash).order_by(table.seq.desc()).limit(1)).first()
    return (0, GENESIS) if row is None else (row.seq, row.chain_hash)


def append(session: Session, entry: LogEntry | AccessEntry) -> TransitionLogEntry | AccessLogEntry:
    """Add `entry` to its log after the current head; it commits or rolls back with the caller's transaction."""
    table = AccessLogEntry if isinstance(entry, AccessEntry) else TransitionLogEntry
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCKS[table]})
    size, previous = head(session, table)
    data = entry.canonical()
    common = {"seq": size + 1, "case_ref": entry.case_ref, "at": entry.at, "entry": data,
              "chain_hash": chain_hash(previous, data)}
    if table is AccessLogEntry:
        row = AccessLogEntry(**common, actor_id=entry.actor_id, action=entry.action, ground=entry.ground)
    else:
        row = TransitionLogEntry(**common, trigger=entry.trigger, from_state=entry.from_state,
                                 to_state=entry.to_state)
    session.add(row)
    return row
