"""The index the retention job purges notifications by: when they were read, and when made (issue 19).

The notifications' other indexes begin with the person (a list, an unread count); the nightly purge asks for
every person's notifications read before a day, or unread and made before a day, which this index answers
(`cases.retention.purges`). The outbox's finished mails are found by the index on their state (0025).

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-08
"""

from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_notifications_read_at_created_at", "notifications", ["read_at", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_notifications_read_at_created_at", table_name="notifications")
