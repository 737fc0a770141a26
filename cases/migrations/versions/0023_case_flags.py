"""Flags on a case that change its route: violence in close relationships, honour-related violence (`case_flags`).

Each flag is set and cleared with a reason sealed with the case key; the transition log holds an entry for
each, with the flag's code and a salted hash of the reason. An instance upgraded to this revision has no flags.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import cases.types

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

UTC = cases.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "case_flags",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("flag", sa.String(length=32), nullable=False),
        sa.Column("set_by", sa.String(length=36), nullable=False),
        sa.Column("set_at", UTC, nullable=False),
        sa.Column("set_seq", sa.Integer(), nullable=False),
        sa.Column("reason", sa.LargeBinary(), nullable=False),
        sa.Column("cleared_by", sa.String(length=36), nullable=True),
        sa.Column("cleared_at", UTC, nullable=True),
        sa.Column("clear_seq", sa.Integer(), nullable=True),
        sa.Column("clear_reason", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_flags_case_id_cases")),
        sa.ForeignKeyConstraint(["set_by"], ["staff.id"], name=op.f("fk_case_flags_set_by_staff")),
        sa.ForeignKeyConstraint(["cleared_by"], ["staff.id"], name=op.f("fk_case_flags_cleared_by_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_flags")),
    )
    op.create_index("ix_case_flags_case_id_cleared_at", "case_flags", ["case_id", "cleared_at"])


def downgrade() -> None:
    op.drop_index("ix_case_flags_case_id_cleared_at", table_name="case_flags")
    op.drop_table("case_flags")
