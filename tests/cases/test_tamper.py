"""Tampering with the stored logs on both databases, with the powers of whoever owns the database.

Both logs are built through the real operations (a case in every state of the flowchart, reads on three
grounds, checkpoints issued halfway and at the end) once per database kind, and copied into each test's
fresh database. Each test runs seeded random trials of one kind of tampering: a trial lifts the append-only
guard, changes rows with plain SQL, verifies as an auditor would, and puts the rows back. Every trial must
be found, and found as what it is: the kind of the first finding is asserted. Removing or rewriting the
tail, with the server's own signing key at hand, can only be caught against a checkpoint held outside; the
tests show both halves.
"""

from __future__ import annotations

import json
import random
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import create_engine, delete, insert, select, text, update

from cases import ConcernForm, Database, register_concern
from cases.audit.checkpoints import issue_checkpoint
from cases.audit.log import LOGS
from cases.audit.signing import LogSigner
from cases.audit.verify import Report, verify
from cases.casework.access import assign_case, read_case
from cases.crypto.identity import generate_identity_number
from cases.journal import NoteForm, correct_note, sign_note, write_note
from cases.models import Base, Case, Checkpoint, JournalNote
from cases.reports.demo import PATHS, drive
from cases.staff.administration import create_account
from cases.staff.members import disable_staff, enable_staff
from cases.staff.roles import approve_grant, pending_grants
from policies.rules import load_rules
from tests.conftest import NOW
from workflow import GENESIS, chain_hash
from workflow.merkle import Frontier, leaf_hash

SEEDS = range(20261127, 20261127 + 5)  # one random trial per seed, per log
ENTRIES = {name: log.entries.__table__ for name, log in LOGS.items()}
NODES = {name: log.nodes.__table__ for name, log in LOGS.items()}
CHECKPOINTS, CASES, NOTES = Checkpoint.__table__, Case.__table__, JournalNote.__table__
TOUCHED = (*ENTRIES.values(), *NODES.values(), CHECKPOINTS, CASES, NOTES)
GUARDED = (*(t.name for t in ENTRIES.values()), *(t.name for t in NODES.values()), CHECKPOINTS.name)
SEARCH_COLUMNS = {name: tuple(column for column, _key, _nullable in log.columns) for name, log in LOGS.items()}
OTHER_VALUES = {"from_state": set(PATHS), "to_state": set(PATHS), "action": {"read", "disclose", "enable"},
                "ground": {"role", "assignment", "emergency", "consent"}}
EMERGENCY = "Hotfull situation i väntrummet; behöver se tidigare kontakter nu."


@dataclass
class Logs:
    """A database with both logs filled, the server's signer, and the checkpoints an auditor holds."""

    db: Database
    signer: LogSigner
    held: dict[str, str]  # log name -> the note of its last checkpoint, kept outside the database
    pristine: dict[str, list[dict]]  # every table's rows as built, to put back after each trial

    def size(self, name: str) -> int:
        return len(self.pristine[ENTRIES[name].name])


@pytest.fixture(scope="module")
def built() -> dict[str, Logs]:
    """The logs built once per database kind in this module, as rows to copy into each test's database."""
    return {}


@pytest.fixture
def logs(db, built, request, tmp_path) -> Logs:
    """The built logs in this test's own database: built through the operations once, then copied.

    A copy carries every row but not the cases' data keys, which verification never needs.
    """
    kind = db.engine.dialect.name
    if kind not in built:
        signer = LogSigner.create(tmp_path / "signing")
        held = build(db, request.getfixturevalue("staff"), signer)
        with db.read() as session:
            rows = {t.name: [dict(r._mapping) for r in session.execute(select(t))] for t in Base.metadata.sorted_tables}
        built[kind] = Logs(db, signer, held, rows)
    copy = Logs(db, built[kind].signer, built[kind].held, built[kind].pristine)
    restore(copy, Base.metadata.sorted_tables)
    return copy


