"""The tamper-evident logs: transitions, reads, administration and the journal, each an append-only hash chain
with the complete subtrees of its Merkle tree, and the signed checkpoints of their roots.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from cases.models.base import Base

__all__ = [
    "AccessLogEntry",
    "AccessLogNode",
    "AdministrationLogEntry",
    "AdministrationLogNode",
    "Checkpoint",
    "JournalLogEntry",
    "JournalLogNode",
    "TransitionLogEntry",
    "TransitionLogNode",
]


class TransitionLogEntry(Base):
    """One entry of the append-only, hash-chained transition log (no personal data)."""

    __tablename__ = "transition_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    case_ref: Mapped[str] = mapped_column(String(16), index=True)
    at: Mapped[datetime]
    trigger: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    entry: Mapped[bytes] = mapped_column(LargeBinary)
    chain_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class TransitionLogNode(Base):
    """A complete subtree's hash in the transition log's Merkle tree: level 0 are the leaves (RFC 9162)."""

    __tablename__ = "transition_log_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AccessLogEntry(Base):
    """One entry of the append-only, hash-chained access log: a read of personal data or a disclosure."""

    __tablename__ = "access_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    case_ref: Mapped[str] = mapped_column(String(16), index=True)
    at: Mapped[datetime]
    actor_id: Mapped[str] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(24))
    ground: Mapped[str] = mapped_column(String(24))
    entry: Mapped[bytes] = mapped_column(LargeBinary)
    chain_hash: Mapped[bytes] = mapped_column(LargeBinary(32))

    # Each account's reads in the last hour, for the auditor (`cases.audit.read_volume`), from the index alone.
    __table_args__ = (Index("ix_access_log_at_action_actor", "at", "action", "actor_id"),)


class AccessLogNode(Base):
    """A complete subtree's hash in the access log's Merkle tree."""

    __tablename__ = "access_log_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AdministrationLogEntry(Base):
    """One entry of the append-only, hash-chained administration log: a change to an account (no names)."""

    __tablename__ = "administration_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor_id: Mapped[str] = mapped_column(String(36), index=True)  # a staff id, or "operator"
    target_id: Mapped[str] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(24))
    entry: Mapped[bytes] = mapped_column(LargeBinary)
    chain_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AdministrationLogNode(Base):
    """A complete subtree's hash in the administration log's Merkle tree."""

    __tablename__ = "administration_log_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class JournalLogEntry(Base):
    """One entry of the append-only, hash-chained journal log: a change to a journal note (no text)."""

    __tablename__ = "journal_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    case_ref: Mapped[str] = mapped_column(String(16), index=True)
    at: Mapped[datetime]
    actor_id: Mapped[str] = mapped_column(String(36))
    action: Mapped[str] = mapped_column(String(24))
    note_id: Mapped[str] = mapped_column(String(36), index=True)
    entry: Mapped[bytes] = mapped_column(LargeBinary)
    chain_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class JournalLogNode(Base):
    """A complete subtree's hash in the journal log's Merkle tree."""

    __tablename__ = "journal_log_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class Checkpoint(Base):
    """A signed tree head of one log, as issued: the note text is what auditors receive and check."""

    __tablename__ = "checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    log: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(Integer)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("log", "size", name="uq_checkpoints_log_size"),)
