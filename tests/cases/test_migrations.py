"""Schema migrations on both databases: head matches the models, data survives, the log stays append-only."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select, text, update
from sqlalchemy.exc import DBAPIError

from cases import ConcernForm, ConsentForm, Database, add_staff, fire_trigger, record_consent, register_concern
from cases.casework.access import assign_case
from cases.crypto.identity import generate_identity_number
from cases.flowcharts import current_engine
from cases.models import (
    Base,
    Case,
    Consent,
    Deadline,
    Person,
    Staff,
    TransitionLogEntry,
)
from tests.conftest import NOW
from workflow import GENESIS, Actor, chain_hash

PREVIOUS = "0001"
HEAD = "0030"
ADDED_LATER = {"staff": ("password_hash", "email")}  # columns added after 0001, absent (None) in old rows
TABLES_AT_0001 = ("flowchart_versions", "staff", "persons", "transition_log", "cases", "case_events")
CONCERN = "Eleven har slutat komma till skolan och söker kontakt med en våldsbejakande grupp på nätet."


@pytest.fixture
def blank_db(blank_url, keys):
    database = Database(blank_url, keys=keys)
    yield database
    database.dispose()


def downgrade(db: Database, revision: str) -> None:
    """What `Database.upgrade` does, the other way (the product has no downgrade command): on SQLite with
    foreign keys off while tables are copied, as the upgrade does."""
    with db.engine.connect() as connection:
        if db.is_sqlite:
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                config = db.alembic_config()
                config.attributes["connection"] = connection
                command.downgrade(config, revision)
        finally:
            if db.is_sqlite:
                connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")


def schema_diff(db: Database) -> list:
    with db.engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)


def log_triggers(db: Database) -> list[str]:
    """The names of the triggers on the transition log, as the database itself lists them."""
    if db.is_sqlite:
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'transition_log'"
    else:
        sql = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgrelid = to_regclass('transition_log')"
    with db.engine.connect() as connection:
        return sorted(connection.execute(text(sql)).scalars())


def schema_snapshot(db: Database) -> dict:
    """Tables, columns, indexes, keys and log triggers: enough to see any change a migration makes."""
    with db.engine.connect() as connection:
        inspector = inspect(connection)
        tables = {
            name: (
                [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(name)],
                sorted((i["name"], tuple(i["column_names"])) for i in inspector.get_indexes(name)),
                sorted((f["name"], f["referred_table"]) for f in inspector.get_foreign_keys(name)),
                inspector.get_pk_constraint(name)["constrained_columns"],
            )
            for name in sorted(inspector.get_table_names())
        }
    return {"tables": tables, "triggers": log_triggers(db)}


def rows(db: Database, tables=TABLES_AT_0001) -> dict[str, list[tuple]]:
    """Every row of `tables`, in primary-key order: the columns the database has now that the models know
    (a later revision may add columns; what was there must be unchanged)."""
    out = {}
    with db.read() as session:
        present = inspect(session.connection())
        for name in tables:
            table = Base.metadata.tables[name]
            have = {c["name"] for c in present.get_columns(name)}
            columns = [c for c in table.columns if c.name in have and c.name not in ADDED_LATER.get(name, ())]
            out[name] = [tuple(r) for r in session.execute(select(*columns).order_by(*table.primary_key.columns))]
    return out


def verify_chain(db: Database) -> list[TransitionLogEntry]:
    with db.read() as session:
        entries = session.scalars(select(TransitionLogEntry).order_by(TransitionLogEntry.seq)).all()
    previous = GENESIS
    for number, entry in enumerate(entries, start=1):
        assert entry.seq == number
        previous = chain_hash(previous, entry.entry)
        assert entry.chain_hash == previous, f"log entry {number} does not chain"
    return entries


def register(db: Database, reporter: Actor, number: str):
    form = ConcernForm(concern=CONCERN, reporter_org="school", identity_number=number)
    return register_concern(db, reporter, form, now=NOW)


OLD_NUMBER = generate_identity_number(date(1999, 4, 3), 321)


def fill_as_at_0001(db: Database) -> tuple[str, Actor]:
    """What a 0001 instance held, in plaintext as 0001 stored it: a flowchart version, staff, a person, a
    registered case, its log entry and its form. Written in SQL with only the tables and columns 0001 has.
    Returns the case's ref and the intake officer."""
    engine = current_engine()
    received = NOW - timedelta(days=1)
    reporter, intake = Actor(str(uuid.uuid4()), "reporter"), Actor(str(uuid.uuid4()), "intake")
    ref, case_id, person_id = "VO-0001DATA", str(uuid.uuid4()), str(uuid.uuid4())
    born = date(1999, 4, 3)
    outcome = engine.register(ref, reporter, received, born, received, salt=b"s" * 16,
                              codes={"reporter_org": "school", "acute_danger": False})
    data = outcome.entry.canonical()
    with db.engine.begin() as connection:
        def insert(table, **values):
            columns = ", ".join(values)
            connection.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(':' + c for c in values)})"),
                               values)

        insert("flowchart_versions", version=engine.version, name=engine.chart.name, source_text=engine.chart.text,
               first_used_at=received)
        for actor in (reporter, intake):
            insert("staff", id=actor.id, username=f"old-{actor.role}", display_name=f"Old {actor.role}",
                   role=actor.role, unit="north", active=True, created_at=received - timedelta(days=30))
        insert("persons", id=person_id, identity_number=OLD_NUMBER, identity_kind="personnummer",
               birth_date=born.isoformat(), given_name="Gammal", family_name="Testsson", created_at=received)
        insert("cases", id=case_id, ref=ref, person_id=person_id, flowchart_version=engine.version,
               state=outcome.state, version=1, received_at=received, registered_by=reporter.id,
               reporter_org="school", acute_danger=False, concern=CONCERN, shared_with="[]", outcome=None,
               updated_at=received)
        insert("transition_log", seq=1, case_ref=ref, at=received, trigger=outcome.entry.trigger, from_state=None,
               to_state=outcome.state, entry=data, chain_hash=chain_hash(GENESIS, data))
        insert("case_events", seq=1, case_id=case_id,
               payload='{"fields":{"acute_danger":false,"reporter_org":"school"},"salt":"c3Nzc3Nzc3Nzc3Nzc3Nzcw=="}')
    return ref, intake