def build(db: Database, staff: dict, signer: LogSigner) -> dict[str, str]:
    """About 45 transitions, 30 reads and 30 account changes, with stored checkpoints halfway and at the end
    of every log."""
    for number, (state, (child, steps)) in enumerate(PATHS.items()):
        start = NOW + timedelta(days=number)
        born = date(2012, 5, 17) if child else date(2003, 3, 2)
        form = ConcernForm(concern="Eleven har visat ett förändrat beteende.", reporter_org="school",
                           identity_number=generate_identity_number(born, 100 + number))
        ref = register_concern(db, staff["reporter"], form, now=start).ref
        later = drive(db, staff, ref, steps, start) + timedelta(hours=1)
        if state != "erased":  # an erased case has nothing left to read, and logs no read
            read_case(db, staff["decider"], ref, now=later)
            read_case(db, staff["intake"], ref, emergency_reason=EMERGENCY, now=later)
            assign_case(db, staff["decider"], ref, staff["caseworker"].id, now=later)
            read_case(db, staff["caseworker"], ref, now=later)
            document(db, staff, ref, number, later)
        administer(db, staff, number, later)
        if number == len(PATHS) // 2:
            for name in LOGS:
                issue_checkpoint(db, signer, name)
    # Version 3's paths are fewer than version 2's (interventions are records of their own, not states): a
    # concern from each source outside the municipality, registered and read by intake, keeps the logs about
    # as long and puts those sources' entries in them.
    outside = sorted(set(load_rules().sources["intake"]) - set(load_rules().sources["reporter"]))
    for number, source in enumerate(outside):
        form = ConcernForm(concern="Oro för en ung person.", reporter_org=source,
                           identity_number=generate_identity_number(date(2003, 3, 2), 200 + number))
        at = NOW + timedelta(days=len(PATHS), hours=number)
        read_case(db, staff["intake"], register_concern(db, staff["intake"], form, now=at).ref, now=at)
    return {name: issue_checkpoint(db, signer, name).note for name in LOGS}


def document(db: Database, staff: dict, ref: str, number: int, now: datetime) -> None:
    """A journal note written and signed, every other one corrected by the caseworker, and a draft left on every
    third case."""
    note = NoteForm(kind="contact", occurred_on=now.date(), text="Kontakt med skolan.")
    first = write_note(db, staff["decider"], ref, note, now=now).note_id
    sign_note(db, staff["decider"], ref, first, now=now + timedelta(seconds=1))
    if number % 2:
        correct_note(db, staff["caseworker"], ref, NoteForm(kind="meeting", occurred_on=now.date(), text="Möte.",
                                                         corrects=first), now=now + timedelta(seconds=2))
    if number % 3 == 0:
        write_note(db, staff["decider"], ref, note, now=now + timedelta(seconds=3))


def administer(db: Database, staff: dict, number: int, now: datetime) -> None:
    """A few changes to accounts: a new one, a role asked for and approved, a switch off and on again."""
    admin = staff["admin"]
    second = create_account(db, None, f"admin-{number + 2}", "Administratör", "admin", now=now)
    create_account(db, admin, f"worker-{number}", "Handläggare", "caseworker", now=now + timedelta(seconds=1))
    approve_grant(db, second, pending_grants(db, second)[0].id, now=now + timedelta(seconds=2))
    disable_staff(db, f"worker-{number}", by=admin, now=now + timedelta(seconds=3))
    enable_staff(db, f"worker-{number}", by=None, now=now + timedelta(seconds=4))


@contextmanager
def full_access(db: Database):
    """One transaction with the database owner's powers: no append-only triggers, no foreign keys."""
    if db.is_sqlite:
        engine = create_engine(db.url)  # without vidoro's connect hook, so foreign keys stay off
        try:
            with engine.begin() as conn:
                for table in GUARDED:
                    for action in ("update", "delete"):
                        conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{action}"))
                yield conn
        finally:
            engine.dispose()
    else:
        # Replica mode skips user triggers and foreign-key checks for this transaction only: dropping the
        # triggers would strip them from the schema the other PostgreSQL tests share.
        with db.engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            yield conn


def restore(logs: Logs, tables=TOUCHED) -> None:
    """Put back the rows of `tables` as built (by default those a trial may touch)."""
    with full_access(logs.db) as conn:
        for table in tables:
            conn.execute(delete(table))
            if logs.pristine[table.name]:
                conn.execute(insert(table), logs.pristine[table.name])


def found(logs: Logs, seed: int, name: str | None, kind: str, where: str | None = None, *,
          held: bool = False) -> Report:
    """Verify as an auditor; the first finding must be `kind` (in log `name`, at `where`). Then restore."""
    notes = [logs.held[name]] if held else []
    report = verify(logs.db, logs.signer.verifier_key, held=notes)
    shown = [f.text() for f in report.findings[:4]]
    assert not report.ok, f"seed {seed}, {name} log: the tampering went unnoticed"
    first = report.findings[0]
    assert (first.kind, first.log) == (kind, name), f"seed {seed}, {name} log: {shown}"
    if where is not None:
        assert first.where == where, f"seed {seed}, {name} log: {shown}"
    restore(logs)
    return report


