"""Append to the transition and access logs inside the caller's transaction, one writer at a time.

Each log is a hash chain and an RFC 9162 Merkle tree over the same entries: an append writes the entry
with its chain hash and the tree nodes it completes (its leaf, and one more for each trailing one bit of its
index), all in the transaction that makes the change it records. Appends are serialised: on PostgreSQL by a
transaction-scoped advisory lock, on SQLite by the write lock that BEGIN IMMEDIATE already holds. The primary
keys on `seq` and on a node's (level, index) are the last line of defence: two appends with the same number
can never both commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, insert, or_, select, text
from sqlalchemy.orm import Session

from cases.errors import LogTampered
from cases.models import AccessLogEntry, AccessLogNode, TransitionLogEntry, TransitionLogNode
from workflow import GENESIS, AccessEntry, LogEntry, chain_hash
from workflow.merkle import completed_nodes, leaf_hash

__all__ = ["LOGS", "Log", "append", "head"]


@dataclass(frozen=True)
class Log:
    """One of vidoro's two logs: its name in checkpoints and commands, its entry table and its tree."""

    name: str
    entries: type
    nodes: type
    pg_lock: int  # names this log's lock among the database's advisory locks


LOGS = {
    "transitions": Log("transitions", TransitionLogEntry, TransitionLogNode, 0x76_69_64_6F_72_6F),
    "access": Log("access", AccessLogEntry, AccessLogNode, 0x76_69_64_6F_72_61),
}
_BY_TABLE = {log.entries: log for log in LOGS.values()}


def head(session: Session, table: type = TransitionLogEntry) -> tuple[int, bytes]:
    """The size of a log and the chain hash of its last entry (GENESIS when empty)."""
    row = session.execute(select(table.seq, table.chain_hash).order_by(table.seq.desc()).limit(1)).first()
    return (0, GENESIS) if row is None else (row.seq, row.chain_hash)


def append(session: Session, entry: LogEntry | AccessEntry) -> TransitionLogEntry | AccessLogEntry:
    """Add `entry` to its log after the current head; it commits or rolls back with the caller's transaction."""
    log = _BY_TABLE[AccessLogEntry if isinstance(entry, AccessEntry) else TransitionLogEntry]
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": log.pg_lock})
    size, previous = head(session, log.entries)
    data = entry.canonical()
    common = {"seq": size + 1, "case_ref": entry.case_ref, "at": entry.at, "entry": data,
              "chain_hash": chain_hash(previous, data)}
    if log.entries is AccessLogEntry:
        row = AccessLogEntry(**common, actor_id=entry.actor_id, action=entry.action, ground=entry.ground)
    else:
        row = TransitionLogEntry(**common, trigger=entry.trigger, from_state=entry.from_state,
                                 to_state=entry.to_state)
    session.add(row)
    siblings = _left_siblings(session, log.nodes, size)

    def sibling(level: int, index: int) -> bytes:
        if (level, index) not in siblings:
            raise LogTampered(log.name, f"tree node ({level}, {index}) is missing",
                             f"trädnoden ({level}, {index}) saknas")
        return siblings[level, index]

    nodes = completed_nodes(size, leaf_hash(data), sibling)
    session.execute(insert(log.nodes), [{"level": lv, "idx": ix, "hash": h} for lv, ix, h in nodes])
    return row


def _left_siblings(session: Session, nodes: type, size: int) -> dict[tuple[int, int], bytes]:
    """The stored nodes that leaf number `size` completes subtrees with: one per trailing one bit, one query."""
    wanted = []
    level = 0
    while size >> level & 1:
        wanted.append(and_(nodes.level == level, nodes.idx == (size >> level) - 1))
        level += 1
    if not wanted:
        return {}
    rows = session.execute(select(nodes.level, nodes.idx, nodes.hash).where(or_(*wanted)))
    return {(row.level, row.idx): row.hash for row in rows}
