"""Tree heads and proofs over a stored log, read from its node table in one query each.

A proof's shape depends only on the sizes, never on the hashes, so each function first runs the pure
algorithm of `workflow.merkle` against a recorder to learn which nodes it reads, fetches exactly those in
one statement, and runs it again on them: O(log n) rows and one round trip, whatever the log's size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from cases.audit.log import LOGS, Log, NodeTable
from cases.db import Database
from cases.errors import LogTampered
from workflow.merkle import NodeSource, consistency_proof, inclusion_proof, leaf_hash, root

__all__ = [
    "ConsistencyProof",
    "InclusionProof",
    "consistency",
    "entry_count",
    "inclusion",
    "log_named",
    "tree_head",
    "tree_size",
]

T = TypeVar("T")


@dataclass(frozen=True)
class InclusionProof:
    """Entry `seq` (leaf seq-1) is in the tree of `size` leaves with root `root`."""

    log: str
    seq: int
    size: int
    entry: bytes
    path: list[bytes]
    root: bytes

    @property
    def index(self) -> int:
        return self.seq - 1

    @property
    def leaf_hash(self) -> bytes:
        return leaf_hash(self.entry)


@dataclass(frozen=True)
class ConsistencyProof:
    """The tree of `old_size` leaves is a prefix of the tree of `new_size` leaves."""

    log: str
    old_size: int
    new_size: int
    old_root: bytes
    new_root: bytes
    path: list[bytes]


def log_named(name: str) -> Log:
    try:
        return LOGS[name]
    except KeyError:
        raise ValueError(f"no log {name!r}; the logs are {', '.join(LOGS)}") from None


def tree_size(session: Session, log: Log) -> int:
    """How many entries the log has (its last sequence number; entries are numbered from 1 without gaps)."""
    return session.scalars(select(func.coalesce(func.max(log.entries.seq), 0))).one()


def entry_count(db: Database) -> int:
    """How many entries all the logs hold together (what a full verification or export walks through)."""
    with db.read() as session:
        return sum(tree_size(session, log) for log in LOGS.values())


def tree_head(session: Session, log: Log, size: int | None = None) -> tuple[int, bytes]:
    """The (size, root hash) of the log now, or of its first `size` entries."""
    size = _size(session, log, size)
    return size, _with_nodes(session, log, lambda source: root(size, source))


def inclusion(session: Session, log: Log, seq: int, size: int | None = None) -> InclusionProof:
    """Prove that entry `seq` is in the log's tree of `size` entries (default: now)."""
    size = _size(session, log, size)
    if not 1 <= seq <= size:
        raise ValueError(f"entry {seq} is not in the {log.name} log of {size} entries")
    entry = session.scalar(select(log.entries.entry).where(log.entries.seq == seq))
    if entry is None:
        raise LogTampered(log.name, f"entry {seq} is missing", f"post {seq} saknas")
    path, head = _with_nodes(session, log, lambda source: (inclusion_proof(seq - 1, size, source),
                                                          root(size, source)))
    return InclusionProof(log.name, seq, size, bytes(entry), path, head)


def consistency(session: Session, log: Log, old_size: int, new_size: int | None = None) -> ConsistencyProof:
    """Prove that the log's first `old_size` entries are unchanged in its tree of `new_size` (default: now)."""
    new_size = _size(session, log, new_size)
    if not 0 < old_size <= new_size:
        raise ValueError(f"no consistency proof from {old_size} to {new_size} entries: needs 0 < old ≤ new")

    def build(source: NodeSource) -> tuple[list[bytes], bytes, bytes]:
        return consistency_proof(old_size, new_size, source), root(old_size, source), root(new_size, source)

    path, old_root, new_root = _with_nodes(session, log, build)
    return ConsistencyProof(log.name, old_size, new_size, old_root, new_root, path)


def _size(session: Session, log: Log, size: int | None) -> int:
    current = tree_size(session, log)
    if size is None:
        return current
    if not 0 <= size <= current:
        raise ValueError(f"the {log.name} log has {current} entries, not {size}")
    return size


class _Recorder:
    """A NodeSource that notes what is asked for and answers with placeholders."""

    def __init__(self) -> None:
        self.wanted: set[tuple[int, int]] = set()

    def node(self, level: int, index: int) -> bytes:
        self.wanted.add((level, index))
        return bytes(32)


class _Fetched:
    def __init__(self, log: Log, nodes: dict[tuple[int, int], bytes]) -> None:
        self.log, self.nodes = log, nodes

    def node(self, level: int, index: int) -> bytes:
        try:
            return self.nodes[level, index]
        except KeyError:
            raise LogTampered(self.log.name, f"tree node ({level}, {index}) is missing",
                             f"trädnoden ({level}, {index}) saknas") from None


def _with_nodes(session: Session, log: Log, compute: Callable[[NodeSource], T]) -> T:
    recorder = _Recorder()
    compute(recorder)
    nodes: dict[tuple[int, int], bytes] = {}
    if recorder.wanted:
        params = {}
        for number, (level, index) in enumerate(sorted(recorder.wanted)):
            params[f"l{number}"], params[f"i{number}"] = level, index
        rows = session.connection().execute(_node_query(log.nodes, len(recorder.wanted)), params)
        nodes = {(level, idx): bytes(value) for level, idx, value in rows}
    return compute(_Fetched(log, nodes))


@lru_cache(maxsize=256)
def _node_query(table: NodeTable, count: int):  # a Select: its type parameters differ between SQLAlchemy 2.0 and 2.1
    """SELECT the nodes at `count` (level, index) pairs: built once per count, with bound parameters, so a
    proof costs one cached statement (building it anew took longer than running it)."""
    return select(table.level, table.idx, table.hash).where(or_(*(
        and_(table.level == bindparam(f"l{n}"), table.idx == bindparam(f"i{n}")) for n in range(count))))
