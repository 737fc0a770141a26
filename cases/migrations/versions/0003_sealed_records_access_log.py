"""Seal personal data under per-case keys; the access log, assignments, referral packets and disclosures.

Personal columns become ciphertext (bytea/BLOB). Rows written before this revision are sealed here with a
new data key per case, which needs the key store: `Database.upgrade` hands the vault to the migration. A
database with personal data and no vault is refused before anything changes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

import cases.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UTC = cases.types.UTCDateTime(timezone=True)
SEALED = {
    "persons": ("identity_number", "birth_date", "given_name", "family_name"),
    "cases": ("concern",),
    "consents": ("evidence", "withdrawal_reason"),
    "case_events": ("payload",),
}


def upgrade() -> None:
    bind = op.get_bind()
    plaintext = _read_plaintext(bind)
    vault = op.get_context().config.attributes.get("vault")
    if plaintext and vault is None:
        raise RuntimeError("this database holds personal data in plaintext; upgrade it with `vidoro db upgrade`, "
                           "which has the keys to seal it")
    for table, columns in SEALED.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                kwargs = {"postgresql_using": f"convert_to({column}, 'UTF8')"} if bind.dialect.name == "postgresql" \
                    else {}
                batch.alter_column(column, type_=sa.LargeBinary(), existing_type=sa.Text(), **kwargs)
            if table == "persons":
                batch.add_column(sa.Column("identity_index", sa.String(length=64), nullable=True))
                batch.create_index(batch.f("ix_persons_identity_index"), ["identity_index"])
    if plaintext:
        _seal(bind, vault, plaintext)
    _create_tables()


def _read_plaintext(bind) -> dict:
    rows = {}
    for table, columns in SEALED.items():
        key = "case_id" if table in ("consents", "case_events") else "id"
        query = f"SELECT {'seq' if table == 'case_events' else 'id'}, {key}, {', '.join(columns)} FROM {table}"
        rows[table] = [tuple(r) for r in bind.execute(sa.text(query))]
    person_case = dict(bind.execute(sa.text("SELECT person_id, id FROM cases")).all())
    return {"rows": rows, "person_case": person_case} if any(rows.values()) else {}


def _seal(bind, vault, plaintext) -> None:
    """Give every case a data key and seal its values where they stand (same table, row and field)."""
    keys = {}

    def key(case_id):
        if case_id not in keys:
            keys[case_id] = vault.new_case_key(case_id)
        return keys[case_id]

    for table, columns in SEALED.items():
        id_column = "seq" if table == "case_events" else "id"
        for row_id, owner, *values in plaintext["rows"][table]:
            case_id = plaintext["person_case"].get(row_id) if table == "persons" else owner
            if case_id is None:
                continue  # a person row no case points at holds nothing to keep
            sealed = {}
            for column, value in zip(columns, values, strict=True):
                sealed[column] = key(case_id).seal(table, str(row_id), column, value)
            if table == "persons" and values[0] is not None:
                from cases.crypto.identity import parse_identity_number

                sealed["identity_index"] = vault.blind_index(parse_identity_number(values[0]).normalised)
            assignments = ", ".join(f"{c} = :{c}" for c in sealed)
            bind.execute(sa.text(f"UPDATE {table} SET {assignments} WHERE {id_column} = :row_id"),
                         {**sealed, "row_id": row_id})


def _create_tables() -> None:
    op.create_table(
        "access_log",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("case_ref", sa.String(length=16), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("actor_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("ground", sa.String(length=24), nullable=False),
        sa.Column("entry", sa.LargeBinary(), nullable=False),
        sa.Column("chain_hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_access_log")),
    )
    op.create_index(op.f("ix_access_log_case_ref"), "access_log", ["case_ref"])
    op.create_index(op.f("ix_access_log_actor_id"), "access_log", ["actor_id"])
    op.create_table(
        "emergency_accesses",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("reason", sa.LargeBinary(), nullable=False),
        sa.Column("reason_salt", sa.LargeBinary(length=16), nullable=False),
        sa.Column("reviewed_by", sa.String(length=36), nullable=True),
        sa.Column("reviewed_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_emergency_accesses_case_id_cases")),
        sa.ForeignKeyConstraint(["reviewed_by"], ["staff.id"], name=op.f("fk_emergency_accesses_reviewed_by_staff")),
        sa.ForeignKeyConstraint(["seq"], ["access_log.seq"], name=op.f("fk_emergency_accesses_seq_access_log")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_emergency_accesses")),
    )
    op.create_index(op.f("ix_emergency_accesses_case_id"), "emergency_accesses", ["case_id"])
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("staff_id", sa.String(length=36), nullable=False),
        sa.Column("assigned_by", sa.String(length=36), nullable=False),
        sa.Column("assigned_at", UTC, nullable=False),
        sa.Column("ended_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["assigned_by"], ["staff.id"], name=op.f("fk_assignments_assigned_by_staff")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_assignments_case_id_cases")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_assignments_staff_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
    )
    op.create_index("ix_assignments_case_staff", "assignments", ["case_id", "staff_id"])
    op.create_table(
        "referral_packets",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("transition_seq", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("data_categories", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("closed_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_referral_packets_case_id_cases")),
        sa.ForeignKeyConstraint(["transition_seq"], ["transition_log.seq"],
                                name=op.f("fk_referral_packets_transition_seq_transition_log")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_packets")),
    )
    op.create_index(op.f("ix_referral_packets_case_id"), "referral_packets", ["case_id"])
    op.create_table(
        "disclosures",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("recipient", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("data_categories", sa.JSON(), nullable=False),
        sa.Column("legal_basis", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.LargeBinary(), nullable=False),
        sa.Column("requested_by", sa.String(length=36), nullable=False),
        sa.Column("requested_at", UTC, nullable=False),
        sa.Column("decided_by", sa.String(length=36), nullable=True),
        sa.Column("decided_at", UTC, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_disclosures_case_id_cases")),
        sa.ForeignKeyConstraint(["decided_by"], ["staff.id"], name=op.f("fk_disclosures_decided_by_staff")),
        sa.ForeignKeyConstraint(["requested_by"], ["staff.id"], name=op.f("fk_disclosures_requested_by_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosures")),
    )
    op.create_index(op.f("ix_disclosures_case_id"), "disclosures", ["case_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TRIGGER access_log_no_update BEFORE UPDATE OR DELETE ON access_log "
                   "FOR EACH ROW EXECUTE FUNCTION transition_log_append_only()")
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER access_log_no_{action.lower()} BEFORE {action} ON access_log "
                       "BEGIN SELECT RAISE(ABORT, 'access_log is append-only'); END")


def downgrade() -> None:
    raise RuntimeError("0003 sealed personal data under per-case keys; going back would mean writing it "
                       "out in plaintext, which vidoro does not do. Restore a backup taken before instead.")
