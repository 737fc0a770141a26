"""What the deadline job has told: reminders, escalations and acute alerts made once (`deadline_notices`).

Also the indexes the job reads through: running deadlines by due day (partial: stopped ones left out) and acute
concerns by when they arrived. An instance upgraded to this revision has told nobody yet: the first run reminds
and escalates what is due then, and alerts the acute concerns that arrived within the policy's window.

Revision ID: 0026
Revises: 0023
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import cases.types

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

UTC = cases.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "deadline_notices",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=36), nullable=False),
        sa.Column("made_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("kind", "subject", name=op.f("pk_deadline_notices")),
    )
    running = sa.text("stopped_at IS NULL")
    op.create_index("ix_deadlines_running_due_on", "deadlines", ["due_on"],
                    sqlite_where=running, postgresql_where=running)
    op.create_index("ix_cases_acute_received_at", "cases", ["acute_danger", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_cases_acute_received_at", table_name="cases")
    op.drop_index("ix_deadlines_running_due_on", table_name="deadlines")
    op.drop_table("deadline_notices")
