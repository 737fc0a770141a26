"""Sign-in attempts keep the typed name only as a keyed hash, and which device cookie came with them.

The typed name was stored in the clear for 30 days, so a password typed into the name field was kept. Now
`username_hash` holds HMAC-SHA256 of the normalised name under a key from the instance's key material
(never in the database), and `device_hash` the SHA-256 of a valid device cookie's nonce, for its own limit
(`cases.staff.accounts`). The existing attempts are deleted, not converted: they are only rate-limit history, at
most 30 days old, and the migration has no business reading their names. Deleting them lifts any rate
limit running at the moment of the upgrade; nothing else depends on them. The downgrade deletes them too.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import cases.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

UTC = cases.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    _recreate({"username_hash": sa.String(length=64)}, device=True)


def downgrade() -> None:
    _recreate({"username": sa.String(length=64)}, device=False)


def _recreate(name: dict[str, sa.types.TypeEngine], *, device: bool) -> None:
    """Drop the table with its rows and make it again with the name column `name` (and `device_hash`)."""
    op.drop_table("sign_in_attempts")
    [(column, kind)] = name.items()
    op.create_table(
        "sign_in_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column(column, kind, nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        *([sa.Column("device_hash", sa.String(length=64), nullable=True)] if device else []),
        sa.Column("at", UTC, nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_attempts")),
    )
    op.create_index(op.f("ix_sign_in_attempts_at"), "sign_in_attempts", ["at"])
    op.create_index(f"ix_sign_in_attempts_{column}_at", "sign_in_attempts", [column, "at"])
    op.create_index("ix_sign_in_attempts_address_at", "sign_in_attempts", ["address", "at"])
    if device:
        op.create_index("ix_sign_in_attempts_device_hash_at", "sign_in_attempts", ["device_hash", "at"])