def entries(conn, name: str) -> list[dict]:
    table = ENTRIES[name]
    return [dict(r._mapping) for r in conn.execute(select(table).order_by(table.c.seq))]


def encode(body: dict) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def retimed(row: dict, minutes: int) -> dict:
    """The same entry moved in time, its bytes and its `at` column alike, as a careful forger would."""
    body = json.loads(row["entry"])
    moment = datetime.fromisoformat(body["at"]) + timedelta(minutes=minutes)
    body["at"] = moment.isoformat(timespec="microseconds")
    return {**row, "entry": encode(body), "at": moment}


def rewrite(conn, name: str, rows: list[dict], signer: LogSigner) -> None:
    """Store `rows` as the whole log: renumbered, re-chained, a fresh tree, stored checkpoints re-signed."""
    frontier, nodes, roots, previous = Frontier(), [], {}, GENESIS
    for seq, row in enumerate(rows, start=1):
        previous = chain_hash(previous, row["entry"])
        row.update(seq=seq, chain_hash=previous)
        nodes += [{"level": lv, "idx": ix, "hash": h} for lv, ix, h in frontier.append(leaf_hash(row["entry"]))]
        roots[seq] = frontier.root()
    for table, new in ((ENTRIES[name], rows), (NODES[name], nodes)):
        conn.execute(delete(table))
        conn.execute(insert(table), new)
    resign(conn, name, roots, signer)


def resign(conn, name: str, roots: dict[int, bytes], signer: LogSigner) -> None:
    for cp_id, size in conn.execute(select(CHECKPOINTS.c.id, CHECKPOINTS.c.size).where(CHECKPOINTS.c.log == name)):
        conn.execute(update(CHECKPOINTS).where(CHECKPOINTS.c.id == cp_id).values(
            root=roots[size], note=signer.sign(name, size, roots[size])))


def truncate(conn, name: str, keep: int, *, with_nodes: bool) -> None:
    """Remove entries after `keep`, the checkpoints covering them, and (if `with_nodes`) their tree nodes."""
    conn.execute(delete(ENTRIES[name]).where(ENTRIES[name].c.seq > keep))
    conn.execute(delete(CHECKPOINTS).where(CHECKPOINTS.c.log == name, CHECKPOINTS.c.size > keep))
    if with_nodes:
        nodes = NODES[name]
        for level in range(12):
            conn.execute(delete(nodes).where(nodes.c.level == level, nodes.c.idx >= keep >> level))
    if name == "transitions":
        settle_cases(conn)
    if name == "journal":
        settle_notes(conn)


def settle_cases(conn) -> None:
    """Put every case in the state its last remaining transition says, and remove cases left unlogged."""
    last = {row["case_ref"]: row["to_state"] for row in entries(conn, "transitions")}
    for ref, state in conn.execute(select(CASES.c.ref, CASES.c.state)).all():
        if ref not in last:
            conn.execute(delete(CASES).where(CASES.c.ref == ref))
        elif last[ref] != state:
            conn.execute(update(CASES).where(CASES.c.ref == ref).values(state=last[ref]))


def settle_notes(conn) -> None:
    """Put every journal note back as its last remaining journal log entry has it, as a careful forger who cut
    the log's tail would: a note whose signing was cut is a draft again, one whose writing was cut is gone."""
    last = {}
    for row in entries(conn, "journal"):
        body = json.loads(row["entry"])
        last[body["note"]] = body["action"]
    for (note_id,) in conn.execute(select(NOTES.c.id)).all():
        action = last.get(note_id)
        if action is None:
            conn.execute(delete(NOTES).where(NOTES.c.id == note_id))
        elif action in ("write", "edit"):
            conn.execute(update(NOTES).where(NOTES.c.id == note_id).values(signed_at=None))


# --- the control ----------------------------------------------------------------------------------------


def test_untouched_logs_verify_and_a_restored_trial_leaves_nothing_behind(logs):
    report = verify(logs.db, logs.signer.verifier_key, held=list(logs.held.values()))
    assert report.ok, [f.text() for f in report.findings]
    assert {n: (r.entries, r.checkpoints, r.held) for n, r in report.logs.items()} == {
        n: (logs.size(n), 2, 1) for n in LOGS}
    assert 40 <= logs.size("transitions") <= 80 and 25 <= logs.size("access") <= 80
    assert 40 <= logs.size("administration") <= 120 and 20 <= logs.size("journal") <= 60
    with full_access(logs.db) as conn:
        truncate(conn, "transitions", 3, with_nodes=False)
        conn.execute(update(CASES).values(state="closed"))
    assert not verify(logs.db, logs.signer.verifier_key).ok
    restore(logs)
    assert verify(logs.db, logs.signer.verifier_key, held=list(logs.held.values())).ok


