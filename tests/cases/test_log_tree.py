"""The stored Merkle trees: what an append writes, tree heads and proofs read back from the database.

The reference is the pure `workflow.merkle` over the same entries (itself checked against the RFC 6962 /
9162 peer vectors in tests/workflow/test_merkle.py).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, text

from cases.audit.log import LOGS, append
from cases.audit.tree import consistency, inclusion, tree_head, tree_size
from cases.errors import LogTampered
from tests.conftest import NOW
from workflow import AccessEntry, AdministrationEntry, JournalEntry, LogEntry
from workflow.merkle import MemoryTree, leaf_hash, root_from_leaves, verify_consistency, verify_inclusion

SIZE = 37  # odd, not a power of two: every kind of right border occurs below it


def transition(n: int) -> LogEntry:
    return LogEntry(at=NOW + timedelta(seconds=n), case_ref=f"VO-T{n:07d}", actor_id="staff-1", role="intake",
                    trigger="register", from_state=None, to_state="registered", flowchart_version="f" * 64,
                    codes={"reporter_org": "school"}, payload_hash=f"{n:064x}")


def read(n: int) -> AccessEntry:
    return AccessEntry(at=NOW + timedelta(seconds=n), case_ref=f"VO-A{n:07d}", actor_id="staff-2",
                       role="caseworker", action="read", ground="assignment", fields=("concern",))


def account_change(n: int) -> AdministrationEntry:
    return AdministrationEntry(at=NOW + timedelta(seconds=n), actor_id="operator", target_id=f"staff-{n}",
                               action="disable")


def note_change(n: int) -> JournalEntry:
    return JournalEntry(at=NOW + timedelta(seconds=n), case_ref=f"VO-J{n:07d}", actor_id="staff-3", role="decider",
                        action="write", note_id=f"note-{n}", kind="contact", content=f"{n:064x}")


@pytest.fixture
def filled(db):
    """Every log with SIZE entries, appended one transaction at a time as the operations do."""
    for n in range(SIZE):
        with db.write() as session:
            append(session, transition(n))
            append(session, read(n))
            append(session, account_change(n))
            append(session, note_change(n))
    return db


def stored_entries(db, name: str) -> list[bytes]:
    table = LOGS[name].entries
    with db.read() as session:
        return [bytes(e) for e in session.scalars(select(table.entry).order_by(table.seq))]


@pytest.mark.parametrize("name", list(LOGS))
def test_appends_store_exactly_the_nodes_of_the_tree_of_the_entries(filled, name):
    reference = MemoryTree(leaf_hash(e) for e in stored_entries(filled, name))
    nodes = LOGS[name].nodes
    with filled.read() as session:
        stored = {(r.level, r.idx): bytes(r.hash) for r in session.execute(select(nodes.level, nodes.idx, nodes.hash))}
    expected = {}
    for level in range(SIZE.bit_length()):
        for index in range(SIZE >> level):
            expected[level, index] = reference.node(level, index)
    assert stored == expected


@pytest.mark.parametrize("name", list(LOGS))
def test_tree_heads_at_every_size_are_the_roots_of_the_entries(filled, name):
    leaves = [leaf_hash(e) for e in stored_entries(filled, name)]
    with filled.read() as session:
        assert tree_size(session, LOGS[name]) == SIZE
        assert tree_head(session, LOGS[name]) == (SIZE, root_from_leaves(leaves))
        for size in range(SIZE + 1):
            assert tree_head(session, LOGS[name], size) == (size, root_from_leaves(leaves[:size]))


def test_every_inclusion_proof_verifies_and_a_wrong_entry_does_not(filled):
    log = LOGS["transitions"]
    with filled.read() as session:
        for size in (1, 2, 7, 16, SIZE):
            _, head = tree_head(session, log, size)
            for seq in range(1, size + 1):
                proof = inclusion(session, log, seq, size)
                assert (proof.size, proof.root, proof.index) == (size, head, seq - 1)
                verify_inclusion(proof.leaf_hash, proof.index, size, proof.path, head)
                if size > 1:
                    other = inclusion(session, log, seq % size + 1, size)
                    with pytest.raises(ValueError, match=r"another root|hashes"):
                        verify_inclusion(other.leaf_hash, proof.index, size, proof.path, head)


def test_every_consistency_proof_verifies(filled):
    log = LOGS["access"]
    with filled.read() as session:
        for old in range(1, SIZE + 1):
            for new in range(old, SIZE + 1, 5):
                proof = consistency(session, log, old, new)
                assert proof.old_root == tree_head(session, log, old)[1]
                verify_consistency(old, new, proof.old_root, proof.new_root, proof.path)


def test_a_proof_reads_its_nodes_in_one_statement(filled):
    statements = []

    def count(conn, cursor, statement, *args):
        if "transition_log_nodes" in statement:
            statements.append(statement)

    event.listen(filled.engine, "before_cursor_execute", count)
    try:
        with filled.read() as session:
            inclusion(session, LOGS["transitions"], 5)
            assert len(statements) == 1
            consistency(session, LOGS["transitions"], 9, SIZE)
            assert len(statements) == 2
    finally:
        event.remove(filled.engine, "before_cursor_execute", count)


@pytest.mark.parametrize(("seq", "size"), [(0, None), (SIZE + 1, None), (3, SIZE + 1), (5, 4)])
def test_proofs_outside_the_log_are_refused(filled, seq, size):
    with filled.read() as session, pytest.raises(ValueError, match=r"not in|has 37 entries"):
        inclusion(session, LOGS["transitions"], seq, size)


@pytest.mark.parametrize(("old", "new"), [(0, 5), (6, 5), (1, SIZE + 1)])
def test_consistency_outside_the_log_is_refused(filled, old, new):
    with filled.read() as session, pytest.raises(ValueError):
        consistency(session, LOGS["transitions"], old, new)


def test_an_empty_log_has_the_empty_root(db):
    with db.read() as session:
        assert tree_head(session, LOGS["transitions"]) == (0, root_from_leaves([]))


def _drop_node(db, level: int, index: int) -> None:
    with db.engine.begin() as conn:
        if db.is_sqlite:
            conn.execute(text("DROP TRIGGER transition_log_nodes_no_delete"))
        else:
            conn.execute(text("ALTER TABLE transition_log_nodes DISABLE TRIGGER USER"))
        conn.execute(text("DELETE FROM transition_log_nodes WHERE level = :l AND idx = :i"), {"l": level, "i": index})


def test_a_missing_node_stops_an_append_and_nothing_is_written(filled):
    # Entry 38 (leaf 37 = 0b100101) completes (1, 18) from leaf 36: without that leaf, the append cannot.
    _drop_node(filled, 0, 36)
    with pytest.raises(LogTampered, match="transitions log is damaged") as caught, filled.write() as session:
        append(session, transition(99))
    assert "vidoro audit verify" in str(caught.value) and caught.value.code == "log_tampered"
    with filled.read() as session:
        assert tree_size(session, LOGS["transitions"]) == SIZE
        assert session.scalar(select(func.count()).select_from(LOGS["transitions"].nodes).where(
            LOGS["transitions"].nodes.idx == SIZE, LOGS["transitions"].nodes.level == 0)) == 0


def test_a_missing_node_stops_a_proof_with_a_clear_error(filled):
    _drop_node(filled, 2, 0)  # leaves 0-3: the sibling on the path of entry 5 (leaf 4)
    with filled.read() as session, pytest.raises(LogTampered, match=r"node \(2, 0\) is missing"):
        inclusion(session, LOGS["transitions"], 5)
