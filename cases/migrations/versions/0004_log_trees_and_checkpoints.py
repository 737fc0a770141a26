"""The logs' Merkle trees (RFC 9162) and their signed checkpoints; both append-only in the database.

Each log gets a node table holding the hash of every complete subtree, level 0 being the leaves, so that
tree heads and proofs cost O(log n) reads. Entries written before this revision get their nodes here,
computed from the stored entries (the hashing is written out in this file, so the migration keeps meaning
what it meant when it was written).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

import hashlib

import sqlalchemy as sa
from alembic import op

import cases.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UTC = cases.types.UTCDateTime(timezone=True)
LOGS = {"transition_log": "transition_log_nodes", "access_log": "access_log_nodes"}
BATCH = 5000


def upgrade() -> None:
    for nodes in LOGS.values():
        op.create_table(
            nodes,
            sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
            sa.Column("idx", sa.Integer(), autoincrement=False, nullable=False),
            sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
            sa.PrimaryKeyConstraint("level", "idx", name=op.f(f"pk_{nodes}")),
        )
    op.create_table(
        "checkpoints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("log", sa.String(length=16), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkpoints")),
        sa.UniqueConstraint("log", "size", name="uq_checkpoints_log_size"),
    )
    bind = op.get_bind()
    for log, nodes in LOGS.items():
        _backfill(bind, log, nodes)
    for table in (*LOGS.values(), "checkpoints"):
        _append_only(bind, table)


def _backfill(bind, log: str, nodes: str) -> None:
    """Compute the tree of the entries already logged, streaming, with the right border in memory."""
    border: list[bytes] = []
    size, last = 0, 0
    insert = sa.text(f"INSERT INTO {nodes} (level, idx, hash) VALUES (:level, :idx, :hash)")
    while True:
        rows = bind.execute(sa.text(f"SELECT seq, entry FROM {log} WHERE seq > :last ORDER BY seq LIMIT {BATCH}"),
                            {"last": last}).all()
        if not rows:
            return
        batch = []
        for seq, entry in rows:
            if seq != size + 1:
                raise RuntimeError(f"{log} has no entry {size + 1} (the next is {seq}); the log was changed "
                                   "before this upgrade. Restore a backup, or ask an auditor to look first.")
            index, level, value = size, 0, hashlib.sha256(b"\x00" + bytes(entry)).digest()
            batch.append({"level": 0, "idx": index, "hash": value})
            while index & 1:
                value = hashlib.sha256(b"\x01" + border.pop() + value).digest()
                level, index = level + 1, index >> 1
                batch.append({"level": level, "idx": index, "hash": value})
            border.append(value)
            size, last = size + 1, seq
        bind.execute(insert, batch)


def _append_only(bind, table: str) -> None:
    if bind.dialect.name == "postgresql":
        op.execute(f"CREATE TRIGGER {table}_no_update BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION transition_log_append_only()")
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")


def downgrade() -> None:
    for table in ("checkpoints", *LOGS.values()):
        op.drop_table(table)  # its triggers go with it