# --- changed entries, columns and cases ------------------------------------------------------------------


def test_a_changed_byte_of_an_entry_is_found(logs):
    for seed in SEEDS:
        rng = random.Random(seed)
        for name in LOGS:
            seq = rng.randint(1, logs.size(name))
            with full_access(logs.db) as conn:
                entry = bytearray(entries(conn, name)[seq - 1]["entry"])
                entry[rng.randrange(len(entry))] ^= rng.randint(1, 255)
                conn.execute(update(ENTRIES[name]).where(ENTRIES[name].c.seq == seq).values(entry=bytes(entry)))
            found(logs, seed, name, "entry_changed", f"entry {seq}")


def test_an_edited_search_column_is_found(logs):
    for trial, seed in enumerate(SEEDS):
        rng = random.Random(seed)
        for name in LOGS:
            seq, column = rng.randint(1, logs.size(name)), SEARCH_COLUMNS[name][trial % len(SEARCH_COLUMNS[name])]
            with full_access(logs.db) as conn:
                rows = entries(conn, name)
                choices = {r[column] for r in rows} | OTHER_VALUES.get(column, set())
                value = rng.choice(sorted(v for v in choices if v is not None and v != rows[seq - 1][column]))
                conn.execute(update(ENTRIES[name]).where(ENTRIES[name].c.seq == seq).values({column: value}))
            found(logs, seed, name, "columns_changed", f"entry {seq}")


def test_an_edited_time_column_is_found(logs):
    """The `at` column is what staff see: the case journal and the emergency review list read it."""
    for seed in SEEDS:
        rng = random.Random(seed)
        for name in LOGS:
            seq, minutes = rng.randint(1, logs.size(name)), rng.choice([-1, 1]) * rng.randint(1, 60 * 24 * 30)
            table = ENTRIES[name]
            with full_access(logs.db) as conn:
                moment = entries(conn, name)[seq - 1]["at"] + timedelta(minutes=minutes)
                conn.execute(update(table).where(table.c.seq == seq).values(at=moment))
            found(logs, seed, name, "columns_changed", f"entry {seq}")


def test_a_case_state_changed_outside_the_workflow_is_found(logs):
    for seed in SEEDS:
        rng = random.Random(seed)
        case = rng.choice(logs.pristine[CASES.name])
        state = rng.choice([s for s in PATHS if s != case["state"]])
        with full_access(logs.db) as conn:
            conn.execute(update(CASES).where(CASES.c.ref == case["ref"]).values(state=state))
        found(logs, seed, None, "case_state_changed", f"case {case['ref']}")


# --- deleted, swapped and forged entries -----------------------------------------------------------------


def test_a_deleted_entry_is_found(logs):
    for seed in SEEDS:
        rng = random.Random(seed)
        for name in LOGS:
            seq = rng.randint(1, logs.size(name) - 1)  # the last one is the tail's case, below
            with full_access(logs.db) as conn:
                conn.execute(delete(ENTRIES[name]).where(ENTRIES[name].c.seq == seq))
            found(logs, seed, name, "entry_missing", f"entry {seq}")


def test_two_swapped_entries_are_found(logs):
    for seed in SEEDS:
        rng = random.Random(seed)
        for name in LOGS:
            first, second = sorted(rng.sample(range(1, logs.size(name) + 1), 2))
            table = ENTRIES[name]
            with full_access(logs.db) as conn:
                rows = entries(conn, name)
                a, b = rows[first - 1], rows[second - 1]
                assert a["entry"] != b["entry"], f"seed {seed}: entries {first} and {second} are the same"
                conn.execute(update(table).where(table.c.seq == first).values({**b, "seq": first}))
                conn.execute(update(table).where(table.c.seq == second).values({**a, "seq": second}))
            found(logs, seed, name, "entries_reordered", f"entry {first}")


def test_a_forged_entry_appended_without_tree_nodes_is_found(logs):
    for seed in SEEDS:
        rng = random.Random(seed)
        for name in LOGS:
            size = logs.size(name)
            with full_access(logs.db) as conn:
                rows = entries(conn, name)
                forged = retimed(rng.choice(rows), rng.randint(60, 60 * 24 * 30))
                forged.update(seq=size + 1, chain_hash=chain_hash(rows[-1]["chain_hash"], forged["entry"]))
                conn.execute(insert(ENTRIES[name]), [forged])
            found(logs, seed, name, "entry_forged", f"entry {size + 1}")


