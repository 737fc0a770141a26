"""Register extracts (GDPR article 15): a person's request by the blind index of their identity number, the
cases in scope, what the screening held back and why (codes), and the decision on release (`subject_extracts`).

An instance upgraded to this revision has no requests.

Revision ID: 0028
Revises: 0023
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import cases.types

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

UTC = cases.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "subject_extracts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("identity_index", sa.String(length=64), nullable=False),
        sa.Column("requested_by", sa.String(length=36), nullable=False),
        sa.Column("requested_at", UTC, nullable=False),
        sa.Column("case_ids", sa.JSON(), nullable=False),
        sa.Column("held_back", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=36), nullable=True),
        sa.Column("decided_at", UTC, nullable=True),
        sa.Column("refusal_reason", sa.String(length=32), nullable=True),
        sa.Column("delivered_by", sa.String(length=36), nullable=True),
        sa.Column("delivered_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["requested_by"], ["staff.id"], name=op.f("fk_subject_extracts_requested_by_staff")),
        sa.ForeignKeyConstraint(["decided_by"], ["staff.id"], name=op.f("fk_subject_extracts_decided_by_staff")),
        sa.ForeignKeyConstraint(["delivered_by"], ["staff.id"], name=op.f("fk_subject_extracts_delivered_by_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_extracts")),
    )
    op.create_index("ix_subject_extracts_identity_index", "subject_extracts", ["identity_index"])


def downgrade() -> None:
    op.drop_index("ix_subject_extracts_identity_index", table_name="subject_extracts")
    op.drop_table("subject_extracts")
