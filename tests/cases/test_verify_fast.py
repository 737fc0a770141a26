"""The fast whole-log check (`cases.audit.verify_fast`) against the detailed one, on both databases.

`verify` trusts the fast check's "intact" and runs the detailed check only where it cannot vouch; so for
every log, intact or tampered with, `verify` must report exactly what the detailed check alone reports,
and the fast check must vouch for vidoro's own logs (else verify is only slower). The tampering is
test_tamper's, plus the entries on which SQL's JSON and Python's `json` read differently, written with
every hash recomputed so that only the entry's form and its columns can give them away.
"""

from __future__ import annotations

import json
import random
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, func, insert, select, text, update

import cases.audit.verify as verify_module
from cases.audit.log import LOGS
from cases.audit.verify import Report, verify
from cases.audit.verify_fast import side_connection
from tests.cases import test_tamper as tamper
from tests.cases.test_tamper import (
    CASES,
    CHECKPOINTS,
    ENTRIES,
    NODES,
    SEEDS,
    Logs,
    entries,
    full_access,
    restore,
    retimed,
    rewrite,
    truncate,
)
from workflow import chain_hash

built, logs = tamper.built, tamper.logs  # test_tamper's logs, built once per database kind here too


@pytest.fixture
def slow_calls(monkeypatch) -> list[str]:
    """The logs the detailed check ran on (those the fast check did not vouch for)."""
    calls: list[str] = []
    real = verify_module._verify_log

    def spy(session, log, *args):
        calls.append(log.name)
        return real(session, log, *args)

    monkeypatch.setattr(verify_module, "_verify_log", spy)
    return calls


def facts(report: Report) -> tuple:
    return ([(f.kind, f.log, f.where, f.detail) for f in report.findings], report.logs, report.cases)


def agree(logs: Logs, monkeypatch, held: bool = False) -> Report:
    """verify as it runs, and the detailed check alone: the same report, finding for finding."""
    notes = list(logs.held.values()) if held else []
    report = verify(logs.db, logs.signer.verifier_key, held=notes)
    with monkeypatch.context() as patch:
        patch.setattr(verify_module, "_fast_log", lambda *args: None)
        detailed = verify(logs.db, logs.signer.verifier_key, held=notes)
    assert facts(report) == facts(detailed)
    return report


# --- intact logs ----------------------------------------------------------------------------------------


def test_intact_logs_are_vouched_for_without_the_detailed_check(logs, slow_calls, monkeypatch):
    report = agree(logs, monkeypatch, held=True)
    assert report.ok
    assert slow_calls == list(LOGS)  # only the detailed check's run inside agree()
    slow_calls.clear()
    counted: list[int] = []
    report = verify(logs.db, logs.signer.verifier_key, held=list(logs.held.values()), progress=counted.append)
    assert report.ok and slow_calls == []
    assert sum(counted) == sum(logs.size(name) for name in LOGS)
    assert {n: (r.checkpoints, r.held) for n, r in report.logs.items()} == {n: (2, 1) for n in LOGS}


def test_an_empty_database_is_vouched_for(db, slow_calls):
    report = verify(db, "unused")
    assert report.ok and slow_calls == [] and report.cases == 0
    assert all(r.entries == 0 and r.nodes == 0 for r in report.logs.values())


def test_both_connections_see_one_snapshot(logs):
    """A commit after the snapshot began is seen by neither the session nor the second connection."""
    table = ENTRIES["transitions"]
    with logs.db.snapshot() as session, side_connection(logs.db, session) as side:
        assert side is not None
        with full_access(logs.db) as conn:
            conn.execute(delete(table).where(table.c.seq == logs.size("transitions")))
        count = select(func.count()).select_from(table)
        assert session.scalar(count) == side.scalar(count) == logs.size("transitions")
    restore(logs)


# --- tampering: the fast check must decline, and verify name what the detailed check names ----------------


