"""Each case keeps its running deadline due first, so the work list sorts through an index.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # 9999-12-31 when no deadline runs: plain ascending order then puts those cases last, through the index.
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("next_deadline", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("next_due_on", sa.Date(), nullable=False, server_default="9999-12-31"))
        batch.create_index("ix_cases_next_due", ["next_due_on", "received_at", "ref"])
    bind = op.get_bind()
    first = {}
    for case_id, name, due in bind.execute(sa.text(
            "SELECT case_id, name, due_on FROM deadlines WHERE stopped_at IS NULL ORDER BY case_id, due_on, name")):
        first.setdefault(case_id, (name, due))
    for case_id, (name, due) in first.items():
        bind.execute(sa.text("UPDATE cases SET next_deadline = :name, next_due_on = :due WHERE id = :id"),
                     {"name": name, "due": due, "id": case_id})


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_next_due")
        batch.drop_column("next_due_on")
        batch.drop_column("next_deadline")
