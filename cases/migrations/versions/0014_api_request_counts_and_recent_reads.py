"""The API's request counts per token and account (`cases.staff.ratelimit`), and the access log by time, for the
auditor's count of each account's reads in the last hour (`cases.audit.read_volume`).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_request_counts",
        sa.Column("subject", sa.String(length=48), nullable=False),
        sa.Column("window", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("subject", "window", name=op.f("pk_api_request_counts")),
    )
    op.create_index("ix_access_log_at_action_actor", "access_log", ["at", "action", "actor_id"])


def downgrade() -> None:
    op.drop_index("ix_access_log_at_action_actor", table_name="access_log")
    op.drop_table("api_request_counts")
