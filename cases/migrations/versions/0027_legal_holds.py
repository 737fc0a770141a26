"""Legal holds that keep a case from thinning, and the indexes the retention job purges by (issue 19).

A hold is placed and lifted with a reason sealed with the case key; the transition log holds an entry for each,
with a salted hash of the reason. The purges delete expired web sessions by their times and ended request-count
windows by their window, each through an index. An instance upgraded to this revision has no holds.

Revision ID: 0027
Revises: 0023
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import cases.types

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

UTC = cases.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("reason", sa.LargeBinary(), nullable=False),
        sa.Column("placed_by", sa.String(length=36), nullable=False),
        sa.Column("placed_at", UTC, nullable=False),
        sa.Column("placed_seq", sa.Integer(), nullable=False),
        sa.Column("lifted_by", sa.String(length=36), nullable=True),
        sa.Column("lifted_at", UTC, nullable=True),
        sa.Column("lifted_seq", sa.Integer(), nullable=True),
        sa.Column("lift_reason", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_legal_holds_case_id_cases")),
        sa.ForeignKeyConstraint(["placed_by"], ["staff.id"], name=op.f("fk_legal_holds_placed_by_staff")),
        sa.ForeignKeyConstraint(["lifted_by"], ["staff.id"], name=op.f("fk_legal_holds_lifted_by_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_holds")),
    )
    op.create_index("ix_legal_holds_case_id_lifted_at", "legal_holds", ["case_id", "lifted_at"])
    op.create_index(op.f("ix_web_sessions_created_at"), "web_sessions", ["created_at"])
    op.create_index(op.f("ix_web_sessions_last_seen_at"), "web_sessions", ["last_seen_at"])
    op.create_index("ix_api_request_counts_window", "api_request_counts", ["window"])


def downgrade() -> None:
    op.drop_index("ix_api_request_counts_window", table_name="api_request_counts")
    op.drop_index(op.f("ix_web_sessions_last_seen_at"), table_name="web_sessions")
    op.drop_index(op.f("ix_web_sessions_created_at"), table_name="web_sessions")
    op.drop_index("ix_legal_holds_case_id_lifted_at", table_name="legal_holds")
    op.drop_table("legal_holds")
