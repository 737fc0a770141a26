"""Consent records and deadlines; the transition log refuses UPDATE and DELETE in the database itself.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

import cases.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UTC = cases.types.UTCDateTime(timezone=True)

PG_GUARD = """
CREATE FUNCTION transition_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END $$;
CREATE TRIGGER transition_log_no_update BEFORE UPDATE OR DELETE ON transition_log
    FOR EACH ROW EXECUTE FUNCTION transition_log_append_only();
"""


def upgrade() -> None:
    op.create_table(
        "consents",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("given_by", sa.String(length=16), nullable=False),
        sa.Column("purposes", sa.JSON(), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("data_categories", sa.JSON(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("withdrawn_at", UTC, nullable=True),
        sa.Column("withdrawal_reason", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=36), nullable=False),
        sa.Column("recorded_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_consents_case_id_cases")),
        sa.ForeignKeyConstraint(["recorded_by"], ["staff.id"], name=op.f("fk_consents_recorded_by_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    op.create_index(op.f("ix_consents_case_id"), "consents", ["case_id"])
    op.create_table(
        "deadlines",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("stopped_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_deadlines_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadlines")),
    )
    op.create_index("ix_deadlines_case_running", "deadlines", ["case_id", "stopped_at"])
    op.create_index("ix_deadlines_due_on", "deadlines", ["due_on"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_GUARD)
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER transition_log_no_{action.lower()} BEFORE {action} ON transition_log "
                "BEGIN SELECT RAISE(ABORT, 'transition_log is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER transition_log_no_update ON transition_log")
        op.execute("DROP FUNCTION transition_log_append_only()")
    else:
        op.execute("DROP TRIGGER transition_log_no_update")
        op.execute("DROP TRIGGER transition_log_no_delete")
    op.drop_table("deadlines")
    op.drop_table("consents")