def database_bytes(db: Database) -> bytes:
    """Every value in every table, as bytes, to search for plaintext."""
    out = []
    with db.engine.connect() as connection:
        for name in inspect(connection).get_table_names():
            for row in connection.execute(text(f"SELECT * FROM {name}")):
                out += [v if isinstance(v, bytes) else str(v).encode() for v in row]
    return b"\x00".join(out)


# --- an empty database ------------------------------------------------------------------------------------


def test_an_empty_database_upgrades_to_head_and_matches_the_models(blank_db):
    assert blank_db.current_revision() is None
    assert blank_db.head_revision() == HEAD
    blank_db.upgrade()
    assert blank_db.current_revision() == HEAD
    assert schema_diff(blank_db) == []
    assert set(Base.metadata.tables) <= set(schema_snapshot(blank_db)["tables"])


def test_the_comparison_sees_a_schema_that_differs_from_the_models(blank_db):
    """The check above means something: a database at 0001 lacks what the models declare."""
    blank_db.upgrade(PREVIOUS)
    added = {diff[1].name for diff in schema_diff(blank_db) if diff[0] == "add_table"}
    assert added == {"consents", "deadlines", "access_log", "emergency_accesses", "assignments",
                     "referral_packets", "disclosures", "transition_log_nodes", "access_log_nodes",
                     "checkpoints", "web_sessions", "sign_in_attempts", "api_tokens", "idempotency_keys",
                     "emergency_approvals", "api_request_counts", "administration_log",
                     "administration_log_nodes", "role_grants", "case_links", "journal_notes", "journal_log",
                     "journal_log_nodes", "decisions", "decision_notifications", "communications", "assessments",
                     "interventions", "case_flags", "jobs", "deadline_notices", "legal_holds", "subject_extracts",
                     "notifications", "mail_outbox"}


def test_upgrading_again_changes_nothing(db):
    reporter = add_staff(db, "reporter-1", "Reporter", "reporter")
    register(db, reporter, generate_identity_number(date(2001, 2, 3), 17))
    schema, data = schema_snapshot(db), rows(db, tuple(Base.metadata.tables))
    db.upgrade()
    db.upgrade(HEAD)
    assert db.current_revision() == HEAD
    assert schema_snapshot(db) == schema
    assert rows(db, tuple(Base.metadata.tables)) == data


# --- a database at the previous revision, with data ------------------------------------------------------


