"""Append to the transition log inside the caller's transaction, one writer at a time.

The chain needs the previous entry's hash, so appends are serialised: on PostgreSQL by a transaction-scoped
advisory lock, on SQLite by the write lock that BEGIN IMMEDIATE already holds. The primary key on `seq`
is the last line of defence: two appends with the same number can never both commit.
"""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from cases.models import TransitionLogEntry
from workflow import GENESIS, LogEntry, chain_hash

__all__ = ["append", "head"]

# An arbitrary constant naming vidoro's log lock among the database's advisory locks.
_PG_LOG_LOCK = 0x76_69_64_6F_72_6F


def head(session: Session) -> tuple[int, bytes]:
    """The size of the log and the chain hash of its last entry (GENESIS when empty)."""
    row = session.execute(
        select(TransitionLogEntry.seq, TransitionLogEntry.chain_hash)
        .order_by(TransitionLogEntry.seq.desc())
        .limit(1)
    ).first()
    return (0, GENESIS) if row is None else (row.seq, row.chain_hash)


def append(session: Session, entry: LogEntry) -> TransitionLogEntry:
    """Add `entry` after the current head; it commits or rolls back with the caller's transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOG_LOCK})
    size, previous = head(session)
    data = entry.canonical()
    row = TransitionLogEntry(
        seq=size + 1,
        case_ref=entry.case_ref,
        at=entry.at,
        trigger=entry.trigger,
        from_state=entry.from_state,
        to_state=entry.to_state,
        entry=data,
        chain_hash=chain_hash(previous, data),
    )
    session.add(row)
    return row
