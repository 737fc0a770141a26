"""The administration log (a third hash chain and RFC 9162 tree: who changed which account, how) and the role
grants that wait for a second administrator's approval.

The log's entries and nodes are append-only in the database, as the other two logs' are. An instance
upgraded to this revision starts its administration log empty: the changes made before it were never
recorded, and nothing can be recorded for them now.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import cases.types

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

UTC = cases.types.UTCDateTime(timezone=True)
GUARDED = ("administration_log", "administration_log_nodes")


def upgrade() -> None:
    op.create_table(
        "administration_log",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("actor_id", sa.String(length=36), nullable=False),
        sa.Column("target_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("entry", sa.LargeBinary(), nullable=False),
        sa.Column("chain_hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_administration_log")),
    )
    op.create_index(op.f("ix_administration_log_actor_id"), "administration_log", ["actor_id"])
    op.create_index(op.f("ix_administration_log_target_id"), "administration_log", ["target_id"])
    op.create_table(
        "administration_log_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_administration_log_nodes")),
    )
    op.create_table(
        "role_grants",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("staff_id", sa.String(length=36), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=True),
        sa.Column("new_account", sa.Boolean(), nullable=False),
        sa.Column("requested_by", sa.String(length=36), nullable=False),
        sa.Column("requested_at", UTC, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=36), nullable=True),
        sa.Column("decided_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_grants")),
    )
    op.create_index(op.f("ix_role_grants_staff_id"), "role_grants", ["staff_id"])
    bind = op.get_bind()
    for table in GUARDED:
        if bind.dialect.name == "postgresql":  # the function is migration 0002's
            op.execute(f"CREATE TRIGGER {table}_no_update BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION transition_log_append_only()")
        else:
            for action in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")


def downgrade() -> None:
    # Checkpoints of the administration log stay in `checkpoints`, which is append-only.
    op.drop_index(op.f("ix_role_grants_staff_id"), table_name="role_grants")
    op.drop_table("role_grants")
    op.drop_table("administration_log_nodes")  # its triggers go with it
    op.drop_index(op.f("ix_administration_log_target_id"), table_name="administration_log")
    op.drop_index(op.f("ix_administration_log_actor_id"), table_name="administration_log")
    op.drop_table("administration_log")
