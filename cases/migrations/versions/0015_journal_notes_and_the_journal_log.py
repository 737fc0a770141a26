"""Journal notes (sealed text, a draft until signed, corrections pointing at what they correct) and the journal
log (a fourth hash chain and RFC 9162 tree: every change to a note, with its content hash, never its text).

The log's entries and nodes are append-only in the database, as the other logs' are. The notes are not: a
draft is edited and deleted by its author; a signed note is refused every change by `cases.journal`, and one
changed in the database anyway no longer matches its last journal log entry (`vidoro audit verify`).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import cases.types

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

UTC = cases.types.UTCDateTime(timezone=True)
GUARDED = ("journal_log", "journal_log_nodes")


def upgrade() -> None:
    op.create_table(
        "journal_notes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("author_id", sa.String(length=36), nullable=False),
        sa.Column("author_role", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("text", sa.LargeBinary(), nullable=False),
        sa.Column("corrects_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("signed_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_journal_notes_case_id_cases")),
        sa.ForeignKeyConstraint(["author_id"], ["staff.id"], name=op.f("fk_journal_notes_author_id_staff")),
        sa.ForeignKeyConstraint(["corrects_id"], ["journal_notes.id"],
                                name=op.f("fk_journal_notes_corrects_id_journal_notes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_notes")),
    )
    op.create_index("ix_journal_notes_case_occurred", "journal_notes", ["case_id", "occurred_on", "created_at"])
    op.create_index("ix_journal_notes_corrects_id", "journal_notes", ["corrects_id"])
    op.create_table(
        "journal_log",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("case_ref", sa.String(length=16), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("actor_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("note_id", sa.String(length=36), nullable=False),
        sa.Column("entry", sa.LargeBinary(), nullable=False),
        sa.Column("chain_hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_journal_log")),
    )
    op.create_index(op.f("ix_journal_log_case_ref"), "journal_log", ["case_ref"])
    op.create_index(op.f("ix_journal_log_note_id"), "journal_log", ["note_id"])
    op.create_table(
        "journal_log_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_journal_log_nodes")),
    )
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
    # Checkpoints of the journal log stay in `checkpoints`, which is append-only.
    op.drop_table("journal_log_nodes")  # its triggers go with it
    op.drop_index(op.f("ix_journal_log_note_id"), table_name="journal_log")
    op.drop_index(op.f("ix_journal_log_case_ref"), table_name="journal_log")
    op.drop_table("journal_log")
    op.drop_index("ix_journal_notes_corrects_id", table_name="journal_notes")
    op.drop_index("ix_journal_notes_case_occurred", table_name="journal_notes")
    op.drop_table("journal_notes")