def test_data_written_at_0001_is_sealed_by_the_upgrade_and_the_operations_work_on_it(blank_db):
    blank_db.upgrade(PREVIOUS)
    assert blank_db.current_revision() == PREVIOUS
    ref, intake = fill_as_at_0001(blank_db)
    assert OLD_NUMBER.encode() in database_bytes(blank_db)
    log_before = rows(blank_db, ("transition_log", "staff", "flowchart_versions"))

    blank_db.upgrade()

    assert blank_db.current_revision() == HEAD
    assert schema_diff(blank_db) == []
    assert rows(blank_db, ("transition_log", "staff", "flowchart_versions")) == log_before
    stored = database_bytes(blank_db)
    for plaintext in (OLD_NUMBER, CONCERN[:30], "Gammal", "Testsson", "1999-04-03"):
        assert plaintext.encode() not in stored, plaintext
    # The sealed values open with the case's new key, where they stand.
    with blank_db.read() as session:
        case = session.scalars(select(Case).where(Case.ref == ref)).one()
        person = session.get(Person, case.person_id)
        key = blank_db.vault.case_key(case.id)
        assert key.open("cases", case.id, "concern", case.concern) == CONCERN
        assert key.open("persons", person.id, "given_name", person.given_name) == "Gammal"
        assert person.identity_index == blank_db.vault.blind_index(OLD_NUMBER)
    # The case registered before the upgrade moves on, by the account made before it, and the log
    # continues the chain that 0001 started.
    fired = fire_trigger(blank_db, intake, ref, "start_pre_assessment", {}, now=NOW)
    assert (fired.state, fired.version, fired.seq) == ("pre_assessment", 2, 2)
    caseworker = add_staff(blank_db, "caseworker-new", "New caseworker", "caseworker")
    assign_case(blank_db, intake, ref, caseworker.id, now=NOW)  # intake assigns the case it still holds
    record_consent(blank_db, caseworker, ref, ConsentForm(
        given_by="subject", purposes=("investigation",), recipients=("social_services",),
        data_categories=("identity", "concern"), method="written", evidence="Skriftligt samtycke.",
        valid_from=NOW.date(), valid_until=NOW.date() + timedelta(days=365)), now=NOW)
    reporter = add_staff(blank_db, "reporter-new", "New reporter", "reporter")
    again = register(blank_db, reporter, OLD_NUMBER)
    assert again.existing == (ref,)  # found through the blind index the upgrade wrote
    new = register(blank_db, reporter, generate_identity_number(date(2012, 5, 17), 238))
    assert new.seq == 4
    entries = verify_chain(blank_db)
    assert [(e.case_ref, e.to_state) for e in entries] == [
        (ref, "registered"), (ref, "pre_assessment"), (again.ref, "registered"), (new.ref, "registered")]
    with blank_db.read() as session:
        assert session.scalar(select(func.count()).select_from(Consent)) == 1
        new_id = session.scalars(select(Case.id).where(Case.ref == new.ref)).one()
        assert session.scalar(select(func.count()).select_from(Deadline).where(Deadline.case_id == new_id)) > 0


def test_plaintext_data_is_not_upgraded_without_keys(blank_url):
    keyless = Database(blank_url)
    try:
        keyless.upgrade(PREVIOUS)
        fill_as_at_0001(keyless)
        with pytest.raises(RuntimeError, match="vidoro db upgrade"):
            keyless.upgrade()
        assert keyless.current_revision() == PREVIOUS
        assert OLD_NUMBER.encode() in database_bytes(keyless)
    finally:
        keyless.dispose()


def test_downgrade_from_0002_to_0001_and_upgrade_again(blank_db):
    blank_db.upgrade("0002")
    at_0002 = schema_snapshot(blank_db)
    assert len(log_triggers(blank_db)) >= 1
    downgrade(blank_db, PREVIOUS)
    assert blank_db.current_revision() == PREVIOUS
    assert {"consents", "deadlines"}.isdisjoint(schema_snapshot(blank_db)["tables"])
    assert log_triggers(blank_db) == []
    blank_db.upgrade("0002")
    assert schema_snapshot(blank_db) == at_0002


def test_sealed_data_is_never_downgraded_to_plaintext(db):
    reporter = add_staff(db, "reporter-1", "Reporter", "reporter")
    register(db, reporter, generate_identity_number(date(1998, 11, 30), 402))
    schema, data = schema_snapshot(db), rows(db, tuple(Base.metadata.tables))
    with pytest.raises(RuntimeError, match="plaintext"):
        downgrade(db, "0002")
    assert db.current_revision() == HEAD
    assert schema_snapshot(db) == schema
    assert rows(db, tuple(Base.metadata.tables)) == data


