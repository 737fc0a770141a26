"""Kommunicering before a decision that goes against the person (förvaltningslagen (2017:900) 25 §) and the
structured protection assessments and pre-assessments, each a record of its own beside the case.

An instance upgraded to this revision has no such records for the steps taken before it: those assessments
stay where they were written, in the sealed forms of the transitions.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import cases.types

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

UTC = cases.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "communications",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("decision", sa.String(length=40), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=True),
        sa.Column("material", sa.LargeBinary(), nullable=True),
        sa.Column("sent_on", sa.Date(), nullable=True),
        sa.Column("answer_by", sa.Date(), nullable=True),
        sa.Column("exception", sa.String(length=32), nullable=True),
        sa.Column("exception_reason", sa.LargeBinary(), nullable=True),
        sa.Column("salt", sa.LargeBinary(length=16), nullable=False),
        sa.Column("recorded_by", sa.String(length=36), nullable=False),
        sa.Column("recorded_at", UTC, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("answered_on", sa.Date(), nullable=True),
        sa.Column("answer", sa.LargeBinary(), nullable=True),
        sa.Column("answer_recorded_by", sa.String(length=36), nullable=True),
        sa.Column("answer_recorded_at", UTC, nullable=True),
        sa.Column("answer_seq", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_communications_case_id_cases")),
        sa.ForeignKeyConstraint(["recorded_by"], ["staff.id"], name=op.f("fk_communications_recorded_by_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_communications")),
    )
    op.create_index(op.f("ix_communications_case_id"), "communications", ["case_id"])
    op.create_table(
        "assessments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("trigger", sa.String(length=40), nullable=False),
        sa.Column("decision", sa.String(length=32), nullable=False),
        sa.Column("assessed", sa.LargeBinary(), nullable=False),
        sa.Column("child_view", sa.LargeBinary(), nullable=True),
        sa.Column("not_heard_reason", sa.String(length=32), nullable=True),
        sa.Column("not_heard_detail", sa.LargeBinary(), nullable=True),
        sa.Column("recorded_by", sa.String(length=36), nullable=False),
        sa.Column("recorded_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_assessments_case_id_cases")),
        sa.ForeignKeyConstraint(["recorded_by"], ["staff.id"], name=op.f("fk_assessments_recorded_by_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessments")),
        sa.UniqueConstraint("seq", name=op.f("uq_assessments_seq")),
    )
    op.create_index(op.f("ix_assessments_case_id"), "assessments", ["case_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_assessments_case_id"), table_name="assessments")
    op.drop_table("assessments")
    op.drop_index(op.f("ix_communications_case_id"), table_name="communications")
    op.drop_table("communications")