def test_a_forged_entry_inserted_in_the_middle_is_found(logs):
    """Renumbering the entries after it and re-chaining them; the tree is left as it was.

    Observed: the forged entry itself is reported as `entry_changed` (its position has a leaf, which holds
    another entry), each moved entry after it as `entries_reordered`, the one pushed past the end as
    `entry_forged` (no leaf at all).
    """
    for seed in SEEDS:
        rng = random.Random(seed)
        for name in LOGS:
            size = logs.size(name)
            position = rng.randint(1, size)
            with full_access(logs.db) as conn:
                rows = entries(conn, name)
                forged = retimed(rng.choice(rows), rng.randint(1, 600))
                rows.insert(position - 1, forged)
                previous = GENESIS
                for seq, row in enumerate(rows, start=1):
                    previous = chain_hash(previous, row["entry"])
                    row.update(seq=seq, chain_hash=previous)
                conn.execute(delete(ENTRIES[name]))
                conn.execute(insert(ENTRIES[name]), rows)
            report = found(logs, seed, name, "entry_changed", f"entry {position}")
            kinds = [(f.kind, f.where) for f in report.findings if f.log == name]
            assert ("entry_forged", f"entry {size + 1}") in kinds, f"seed {seed}, {name} log: {kinds}"
            moved = [("entries_reordered", f"entry {seq}") for seq in range(position + 1, size + 1)]
            assert set(moved) <= set(kinds), f"seed {seed}, {name} log: {kinds}"


# --- the tail: removed, or rewritten with every hash recomputed -------------------------------------------


def test_a_removed_tail_passes_alone_but_not_against_a_held_checkpoint(logs):
    for seed in SEEDS:
        rng = random.Random(seed)
        for name in LOGS:
            keep = rng.randint(1, logs.size(name) - 1)
            with full_access(logs.db) as conn:
                truncate(conn, name, keep, with_nodes=True)
            alone = verify(logs.db, logs.signer.verifier_key)
            # A clean cut leaves nothing inside the database to compare with: that is what held ones are for.
            assert alone.ok, f"seed {seed}, {name} log: {[f.text() for f in alone.findings[:4]]}"
            found(logs, seed, name, "tail_removed", "held checkpoint 1", held=True)


def test_entries_removed_from_the_tail_without_their_nodes_are_found(logs):
    for seed in SEEDS:
        rng = random.Random(seed)
        for name in LOGS:
            keep = rng.randint(1, logs.size(name) - 1)
            with full_access(logs.db) as conn:
                truncate(conn, name, keep, with_nodes=False)
            found(logs, seed, name, "tail_removed", f"entry {keep + 1}")


def test_a_rewritten_tail_passes_alone_but_not_against_a_held_checkpoint(logs):
    """Every chain hash, tree node and stored checkpoint recomputed, signed with the server's own key."""
    for seed in SEEDS:
        rng = random.Random(seed)
        for name in LOGS:
            start = rng.randint(0, logs.size(name) - 1)  # entries after `start` are rewritten
            with full_access(logs.db) as conn:
                rows = entries(conn, name)
                minutes = rng.choice([-1, 1]) * rng.randint(1, 600)
                rewrite(conn, name, rows[:start] + [retimed(r, minutes) for r in rows[start:]], logs.signer)
            alone = verify(logs.db, logs.signer.verifier_key)
            assert alone.ok, f"seed {seed}, {name} log: {[f.text() for f in alone.findings[:4]]}"
            found(logs, seed, name, "log_rewritten", "held checkpoint 1", held=True)


def test_checkpoints_signed_with_a_replaced_key_are_found(logs, tmp_path):
    """The signing key swapped for a new one of the same name, the tail rewritten and everything re-signed."""
    forger = LogSigner.create(tmp_path / "forger", name=logs.signer.name)
    assert forger.verifier_key != logs.signer.verifier_key
    for seed in SEEDS:
        rng = random.Random(seed)
        for name in LOGS:
            start = rng.randint(0, logs.size(name) - 1)
            with full_access(logs.db) as conn:
                rows = entries(conn, name)
                rewrite(conn, name, rows[:start] + [retimed(r, rng.randint(1, 600)) for r in rows[start:]], forger)
            smallest = min(cp["size"] for cp in logs.pristine[CHECKPOINTS.name] if cp["log"] == name)
            found(logs, seed, name, "checkpoint_forged", f"stored checkpoint {name}@{smallest}")