# --- the transition log is append-only in the database itself ---------------------------------------------


@pytest.fixture
def logged(db):
    """A database at head whose transition log holds two entries."""
    reporter = add_staff(db, "reporter-1", "Reporter", "reporter")
    for serial in (11, 12):
        register(db, reporter, generate_identity_number(date(1997, 6, 1), serial))
    return db


@pytest.mark.parametrize("sql", [
    "UPDATE transition_log SET to_state = 'closed' WHERE seq = 1",
    "UPDATE transition_log SET chain_hash = chain_hash",
    "DELETE FROM transition_log WHERE seq = 2",
    "DELETE FROM transition_log",
], ids=["update-state", "update-noop", "delete-last", "delete-all"])
def test_the_log_refuses_update_and_delete_in_sql(logged, sql):
    before = rows(logged, ("transition_log",))
    with pytest.raises(DBAPIError, match="append-only"), logged.write() as session:
        session.execute(text(sql))
    assert rows(logged, ("transition_log",)) == before


def test_the_log_refuses_changes_through_the_orm(logged):
    with pytest.raises(DBAPIError, match="append-only"), logged.write() as session:
        session.scalars(select(TransitionLogEntry).where(TransitionLogEntry.seq == 1)).one().trigger = "forged"
    with pytest.raises(DBAPIError, match="append-only"), logged.write() as session:
        session.delete(session.get(TransitionLogEntry, 2))
    with pytest.raises(DBAPIError, match="append-only"), logged.write() as session:
        session.execute(update(TransitionLogEntry).values(from_state=None))
    verify_chain(logged)
    assert len(rows(logged, ("transition_log",))["transition_log"]) == 2


def test_only_the_log_is_append_only(logged):
    """The guard is on the log alone: other tables change as usual, and appending still works."""
    with logged.write() as session:
        session.execute(update(Staff).values(display_name="Renamed"))
    reporter = add_staff(logged, "reporter-2", "Reporter", "reporter")
    assert register(logged, reporter, generate_identity_number(date(1997, 6, 1), 13)).seq == 3


def test_the_log_was_not_append_only_before_0002(blank_db):
    """The guard comes from the 0002 migration: at 0001 the same statement goes through."""
    blank_db.upgrade(PREVIOUS)
    fill_as_at_0001(blank_db)
    with blank_db.write() as session:
        assert session.execute(text("UPDATE transition_log SET trigger = trigger")).rowcount == 1
    blank_db.upgrade()
    with pytest.raises(DBAPIError, match="append-only"), blank_db.write() as session:
        session.execute(text("UPDATE transition_log SET trigger = trigger"))


# --- 0004: the logs' Merkle trees are built for entries logged before it ----------------------------------


def _log_at_0003(db: Database, table: str, count: int, *, skip: int | None = None) -> list[bytes]:
    """Write `count` hash-chained entries straight into a log at 0003, as that revision's code did."""
    entries, previous = [], GENESIS
    columns = ("trigger, from_state, to_state", "'register', NULL, 'registered'") if table == "transition_log" \
        else ("actor_id, action, ground", "'staff-1', 'read', 'assignment'")
    with db.engine.begin() as conn:
        for n in range(1, count + 1):
            data = f'{{"case":"VO-M{n:07d}","n":{n},"table":"{table}"}}'.encode()
            previous = chain_hash(previous, data)
            entries.append(data)
            if n == skip:
                continue
            conn.execute(text(f"INSERT INTO {table} (seq, case_ref, at, {columns[0]}, entry, chain_hash) "
                              f"VALUES (:seq, :ref, :at, {columns[1]}, :entry, :chain)"),
                         {"seq": n, "ref": f"VO-M{n:07d}", "at": NOW, "entry": data, "chain": previous})
    return entries


