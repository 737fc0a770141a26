"""Append to the transition, access, administration and journal logs inside the caller's transaction, one at a time.

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
from cases.models import (
    AccessLogEntry,
    AccessLogNode,
    AdministrationLogEntry,
    AdministrationLogNode,
    JournalLogEntry,
    JournalLogNode,
    TransitionLogEntry,
    TransitionLogNode,
)
from workflow import GENESIS, AccessEntry, AdministrationEntry, JournalEntry, LogEntry, chain_hash
from workflow.merkle import completed_nodes, leaf_hash

__all__ = ["LOGS", "EntryRow", "EntryTable", "Log", "NodeTable", "append", "head"]

# The tables of the logs, for code that works on any of them (a new log adds its tables here, as to `LOGS`).
# Unions rather than a protocol: SQLAlchemy's typed columns do not match a protocol's attributes.
EntryRow = TransitionLogEntry | AccessLogEntry | AdministrationLogEntry | JournalLogEntry
EntryTable = type[TransitionLogEntry] | type[AccessLogEntry] | type[AdministrationLogEntry] | type[JournalLogEntry]
NodeTable = type[TransitionLogNode] | type[AccessLogNode] | type[AdministrationLogNode] | type[JournalLogNode]


@dataclass(frozen=True)
class Log:
    """One of vidoro's logs: its name in checkpoints and commands, its entry table and its tree.

    `columns` are the entry table's search columns besides `at`: (column, the canonical entry's key it must
    equal, whether it may be null). The entry class has an attribute of each column's name. The first column is
    the entry's subject (a case's pseudonym, an account's staff id): a string in every well-formed entry.
    """

    name: str
    entries: EntryTable
    nodes: NodeTable
    pg_lock: int  # names this log's lock among the database's advisory locks
    columns: tuple[tuple[str, str, bool], ...]

    @property
    def subject_key(self) -> str:
        return self.columns[0][1]


# The administration log is a third log rather than a kind of access-log entry: the access log names a case
# in every entry (its pages, filters and the fast verification's column checks rest on that) and records
# reads of personal data; a change to an account has no case. The generic `Log` made the third log cheap:
# checkpoints, proofs, `vidoro audit verify`, the export and the standalone verifier go over `LOGS`.
LOGS = {
    "transitions": Log("transitions", TransitionLogEntry, TransitionLogNode, 0x76_69_64_6F_72_6F,
                       (("case_ref", "case", False), ("trigger", "trigger", False), ("from_state", "from", True),
                        ("to_state", "to", False))),
    "access": Log("access", AccessLogEntry, AccessLogNode, 0x76_69_64_6F_72_61,
                  (("case_ref", "case", False), ("actor_id", "actor", False), ("action", "action", False),
                   ("ground", "ground", False))),
    "administration": Log("administration", AdministrationLogEntry, AdministrationLogNode, 0x76_69_64_6F_72_64,
                          (("target_id", "target", False), ("actor_id", "actor", False), ("action", "action", False))),
    # Journal notes are records beside the transitions, not transitions: a log of their own keeps the transition
    # log's readers (a case's path, the statistics, the reporter's feedback) to transitions. Each entry holds the
    # note's content hash, which `cases.audit.notes` compares with the stored note.
    "journal": Log("journal", JournalLogEntry, JournalLogNode, 0x76_69_64_6F_72_6A,
                   (("case_ref", "case", False), ("actor_id", "actor", False), ("action", "action", False),
                    ("note_id", "note", False))),
}
_BY_ENTRY = {LogEntry: LOGS["transitions"], AccessEntry: LOGS["access"], AdministrationEntry: LOGS["administration"],
             JournalEntry: LOGS["journal"]}


def head(session: Session, table: EntryTable = TransitionLogEntry) -> tuple[int, bytes]:
    """The size of a log and the chain hash of its last entry (GENESIS when empty)."""
    row = session.execute(select(table.seq, table.chain_hash).order_by(table.seq.desc()).limit(1)).first()
    return (0, GENESIS) if row is None else (row.seq, row.chain_hash)


def append(session: Session, entry: LogEntry | AccessEntry | AdministrationEntry | JournalEntry) -> EntryRow:
    """Add `entry` to its log after the current head; it commits or rolls back with the caller's transaction."""
    log = _BY_ENTRY[type(entry)]
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": log.pg_lock})
    size, previous = head(session, log.entries)
    data = entry.canonical()
    row = log.entries(seq=size + 1, at=entry.at, entry=data, chain_hash=chain_hash(previous, data),
                      **{column: getattr(entry, column) for column, _key, _nullable in log.columns})
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


def _left_siblings(session: Session, nodes: NodeTable, size: int) -> dict[tuple[int, int], bytes]:
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
