"""The job queue shared by every worker (`jobs`): scheduled occurrences and queued jobs, with their leases.

UNIQUE (name, key): a scheduled occurrence's key is its slot, so N workers create one row for it. An instance
upgraded to this revision has an empty queue; the workers fill it with what is due.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import cases.types

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

UTC = cases.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=48), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("slot", UTC, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("run_after", UTC, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", UTC, nullable=True),
        sa.Column("result", sa.String(length=200), nullable=True),
        sa.Column("error", sa.String(length=120), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("started_at", UTC, nullable=True),
        sa.Column("finished_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("name", "key", name="uq_jobs_name_key"),
    )
    op.create_index("ix_jobs_state_run_after", "jobs", ["state", "run_after"])


def downgrade() -> None:
    op.drop_index("ix_jobs_state_run_after", table_name="jobs")
    op.drop_table("jobs")
