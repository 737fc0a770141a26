"""Decisions, written with the transition that took them, and the notification of each (issue 17).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import cases.types

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

UTC = cases.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("transition_seq", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=48), nullable=False),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("provision", sa.String(length=48), nullable=False),
        sa.Column("appealable", sa.Boolean(), nullable=False),
        sa.Column("decided_by", sa.String(length=36), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("delegation", sa.String(length=48), nullable=False),
        sa.Column("decided_at", UTC, nullable=False),
        sa.Column("reasons", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_decisions_case_id_cases")),
        sa.ForeignKeyConstraint(["decided_by"], ["staff.id"], name=op.f("fk_decisions_decided_by_staff")),
        sa.ForeignKeyConstraint(["transition_seq"], ["transition_log.seq"],
                                name=op.f("fk_decisions_transition_seq_transition_log")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
        sa.UniqueConstraint("transition_seq", name=op.f("uq_decisions_transition_seq")),
    )
    op.create_index(op.f("ix_decisions_case_id"), "decisions", ["case_id"])
    op.create_table(
        "decision_notifications",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("decision_id", sa.String(length=36), nullable=False),
        sa.Column("transition_seq", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("notified_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(length=36), nullable=False),
        sa.Column("recorded_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["decision_id"], ["decisions.id"],
                                name=op.f("fk_decision_notifications_decision_id_decisions")),
        sa.ForeignKeyConstraint(["recorded_by"], ["staff.id"],
                                name=op.f("fk_decision_notifications_recorded_by_staff")),
        sa.ForeignKeyConstraint(["transition_seq"], ["transition_log.seq"],
                                name=op.f("fk_decision_notifications_transition_seq_transition_log")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_notifications")),
        sa.UniqueConstraint("transition_seq", name=op.f("uq_decision_notifications_transition_seq")),
    )
    op.create_index(op.f("ix_decision_notifications_decision_id"), "decision_notifications", ["decision_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_decision_notifications_decision_id"), table_name="decision_notifications")
    op.drop_table("decision_notifications")
    op.drop_index(op.f("ix_decisions_case_id"), table_name="decisions")
    op.drop_table("decisions")
