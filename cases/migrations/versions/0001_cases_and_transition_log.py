"""Cases, the persons they are about, staff, flowchart versions and the transition log.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

import cases.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UTC = cases.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "flowchart_versions",
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("source_text", sa.Text(), nullable=False),
        sa.Column("first_used_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_flowchart_versions")),
    )
    op.create_table(
        "persons",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("identity_number", sa.Text(), nullable=True),
        sa.Column("identity_kind", sa.String(length=20), nullable=True),
        sa.Column("birth_date", sa.Text(), nullable=False),
        sa.Column("given_name", sa.Text(), nullable=True),
        sa.Column("family_name", sa.Text(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persons")),
    )
    op.create_table(
        "staff",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_username")),
    )
    op.create_table(
        "transition_log",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("case_ref", sa.String(length=16), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("trigger", sa.String(length=40), nullable=False),
        sa.Column("from_state", sa.String(length=32), nullable=True),
        sa.Column("to_state", sa.String(length=32), nullable=False),
        sa.Column("entry", sa.LargeBinary(), nullable=False),
        sa.Column("chain_hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_transition_log")),
    )
    op.create_index(op.f("ix_transition_log_case_ref"), "transition_log", ["case_ref"])
    op.create_table(
        "cases",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("ref", sa.String(length=16), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("flowchart_version", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("received_at", UTC, nullable=False),
        sa.Column("registered_by", sa.String(length=36), nullable=False),
        sa.Column("reporter_org", sa.String(length=32), nullable=False),
        sa.Column("acute_danger", sa.Boolean(), nullable=False),
        sa.Column("police_contacted_at", UTC, nullable=True),
        sa.Column("police_contacted_by", sa.String(length=36), nullable=True),
        sa.Column("concern", sa.Text(), nullable=False),
        sa.Column("shared_with", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["flowchart_version"], ["flowchart_versions.version"],
            name=op.f("fk_cases_flowchart_version_flowchart_versions"),
        ),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_cases_person_id_persons")),
        sa.ForeignKeyConstraint(
            ["police_contacted_by"], ["staff.id"], name=op.f("fk_cases_police_contacted_by_staff")
        ),
        sa.ForeignKeyConstraint(["registered_by"], ["staff.id"], name=op.f("fk_cases_registered_by_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("ref", name=op.f("uq_cases_ref")),
    )
    op.create_index(op.f("ix_cases_person_id"), "cases", ["person_id"])
    op.create_index(op.f("ix_cases_state"), "cases", ["state"])
    op.create_table(
        "case_events",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_events_case_id_cases")),
        sa.ForeignKeyConstraint(["seq"], ["transition_log.seq"], name=op.f("fk_case_events_seq_transition_log")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_case_events")),
    )
    op.create_index(op.f("ix_case_events_case_id"), "case_events", ["case_id"])


def downgrade() -> None:
    op.drop_table("case_events")
    op.drop_table("cases")
    op.drop_table("transition_log")
    op.drop_table("staff")
    op.drop_table("persons")
    op.drop_table("flowchart_versions")
