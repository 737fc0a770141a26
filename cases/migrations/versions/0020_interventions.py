"""Interventions as records of their own (flowchart version 3, issue 18), and the referral packet of each.

Each intervention has its kind, its lifecycle state and its own version; its goal and the note on its ending are
sealed under the case's key. A referral packet made when an intervention starts names it (`intervention_id`), so
that it closes when that intervention ends and the partner's read asks whether it still runs.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import cases.types

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

UTC = cases.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "interventions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(length=32), nullable=True),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("data_categories", sa.JSON(), nullable=False),
        sa.Column("goal", sa.LargeBinary(), nullable=False),
        sa.Column("proposed_by", sa.String(length=36), nullable=False),
        sa.Column("proposed_at", UTC, nullable=False),
        sa.Column("decided_by", sa.String(length=36), nullable=True),
        sa.Column("decided_at", UTC, nullable=True),
        sa.Column("decision_id", sa.String(length=36), nullable=True),
        sa.Column("started_at", UTC, nullable=True),
        sa.Column("ended_at", UTC, nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.Column("end_note", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_interventions_case_id_cases")),
        sa.ForeignKeyConstraint(["proposed_by"], ["staff.id"], name=op.f("fk_interventions_proposed_by_staff")),
        sa.ForeignKeyConstraint(["decided_by"], ["staff.id"], name=op.f("fk_interventions_decided_by_staff")),
        sa.ForeignKeyConstraint(["decision_id"], ["decisions.id"], name=op.f("fk_interventions_decision_id_decisions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interventions")),
    )
    op.create_index("ix_interventions_case_state", "interventions", ["case_id", "state"])
    op.create_index("ix_interventions_state", "interventions", ["state"])
    with op.batch_alter_table("referral_packets") as batch:
        batch.add_column(sa.Column("intervention_id", sa.String(length=36), nullable=True))
        batch.create_foreign_key(op.f("fk_referral_packets_intervention_id_interventions"), "interventions",
                                 ["intervention_id"], ["id"])
        batch.create_index("ix_referral_packets_intervention_id", ["intervention_id"])


def downgrade() -> None:
    with op.batch_alter_table("referral_packets") as batch:
        batch.drop_index("ix_referral_packets_intervention_id")
        batch.drop_constraint(op.f("fk_referral_packets_intervention_id_interventions"), type_="foreignkey")
        batch.drop_column("intervention_id")
    op.drop_index("ix_interventions_state", table_name="interventions")
    op.drop_index("ix_interventions_case_state", table_name="interventions")
    op.drop_table("interventions")
