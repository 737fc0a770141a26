"""A new concern about the same person as an earlier case is a new case linked to it (`case_links`).

A closed case is not reopened (flowchart version 2): registration finds the person's earlier cases by the
identity index and records a link to each. The link holds two case ids and when it was made, nothing else.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import cases.types

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

UTC = cases.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "case_links",
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("earlier_case_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_links_case_id_cases")),
        sa.ForeignKeyConstraint(["earlier_case_id"], ["cases.id"], name=op.f("fk_case_links_earlier_case_id_cases")),
        sa.PrimaryKeyConstraint("case_id", "earlier_case_id", name=op.f("pk_case_links")),
    )
    op.create_index(op.f("ix_case_links_earlier_case_id"), "case_links", ["earlier_case_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_case_links_earlier_case_id"), table_name="case_links")
    op.drop_table("case_links")