def test_changed_bytes_columns_and_times_are_reported_as_the_detailed_check_reports_them(logs, monkeypatch):
    for seed in SEEDS:
        rng = random.Random(seed)
        for name in LOGS:
            seq, table = rng.randint(1, logs.size(name)), ENTRIES[name]
            row = logs.pristine[table.name][seq - 1]
            column = rng.choice([c.name for c in table.c if c.name not in ("seq", "entry", "chain_hash")])
            changes = [{"entry": bytes(b ^ (i == 3) for i, b in enumerate(row["entry"]))},
                       {"chain_hash": bytes(32)},
                       {"at": row["at"] + timedelta(microseconds=1)},
                       {column: "bogus" if column != "at" else row["at"] - timedelta(days=1)}]
            for change in changes:
                with full_access(logs.db) as conn:
                    conn.execute(update(table).where(table.c.seq == seq).values(change))
                assert not agree(logs, monkeypatch).ok, (seed, name, change)
                restore(logs)


def _trials(logs: Logs, name: str, seq: int, level: int, index: int) -> list:
    """Ways to remove, move or forge entries, nodes and checkpoint roots (each a function of a connection)."""
    size, table, nodes = logs.size(name), ENTRIES[name], NODES[name]
    node = (nodes.c.level == level) & (nodes.c.idx == index)
    statements = [
        delete(table).where(table.c.seq == seq),
        update(table).where(table.c.seq == seq).values(seq=size + 5),
        delete(nodes).where(node),
        update(nodes).where(node).values(hash=bytes(32)),
        insert(nodes).values(level=level, idx=size + 7, hash=bytes(32)),
        insert(nodes).values(level=20, idx=0, hash=bytes(32)),
        update(CHECKPOINTS).where(CHECKPOINTS.c.log == name).values(root=bytes(32)),
    ]
    if logs.db.is_sqlite:  # a node moved to a non-integer index, as only SQLite would store it
        statements.append(text(f"UPDATE {nodes.name} SET idx = {index} - 0.5 WHERE level = {level} AND idx = {index}"))
    trials = [lambda conn, statement=statement: conn.execute(statement) for statement in statements]
    return [*trials, lambda conn: truncate(conn, name, seq, with_nodes=False),
            lambda conn: truncate(conn, name, seq, with_nodes=True)]


def test_removed_moved_and_forged_entries_and_nodes_are_reported_alike(logs, monkeypatch):
    for seed in SEEDS:
        rng = random.Random(seed)
        for name in LOGS:
            size = logs.size(name)
            seq, level = rng.randint(1, size - 1), rng.randint(0, 3)
            for number, trial in enumerate(_trials(logs, name, seq, level, rng.randrange(size >> level))):
                with full_access(logs.db) as conn:
                    trial(conn)
                assert not agree(logs, monkeypatch, held=True).ok, (seed, name, number)
                restore(logs)


def test_a_forged_entry_with_its_chain_hash_is_reported_alike(logs, monkeypatch):
    for name in LOGS:
        size = logs.size(name)
        with full_access(logs.db) as conn:
            rows = entries(conn, name)
            forged = retimed(rows[-1], 5)
            forged.update(seq=size + 1, chain_hash=chain_hash(rows[-1]["chain_hash"], forged["entry"]))
            conn.execute(insert(ENTRIES[name]), [forged])
        assert not agree(logs, monkeypatch).ok
        restore(logs)


def test_cases_out_of_step_with_the_log_are_reported_alike(logs, monkeypatch):
    case = logs.pristine[CASES.name][0]
    other = "closed" if case["state"] != "closed" else "intake"
    for change in (update(CASES).where(CASES.c.ref == case["ref"]).values(state=other),
                   delete(CASES).where(CASES.c.ref == case["ref"]),
                   insert(CASES).values({**case, "id": "x" * 36, "ref": "K-UNLOGGED"})):
        with full_access(logs.db) as conn:
            conn.execute(change)
        assert not agree(logs, monkeypatch).ok
        restore(logs)


def test_a_rewritten_log_is_reported_against_held_checkpoints_alike(logs, monkeypatch):
    for name in LOGS:
        with full_access(logs.db) as conn:
            rows = entries(conn, name)
            rewrite(conn, name, rows[:3] + [retimed(r, 7) for r in rows[3:]], logs.signer)
        assert agree(logs, monkeypatch).ok  # nothing inside the database shows it
        assert not agree(logs, monkeypatch, held=True).ok
        restore(logs)


# --- entries that SQL's JSON and Python's json might read differently, every hash recomputed ----------------


def _key_last(entry: bytes, key: str, value: str) -> bytes:
    return entry[:-1] + f',"{key}":{json.dumps(value)}}}'.encode()


def _key_first(entry: bytes, key: str, value: str) -> bytes:
    return b"{" + f'"{key}":{json.dumps(value)},'.encode() + entry[1:]