def test_0004_builds_the_trees_of_entries_logged_before_it(blank_db):
    from cases.audit.log import LOGS
    from cases.audit.tree import tree_head
    from workflow.merkle import MemoryTree, leaf_hash

    blank_db.upgrade("0003")
    logged = {"transitions": _log_at_0003(blank_db, "transition_log", 5003),  # over one batch of the backfill
              "access": _log_at_0003(blank_db, "access_log", 6)}
    blank_db.upgrade()
    assert blank_db.current_revision() == HEAD
    for name, entries in logged.items():
        reference = MemoryTree(leaf_hash(e) for e in entries)
        nodes = LOGS[name].nodes
        with blank_db.read() as session:
            stored = {(r.level, r.idx): bytes(r.hash) for r in session.execute(select(nodes.level, nodes.idx,
                                                                                      nodes.hash))}
            assert tree_head(session, LOGS[name]) == (len(entries), reference.root())
        assert stored == {(level, index): reference.node(level, index)
                          for level in range(len(entries).bit_length()) for index in range(len(entries) >> level)}
    for statement in ("UPDATE transition_log_nodes SET hash = hash", "DELETE FROM access_log_nodes",
                      "DELETE FROM checkpoints WHERE 1 = 1"):
        if "checkpoints" in statement:
            with blank_db.engine.begin() as conn:
                conn.execute(text("INSERT INTO checkpoints (log, size, root, note, created_at) "
                                  "VALUES ('access', 0, :root, 'n', :at)"), {"root": bytes(32), "at": NOW})
        with pytest.raises(DBAPIError, match="append-only"), blank_db.engine.begin() as conn:
            conn.execute(text(statement))


def test_0004_refuses_a_log_with_a_gap_and_changes_nothing(blank_db):
    blank_db.upgrade("0003")
    _log_at_0003(blank_db, "transition_log", 8, skip=4)
    before = schema_snapshot(blank_db)
    with pytest.raises(RuntimeError, match="no entry 4"):
        blank_db.upgrade()
    assert blank_db.current_revision() == "0003"
    assert schema_snapshot(blank_db) == before


def test_0004_downgrades_to_0003_and_upgrades_again(blank_db):
    blank_db.upgrade()
    at_head = schema_snapshot(blank_db)
    downgrade(blank_db, "0003")
    assert {"transition_log_nodes", "access_log_nodes", "checkpoints"}.isdisjoint(schema_snapshot(blank_db)["tables"])
    blank_db.upgrade()
    assert schema_snapshot(blank_db) == at_head


# Migrations that only change indexes: (revision, the one before, table, {index: columns at the revision},
# {index: columns before it}; None where the index does not exist).
INDEX_MIGRATIONS = [
    ("0008", "0007", "cases", {"ix_cases_state_next_due": ("state", "next_due_on", "received_at", "ref"),
                               "ix_cases_state": None},
     {"ix_cases_state_next_due": None, "ix_cases_state": ("state",)}),
    ("0009", "0008", "assignments", {"ix_assignments_staff_open": ("staff_id", "ended_at", "case_id")},
     {"ix_assignments_staff_open": None}),
    ("0010", "0009", "cases", {"ix_cases_next_due": ("next_due_on", "received_at", "ref", "state")},
     {"ix_cases_next_due": ("next_due_on", "received_at", "ref")}),
    ("0029", "0028", "notifications", {"ix_notifications_read_at_created_at": ("read_at", "created_at")},
     {"ix_notifications_read_at_created_at": None}),
]


@pytest.mark.parametrize("revision,before,table,after_it,before_it", INDEX_MIGRATIONS,
                         ids=[m[0] for m in INDEX_MIGRATIONS])
def test_an_index_migration_downgrades_and_upgrades_again(blank_db, revision, before, table, after_it, before_it):
    blank_db.upgrade(revision)
    at_revision = dict(schema_snapshot(blank_db)["tables"][table][1])
    assert {name: at_revision.get(name) for name in after_it} == after_it
    blank_db.upgrade()
    at_head = schema_snapshot(blank_db)
    downgrade(blank_db, before)
    indexes = dict(schema_snapshot(blank_db)["tables"][table][1])
    assert {name: indexes.get(name) for name in before_it} == before_it
    blank_db.upgrade()
    assert schema_snapshot(blank_db) == at_head


def test_0011_forgets_the_typed_names_of_sign_in_attempts_and_downgrades(blank_db):
    blank_db.upgrade("0010")
    at_0010 = schema_snapshot(blank_db)
    typed = "a password typed as a name"
    with blank_db.engine.begin() as conn:
        conn.execute(text("INSERT INTO sign_in_attempts (username, address, at, succeeded) "
                          "VALUES (:typed, '10.0.0.1', :at, :no)"), {"typed": typed, "at": NOW, "no": False})
    assert typed.encode() in database_bytes(blank_db)
    blank_db.upgrade()
    assert schema_diff(blank_db) == []
    assert typed.encode() not in database_bytes(blank_db)
    at_head = schema_snapshot(blank_db)
    assert "username" not in [column for column, _, _ in at_head["tables"]["sign_in_attempts"][0]]
    downgrade(blank_db, "0010")
    assert schema_snapshot(blank_db) == at_0010
    blank_db.upgrade()
    assert schema_snapshot(blank_db) == at_head


