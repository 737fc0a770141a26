"""Emergency access that can be reviewed: a verdict and comment on each review, and approval requests.

A review records `justified` or `not_justified` (with a comment, sealed under the case key like the reason),
not only that someone looked. An emergency opening beyond the free ones per person and day waits for a
decision maker other than the requester to approve it (`emergency_approvals`); the opening names the
approval it used. Existing reviews keep no verdict: they were made before there was one to give.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import cases.types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

UTC = cases.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "emergency_approvals",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("requested_by", sa.String(length=36), nullable=False),
        sa.Column("requested_at", UTC, nullable=False),
        sa.Column("reason", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=36), nullable=True),
        sa.Column("decided_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_emergency_approvals_case_id_cases")),
        sa.ForeignKeyConstraint(["decided_by"], ["staff.id"], name=op.f("fk_emergency_approvals_decided_by_staff")),
        sa.ForeignKeyConstraint(["requested_by"], ["staff.id"],
                                name=op.f("fk_emergency_approvals_requested_by_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emergency_approvals")),
    )
    op.create_index("ix_emergency_approvals_requester", "emergency_approvals",
                    ["requested_by", "case_id", "status"])
    op.create_index(op.f("ix_emergency_approvals_status"), "emergency_approvals", ["status"])
    with op.batch_alter_table("emergency_accesses") as batch:
        batch.add_column(sa.Column("verdict", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("review_comment", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("approval_id", sa.String(length=36), nullable=True))
        batch.create_foreign_key(op.f("fk_emergency_accesses_approval_id_emergency_approvals"),
                                 "emergency_approvals", ["approval_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("emergency_accesses") as batch:
        batch.drop_constraint(op.f("fk_emergency_accesses_approval_id_emergency_approvals"), type_="foreignkey")
        batch.drop_column("approval_id")
        batch.drop_column("review_comment")
        batch.drop_column("verdict")
    op.drop_index(op.f("ix_emergency_approvals_status"), table_name="emergency_approvals")
    op.drop_index("ix_emergency_approvals_requester", table_name="emergency_approvals")
    op.drop_table("emergency_approvals")