def _body(entry: bytes, change) -> bytes:
    body = json.loads(entry)
    change(body)
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _at(body: dict, offset: timedelta | None = None, timespec: str = "microseconds") -> None:
    moment = datetime.fromisoformat(body["at"])
    body["at"] = (moment.astimezone(timezone(offset)) if offset else moment).isoformat(timespec=timespec)


def _escaped(entry: bytes) -> bytes:
    """The entry's case written with its first letter as a \\u escape: the same string to a parser."""
    start = entry.index(b'"case":"') + len(b'"case":"')
    return entry[:start] + b"\\u%04x" % entry[start] + entry[start + 1:]


FORMS = {
    # duplicate keys: SQLite's json_extract reads the first, Python (and PostgreSQL's jsonb) the last
    "duplicate key, the last one differs": lambda e, key: _key_last(e, key, "bogus"),
    "duplicate key, the first one differs": lambda e, key: _key_first(e, key, "bogus"),
    "duplicate key written with an escape": lambda e, key: e[:-1] + b',"c\\u0061se":"K-BOGUS"}',
    "duplicate key with a space before its colon": lambda e, key: e[:-1] + f',"{key}" :"bogus"}}'.encode(),
    "space after the object": lambda e, key: e + b" ",
    "space before the object": lambda e, key: b" " + e,
    "newline inside": lambda e, key: b"{\n" + e[1:],
    "two objects": lambda e, key: e + b"{}",
    "not UTF-8": lambda e, key: e[:-1] + b',"x":"\xff"}',
    "a NUL byte after the object": lambda e, key: e + b"\x00",
    "NaN": lambda e, key: e[:-1] + b',"x":NaN}',
    "an integer of 5,000 digits": lambda e, key: e[:-1] + b',"x":' + b"7" * 5000 + b"}",
    "nested 600 deep": lambda e, key: e[:-1] + b',"x":' + b"[" * 600 + b"]" * 600 + b"}",
    "a control character in a string": lambda e, key: e[:-1] + b',"x":"a\x01b"}',
    "a lone surrogate": lambda e, key: e[:-1] + b',"x":"\\ud800"}',
    "case not a string": lambda e, key: _body(e, lambda b: b.update(case=[b["case"]])),
    "case missing": lambda e, key: _body(e, lambda b: b.pop("case")),
    "the compared key missing": lambda e, key: _body(e, lambda b: b.pop(key)),
    "the same time at another offset": lambda e, key: _body(e, lambda b: _at(b, timedelta(hours=1))),
    "the time in seconds": lambda e, key: _body(e, lambda b: _at(b, timespec="seconds")),
    "the time as a number": lambda e, key: _body(e, lambda b: b.update(at=1764150600)),
    "not an object": lambda e, key: b"[" + e + b"]",
    "an escaped but equal string": lambda e, key: _escaped(e),
}


@pytest.mark.parametrize("form", FORMS)
def test_entries_sql_and_python_might_read_differently_are_reported_alike(logs, monkeypatch, form):
    rng = random.Random(form)
    for name, key in (("transitions", "to"), ("access", "ground")):
        with full_access(logs.db) as conn:
            rows = entries(conn, name)
            seq = rng.randint(1, len(rows))
            changed = FORMS[form](rows[seq - 1]["entry"], key)
            assert changed != rows[seq - 1]["entry"]
            rows[seq - 1] = {**rows[seq - 1], "entry": changed}
            rewrite(conn, name, rows, logs.signer)
        agree(logs, monkeypatch)
        restore(logs)


def test_without_a_second_connection_the_checks_run_in_turn(logs, monkeypatch, slow_calls):
    """An in-memory SQLite database or a PostgreSQL standby gives no second connection: same results."""

    @contextmanager
    def none(db, session):
        yield None

    monkeypatch.setattr(verify_module, "side_connection", none)
    assert agree(logs, monkeypatch, held=True).ok
    slow_calls.clear()
    assert verify(logs.db, logs.signer.verifier_key).ok and slow_calls == []
    table = ENTRIES["access"]
    with full_access(logs.db) as conn:
        conn.execute(update(table).where(table.c.seq == 2).values(ground="bogus"))
    assert [f.kind for f in agree(logs, monkeypatch).findings] == ["columns_changed"]
    restore(logs)