# --- 0013: the administration log and the role grants ------------------------------------------------------


def test_0013_downgrades_to_0012_and_upgrades_again(blank_db):
    blank_db.upgrade()
    at_head = schema_snapshot(blank_db)
    downgrade(blank_db, "0012")
    assert {"administration_log", "administration_log_nodes", "role_grants"}.isdisjoint(
        schema_snapshot(blank_db)["tables"])
    blank_db.upgrade()
    assert schema_snapshot(blank_db) == at_head


def test_0012_downgrades_to_0011_and_upgrades_again(blank_db):
    """Emergency access verdicts and approvals: the table and the three columns go, and come back alike."""
    blank_db.upgrade()
    at_head = schema_snapshot(blank_db)
    assert "emergency_approvals" in at_head["tables"]
    downgrade(blank_db, "0011")
    after = schema_snapshot(blank_db)
    assert "emergency_approvals" not in after["tables"]
    assert after["tables"]["emergency_accesses"] != at_head["tables"]["emergency_accesses"]
    blank_db.upgrade()
    assert schema_snapshot(blank_db) == at_head


def test_0014_the_request_counts_migration_downgrades_and_upgrades_again(blank_db):
    blank_db.upgrade()
    at_head = schema_snapshot(blank_db)
    assert "api_request_counts" in at_head["tables"]
    assert dict(at_head["tables"]["access_log"][1])["ix_access_log_at_action_actor"] == ("at", "action", "actor_id")
    downgrade(blank_db, "0013")
    before = schema_snapshot(blank_db)
    assert "api_request_counts" not in before["tables"]
    assert "ix_access_log_at_action_actor" not in dict(before["tables"]["access_log"][1])
    blank_db.upgrade()
    assert schema_snapshot(blank_db) == at_head
@pytest.mark.parametrize("table", ["administration_log", "administration_log_nodes"])
def test_the_administration_log_refuses_update_and_delete_in_sql(db, table):
    from cases.staff.members import disable_staff

    add_staff(db, "reporter-1", "Reporter", "reporter")
    disable_staff(db, "reporter-1", by=None)  # one logged change, with its leaf
    for sql in (f"UPDATE {table} SET seq = seq" if table == "administration_log" else f"UPDATE {table} SET idx = idx",
                f"DELETE FROM {table}"):
        with pytest.raises(DBAPIError, match="append-only"), db.write() as session:
            session.execute(text(sql))


# --- 0015: journal notes and the journal log (issue 17) -----------------------------------------------------


def test_0015_the_journal_migration_downgrades_and_upgrades_again(blank_db):
    blank_db.upgrade()
    at_head = schema_snapshot(blank_db)
    downgrade(blank_db, "0014")
    assert {"journal_notes", "journal_log", "journal_log_nodes"}.isdisjoint(schema_snapshot(blank_db)["tables"])
    blank_db.upgrade()
    assert schema_snapshot(blank_db) == at_head


@pytest.mark.parametrize("table", ["journal_log", "journal_log_nodes"])
def test_the_journal_log_refuses_update_and_delete_in_sql(db, table):
    from cases.audit import log
    from workflow import JournalEntry

    with db.write() as session:  # one logged change, with its leaf
        log.append(session, JournalEntry(at=datetime(2026, 11, 26, tzinfo=UTC), case_ref="VO-00000000",
                                         actor_id="a", role="intake", action="write", note_id="n", kind="other",
                                         content="0" * 64))
    for sql in (f"UPDATE {table} SET seq = seq" if table == "journal_log" else f"UPDATE {table} SET idx = idx",
                f"DELETE FROM {table}"):
        with pytest.raises(DBAPIError, match="append-only"), db.write() as session:
            session.execute(text(sql))


def test_0017_communications_and_assessments_downgrade_and_upgrade_again(blank_db):
    """Kommunicering and structured assessments: both tables go with the downgrade and come back alike."""
    blank_db.upgrade()
    at_head = schema_snapshot(blank_db)
    assert {"communications", "assessments"} <= set(at_head["tables"])
    downgrade(blank_db, "0014")
    assert {"communications", "assessments"}.isdisjoint(schema_snapshot(blank_db)["tables"])
    blank_db.upgrade()
    assert schema_snapshot(blank_db) == at_head
