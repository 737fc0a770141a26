"""Each person's notifications, the e-mail outbox, and an e-mail address on staff accounts (issue 19 item 3).

An instance upgraded to this revision has no notifications and no addresses: nobody is mailed until an
administrator gives an account its address (`vidoro users set-email`).

Revision ID: 0025
Revises: 0023
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import cases.types

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

UTC = cases.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.add_column("staff", sa.Column("email", sa.String(length=254), nullable=True))
    op.create_table(
        "notifications",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("staff_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("case_ref", sa.String(length=16), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("read_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_notifications_staff_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("staff_id", "key", name="uq_notifications_staff_id_key"),
    )
    op.create_index("ix_notifications_staff_id_created_at_id", "notifications", ["staff_id", "created_at", "id"])
    op.create_index("ix_notifications_staff_id_read_at", "notifications", ["staff_id", "read_at"])
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("staff_id", sa.String(length=36), nullable=False),
        sa.Column("notification_id", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_until", UTC, nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("sent_at", UTC, nullable=True),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_mail_outbox_staff_id_staff")),
        sa.ForeignKeyConstraint(["notification_id"], ["notifications.id"],
                                name=op.f("fk_mail_outbox_notification_id_notifications")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_outbox")),
        sa.UniqueConstraint("notification_id", name=op.f("uq_mail_outbox_notification_id")),
    )
    op.create_index("ix_mail_outbox_state_claimed_until", "mail_outbox", ["state", "claimed_until"])


def downgrade() -> None:
    op.drop_index("ix_mail_outbox_state_claimed_until", table_name="mail_outbox")
    op.drop_table("mail_outbox")
    op.drop_index("ix_notifications_staff_id_read_at", table_name="notifications")
    op.drop_index("ix_notifications_staff_id_created_at_id", table_name="notifications")
    op.drop_table("notifications")
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("email")
