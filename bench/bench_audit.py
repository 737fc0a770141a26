"""Benchmark: verifying the stored audit log from scratch, appending to it, and proving entries (a script).

    python bench/bench_audit.py [--entries N] [--db sqlite|postgresql|both] [--quick] [--record]

What it measures, on SQLite and on PostgreSQL (bench/README.md, "Audit log", explains the method and holds
the recorded figures):

1. `cases.audit.verify.verify` over a transition log of N entries (default 1,000,000): wall time, against
   same-process baselines on the same entries — SHA-256 of every entry already in memory (hashlib), the
   hashes a full check needs (leaf, chain, tree nodes, each once) and parsing every entry's JSON in memory,
   and reading the rows verify reads through the bare driver in the same batches. Goal: under 10 s.
2. The cost of one `cases.audit.log.append` transaction (its own `db.write()`) with a log of 1,000 entries and
   with one of N, interleaved in rounds, with a bare one-row insert transaction beside it. Goal: flat,
   cost@N / cost@1,000 <= 1.3.
3. Inclusion and consistency proofs (`cases.audit.tree`), each in its own read transaction, at both sizes:
   median and p99. Goal: an inclusion proof at N entries in under 5 ms.

A full run (both databases, 1,000,000 entries) takes 30–40 minutes on a 2-CPU machine, most of it
building the two large logs; `--quick` (20,000 entries) under a minute per database.

The log is made like the transition benchmark's (`bench_transitions.Seeder`): one case per flowchart state
through the real operations, the rest generated through the real engine and bulk-inserted with their
persons, cases, consents, deadlines and referral packets (case_events are left out: nothing here reads
them), each entry with its chain hash and the tree nodes it completes (`workflow.merkle.Frontier`), until
the log has exactly N entries (near the end only states whose path still fits are drawn). Every proof is
checked, and a final `verify` (after the appends) must find nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import hashlib
import io
import json
import os
import pstats
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_transitions import (
    BASELINE_LOG,
    BASELINE_META,
    BENCH_DIR,
    README,
    T0,
    Rows,
    Seeder,
    machine_info,
    mark,
    own_time_by_layer,
    postgres_database,
    record,
    server_info,
    sqlite_database,
    writer,
)
from chart_option import add_flowchart_option, use_flowchart
from sqlalchemy import func, insert, select, text

from cases import Database
from cases.audit.checkpoints import issue_checkpoint
from cases.audit.log import LOGS
from cases.audit.log import append as log_append
from cases.audit.signing import LogSigner
from cases.audit.tree import consistency, inclusion, tree_head
from cases.audit.verify import verify
from cases.flowcharts import current_engine
from cases.models import (
    AssessmentRecord,
    Case,
    Communication,
    Consent,
    Deadline,
    Decision,
    Person,
    ReferralPacket,
    TransitionLogEntry,
    TransitionLogNode,
)
from cases.reports.demo import PATHS, demo_staff, fill_demo
from workflow import GENESIS, LogEntry
from workflow.checkpoint import parse_and_verify
from workflow.merkle import Frontier, leaf_hash, verify_consistency, verify_inclusion

POSTGRES_URL = os.environ.get("VIDORO_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
VERIFY_GOAL_S, SCALE_GOAL, PROOF_GOAL_MS = 10.0, 1.3, 5.0
READ_BATCH = 5000  # cases.audit.verify.BATCH: the read baseline fetches the same batches
LOG_COLUMNS = ("seq", "case_ref", "at", "trigger", "from_state", "to_state", "entry", "chain_hash")
# How many log entries a generated case in each state writes: its registration, each trigger it fires and
# each communication before an adverse decision (issue 17: an entry with the state unchanged).
CASE_ENTRIES = {state: 1 + sum(1 for s in steps if s.trigger or s.communicate)
                for state, (_child, steps) in PATHS.items()}


@dataclass(frozen=True)
class Settings:
    entries: int  # the large log
    small: int  # the small log (append and proofs)
    verify_rounds: int
    append_rounds: int
    appends: int  # per round, side and size
    proofs: int  # of each kind per size
    batch: int  # generated cases per insert transaction
    profile: bool  # cProfile the final verify


FULL = Settings(entries=1_000_000, small=1_000, verify_rounds=3, append_rounds=10, appends=60, proofs=1_000,
                batch=2_000, profile=True)
QUICK = Settings(entries=20_000, small=1_000, verify_rounds=3, append_rounds=4, appends=30, proofs=200,
                 batch=1_000, profile=False)


def say(message: str) -> None:
    """Progress goes to stderr; the report to stdout."""
    print(message, file=sys.stderr, flush=True)


def median(values: list[float]) -> float:
    return statistics.median(values)


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


# --- building the log ------------------------------------------------------------------------------------


class LogSeeder(Seeder):
    """The transition benchmark's generator, writing each entry's tree nodes as `cases.audit.log.append` does.

    The Merkle tree is continued on a `Frontier` rebuilt from the entries already stored (those the real
    operations wrote; their stored nodes must be the ones it gives). The log and node rows go in with COPY
    on PostgreSQL and executemany on SQLite; case_events (the sealed forms) are not written.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.frontier = Frontier()
        self.nodes: list[tuple[int, int, bytes]] = []

    def _continue_log(self) -> None:
        with self.db.read() as s:
            entries = s.execute(select(TransitionLogEntry.seq, TransitionLogEntry.entry, TransitionLogEntry.chain_hash)
                                .order_by(TransitionLogEntry.seq)).all()
            stored = {(lv, ix): bytes(h) for lv, ix, h in s.execute(select(TransitionLogNode.__table__))}
        self.frontier, self.seq, self.head = Frontier(), 0, GENESIS
        for seq, entry, chained in entries:
            self.seq += 1
            self.head = hashlib.sha256(self.head + leaf_hash(bytes(entry))).digest()
            assert seq == self.seq and bytes(chained) == self.head, f"the stored log breaks at {seq}"
            for level, index, value in self.frontier.append(leaf_hash(bytes(entry))):
                assert stored.get((level, index)) == value, f"stored node ({level}, {index}) differs"
        assert len(stored) == sum(self.seq >> lv for lv in range(self.seq.bit_length())), "stray stored nodes"

    def _log(self, rows: Rows, key, case_id: str, outcome, salt: bytes) -> int:
        return self._chain(rows, outcome.entry)  # no case_event

    def _chain(self, rows: Rows, entry) -> int:
        data = entry.canonical()
        leaf = leaf_hash(data)
        self.seq += 1
        self.head = hashlib.sha256(self.head + leaf).digest()  # workflow.chain_hash(head, data)
        rows.log.append((self.seq, entry.case_ref, entry.at, entry.trigger, entry.from_state, entry.to_state,
                         data, self.head))
        self.nodes += self.frontier.append(leaf)
        return self.seq

    def _insert(self, rows: Rows) -> None:
        with self.store._db() as keyring:
            keyring.executemany("INSERT INTO data_keys VALUES (?, ?, ?, ?)", rows.keys)
        with writer(self.db).begin() as conn:
            for model, values in ((Person, rows.persons), (Case, rows.cases), (Consent, rows.consents),
                                  (Deadline, rows.deadlines)):
                if values:
                    conn.execute(insert(model.__table__), values)
            if self.db.is_sqlite:
                conn.execute(insert(TransitionLogEntry.__table__), [dict(zip(LOG_COLUMNS, r, strict=True))
                                                                    for r in rows.log])
                conn.exec_driver_sql("INSERT INTO transition_log_nodes (level, idx, hash) VALUES (?, ?, ?)",
                                     self.nodes)
            else:
                cursor = conn.connection.dbapi_connection.cursor()
                for table, columns, values in (("transition_log", LOG_COLUMNS, rows.log),
                                               ("transition_log_nodes", ("level", "idx", "hash"), self.nodes)):
                    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                        for value in values:
                            copy.write_row(value)
            # after the log: a decision names its entry; issue 17's records, as the operations write them
            for model, values in ((ReferralPacket, rows.packets), (Communication, rows.communications),
                                  (AssessmentRecord, rows.assessments), (Decision, rows.decisions)):
                if values:
                    conn.execute(insert(model.__table__), values)
        self.nodes = []

    def build(self, target: int, batch: int) -> int:
        """Generate cases until the log has exactly `target` entries; returns the cases made.

        Near the end only states whose path still fits are drawn (a registered case writes one entry).
        """
        self._continue_log()
        states, weights = self.states, self.weights
        made, started, next_report = 0, time.perf_counter(), target // 10
        while self.seq < target:
            rows = Rows()
            while len(rows.cases) < batch and self.seq < target:
                left = target - self.seq
                if left < max(CASE_ENTRIES.values()):
                    fits = [(s, w) for s, w in zip(states, weights, strict=True) if CASE_ENTRIES[s] <= left]
                    self.states, self.weights = [s for s, _w in fits], [w for _s, w in fits]
                self._case(rows)
            self._insert(rows)
            made += len(rows.cases)
            if self.seq >= next_report:
                elapsed = time.perf_counter() - started
                say(f"    {self.seq:>10,} / {target:,} entries, {made:,} cases ({elapsed:5.0f} s, "
                    f"{self.seq / elapsed:,.0f} entries/s)")
                next_report += target // 10
        return made


@dataclass
class Built:
    entries: int
    cases: int
    nodes: int
    seconds: float
    size: str  # what the log takes on disk
    checkpoint: str  # the signed note issued right after the build


def build_log(db: Database, where: str, target: int, settings: Settings, signer: LogSigner, seed: int) -> Built:
    """A log of exactly `target` entries with consistent cases, and a stored checkpoint of it."""
    started = time.perf_counter()
    BASELINE_META.create_all(db.engine)
    fill_demo(db, per_state=1, seed=seed, now=T0 - timedelta(days=1))
    staff = demo_staff(db)
    seeder = LogSeeder(db, current_engine(), staff, seed)
    say(f"  building a log of {target:,} entries ({where})")
    seeder.build(target, settings.batch)
    if db.is_sqlite:
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        path = where
        size = f"database file {os.path.getsize(path) / 2**20:,.0f} MiB"
    else:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # what autovacuum would do soon after a bulk load; only this schema's tables
            conn.exec_driver_sql("VACUUM (ANALYZE) transition_log, transition_log_nodes, cases, persons, consents, "
                                 "deadlines, referral_packets")
            size = "log tables {:,.0f} MiB".format(conn.scalar(text(
                "SELECT pg_total_relation_size('transition_log') + pg_total_relation_size('transition_log_nodes')"
            )) / 2**20)
    checkpoint = issue_checkpoint(db, signer, "transitions")
    with db.read() as s:
        entries = s.scalar(select(func.max(TransitionLogEntry.seq)))
        cases = s.scalar(select(func.count()).select_from(Case))
        nodes = s.scalar(select(func.count()).select_from(TransitionLogNode))
    assert entries == target == checkpoint.size, (entries, target, checkpoint.size)
    seconds = time.perf_counter() - started
    say(f"    built: {entries:,} entries, {cases:,} cases, {nodes:,} nodes in {seconds:.0f} s; {size}")
    return Built(entries, cases, nodes, seconds, size, checkpoint.note)


# --- 1. verification ----------------------------------------------------------------------------------------


def read_rows(db: Database) -> int:
    """Read what verify reads — every entry row (its 8 columns) and the nodes each batch completes, in the
    same batches and queries as `cases.audit.verify` — through the bare driver, computing nothing."""
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        last, size = 0, 0
        while True:
            cursor.execute("SELECT seq, entry, chain_hash, case_ref, trigger, from_state, to_state, at "
                           f"FROM transition_log WHERE seq > {last} ORDER BY seq LIMIT {READ_BATCH}")
            rows = cursor.fetchall()
            if not rows:
                break
            start, end = size, size + len(rows)
            ranges = []
            for level in range(end.bit_length()):
                low, high = ((start + 1) + (1 << level) - 1 >> level) - 1, (end >> level) - 1
                if low <= high:
                    ranges.append(f"(level = {level} AND idx BETWEEN {low} AND {high})")
            cursor.execute(f"SELECT level, idx, hash FROM transition_log_nodes WHERE {' OR '.join(ranges)}")
            cursor.fetchall()
            last, size = rows[-1][0], end
        cursor.execute("SELECT ref, state FROM cases")
        cursor.fetchall()
        return size
    finally:
        raw.rollback()
        raw.close()


def load_entries(db: Database) -> list[bytes]:
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SELECT entry FROM transition_log ORDER BY seq")
        return [bytes(row[0]) for row in cursor.fetchall()]
    finally:
        raw.rollback()
        raw.close()


def sha256_each(entries: list[bytes]) -> bytes:
    """The issue's baseline: plain SHA-256 of every entry, already in memory."""
    digest = b""
    for entry in entries:
        digest = hashlib.sha256(entry).digest()
    return digest


def hashes_needed(entries: list[bytes]) -> bytes:
    """Every hash a full check computes, each once: the leaf, the chain from the leaf, the tree's nodes."""
    frontier, chain = Frontier(), GENESIS
    for entry in entries:
        leaf = hashlib.sha256(b"\x00" + entry).digest()
        frontier.append(leaf)
        chain = hashlib.sha256(chain + leaf).digest()
    return frontier.root() + chain


def parse_each(entries: list[bytes]) -> int:
    """Parsing every entry's JSON (verify compares its case, trigger and states with the row's columns)."""
    return sum(len(json.loads(entry)) for entry in entries)


@dataclass
class Verification:
    entries: int
    seconds: dict[str, list[float]]  # side -> seconds per round

    def med(self, side: str) -> float:
        return median(self.seconds[side])


VERIFY_SIDES = ("verify", "read", "hashes", "parse", "sha256")


def measure_verify(db: Database, built: Built, key: str, rounds: int) -> Verification:
    """verify() and its baselines, in rotating order every round; each side's median over the rounds."""
    say(f"  verify: {rounds} rounds of verify() and its baselines over {built.entries:,} entries")
    entries = load_entries(db)
    assert len(entries) == built.entries
    result = Verification(built.entries, {side: [] for side in VERIFY_SIDES})

    def run_verify() -> None:
        report = verify(db, key, [built.checkpoint])
        assert report.ok, [f.text() for f in report.findings[:5]]
        assert report.logs["transitions"].entries == built.entries and report.cases == built.cases
        assert report.logs["transitions"].checkpoints >= 1 and report.logs["transitions"].held == 1

    runs: dict[str, Callable[[], object]] = {
        "verify": run_verify, "read": lambda: read_rows(db), "hashes": lambda: hashes_needed(entries),
        "parse": lambda: parse_each(entries), "sha256": lambda: sha256_each(entries),
    }
    for r in range(rounds):
        order = list(VERIFY_SIDES[r % len(VERIFY_SIDES):] + VERIFY_SIDES[: r % len(VERIFY_SIDES)])
        if r % 2:
            order.reverse()
        for side in order:
            started = time.perf_counter()
            runs[side]()
            result.seconds[side].append(time.perf_counter() - started)
        say("    round {}: {}".format(r + 1, ", ".join(f"{side} {result.seconds[side][-1]:.2f} s"
                                                        for side in VERIFY_SIDES)))
    return result


# --- 2. appends ----------------------------------------------------------------------------------------------


class Appender:
    """Appends copies of the log's last entry (new times) to one database, each in its own transaction.

    Copies of the last entry keep its case's last logged state equal to the case's state, so the final
    verification still finds every case where its log says.
    """

    def __init__(self, db: Database, clock: list[datetime]) -> None:
        self.db, self.clock = db, clock
        with db.read() as s:
            last = s.scalar(select(TransitionLogEntry.entry).order_by(TransitionLogEntry.seq.desc()).limit(1))
        self.template = LogEntry.from_canonical(bytes(last))
        self.writer = writer(db)
        self.baseline_insert = insert(BASELINE_LOG)

    def _next(self) -> LogEntry:
        self.clock[0] += timedelta(seconds=1)
        return dataclasses.replace(self.template, at=self.clock[0])

    def append(self, n: int) -> list[float]:
        """`n` appends through `cases.audit.log.append`, each in its own `db.write()`; seconds each."""
        times = []
        for _ in range(n):
            entry = self._next()
            started = time.perf_counter()
            with self.db.write() as session:
                log_append(session, entry)
            times.append(time.perf_counter() - started)
        return times

    def baseline(self, n: int) -> list[float]:
        """The same entry's row inserted in a bare transaction: no lock, no head, no chain, no nodes."""
        times = []
        for _ in range(n):
            entry = self._next()
            data = entry.canonical()
            started = time.perf_counter()
            with self.writer.begin() as conn:
                conn.execute(self.baseline_insert, {
                    "case_ref": entry.case_ref, "at": entry.at, "trigger": entry.trigger,
                    "from_state": entry.from_state, "to_state": entry.to_state, "entry": data,
                    "chain_hash": GENESIS})
            times.append(time.perf_counter() - started)
        return times


@dataclass
class Appends:
    sizes: tuple[int, int]  # the logs' sizes before the appends
    rounds: list[dict[tuple[int, str], list[float]]] = field(default_factory=list)  # per round: seconds each

    def all(self, size: int, side: str) -> list[float]:
        return [t for r in self.rounds for t in r[size, side]]

    def ms(self, size: int, side: str) -> float:
        return median(self.all(size, side)) * 1000

    def scale_rounds(self, side: str = "append") -> list[float]:
        small, large = self.sizes
        return [median(r[large, side]) / median(r[small, side]) for r in self.rounds]

    def scale(self, side: str = "append") -> float:
        return median(self.scale_rounds(side))


def measure_appends(appenders: list[tuple[int, Appender]], settings: Settings) -> Appends:
    say(f"  append: {settings.append_rounds} rounds x {settings.appends} appends per side and size")
    result = Appends((appenders[0][0], appenders[1][0]))
    sides = []
    for size, appender in appenders:
        appender.append(20)  # warm up: compiled statements, pooled connections
        appender.baseline(20)
        sides += [(size, "append", appender.append), (size, "baseline", appender.baseline)]
    for r in range(settings.append_rounds):
        order = sides[r % len(sides):] + sides[: r % len(sides)]
        if r % 2:
            order.reverse()
        times = {(size, side): run(settings.appends) for size, side, run in order}
        result.rounds.append(times)
        say(f"    round {r + 1:>2}: " + "   ".join(
            f"{size:,}: append {median(times[size, 'append']) * 1000:.2f} ms, "
            f"baseline {median(times[size, 'baseline']) * 1000:.2f} ms" for size, _a in appenders))
    return result


# --- 3. proofs ----------------------------------------------------------------------------------------------


@dataclass
class Proofs:
    size: int
    inclusion: list[float]
    consistency: list[float]
    head: list[float]
    roots: set[bytes]  # the roots the proofs were built against (must be the verified root)


def measure_proofs(db: Database, n: int, old_checkpoint: tuple[int, bytes], rng: random.Random) -> Proofs:
    """`n` inclusion proofs of random entries and `n` consistency proofs from random sizes to now, each in
    its own read transaction as a request would make it; each proof is checked afterwards."""
    log = LOGS["transitions"]
    with db.read() as s:
        size, _root = tree_head(s, log)
    result = Proofs(size, [], [], [], set())
    checks = []
    for seq, old in zip(rng.choices(range(1, size + 1), k=n), rng.choices(range(1, size + 1), k=n), strict=True):
        started = time.perf_counter()
        with db.read() as s:
            proof = inclusion(s, log, seq)
        result.inclusion.append(time.perf_counter() - started)
        started = time.perf_counter()
        with db.read() as s:
            extension = consistency(s, log, old)
        result.consistency.append(time.perf_counter() - started)
        started = time.perf_counter()
        with db.read() as s:
            head = tree_head(s, log)
        result.head.append(time.perf_counter() - started)
        checks.append((proof, extension, head))
    for proof, extension, head in checks:
        verify_inclusion(proof.leaf_hash, proof.index, proof.size, proof.path, proof.root)
        verify_consistency(extension.old_size, extension.new_size, extension.old_root, extension.new_root,
                           extension.path)
        assert proof.root == extension.new_root == head[1] and proof.size == extension.new_size == head[0] == size
        result.roots.add(proof.root)
    with db.read() as s:  # the tree now extends the one the build's checkpoint signed
        extension = consistency(s, log, old_checkpoint[0])
    assert extension.old_root == old_checkpoint[1]
    verify_consistency(extension.old_size, extension.new_size, extension.old_root, extension.new_root, extension.path)
    return result


# --- profile of verify ----------------------------------------------------------------------------------------

LAYERS = (  # where a profiled function's own time goes, by its file and name (first match wins)
    ("database driver and the database (sqlite3, psycopg)", ("sqlite3.", "psycopg")),
    ("SHA-256 (hashlib)", ("_hashlib", "hashlib")),
    ("JSON parsing (json)", ("/json/", "_json")),
    ("SQLAlchemy ORM (session, loading)", ("sqlalchemy/orm/",)),
    ("SQLAlchemy Core (engine, result rows, SQL compilation)", ("sqlalchemy/",)),
    ("vidoro cases/audit/verify.py", ("/cases/verify.py",)),
    ("vidoro workflow/merkle.py and log.py (Frontier, leaf and chain hash)", ("/workflow/",)),
    ("other vidoro", ("/cases/", "/policies/")),
)


def profiled_verify(db: Database, key: str, held: list[str]) -> tuple[object, str, str]:
    """One verify() under cProfile: its report, own time by layer, and the top functions."""
    profiler = cProfile.Profile()
    profiler.enable()
    report = verify(db, key, held)
    profiler.disable()
    stats = pstats.Stats(profiler)
    layers = own_time_by_layer(stats, LAYERS)
    total = sum(layers.values())
    lines = [f"| {label} | {own:.2f} s | {own / total:.0%} |" for label, own in layers.most_common()]
    lines.append(f"| total under cProfile (which slows Python) | {total:.2f} s | |")
    out = io.StringIO()
    stats.stream = out
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(r"verify\.py|merkle\.py|log\.py|session\.py:\d+\(execute\)", 25)
    return report, "\n".join(lines), out.getvalue()


# --- one backend -------------------------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    server: dict[str, str]
    built: list[Built]
    verification: Verification
    appends: Appends
    proofs: list[Proofs]
    final: tuple[int, float]  # entries verified at the end, seconds (under cProfile when profiled)
    profile: tuple[str, str] = ("", "")


def run_backend(name: str, open_db: Callable[[str], object], folder: str, settings: Settings, seed: int) -> Result:
    say(f"\n== {name}")
    signer = LogSigner.create(Path(folder) / "signing", "bench.vidoro.example/audit")
    key = signer.verifier_key
    rng = random.Random(seed)
    with ExitStack() as stack:
        dbs, built = [], []
        for size in (settings.small, settings.entries):
            db, where = stack.enter_context(open_db(f"e{size}"))
            dbs.append(db)
            built.append(build_log(db, where, size, settings, signer, seed))
        small_db, large_db = dbs
        server = server_info(large_db, folder)
        verification = measure_verify(large_db, built[1], key, settings.verify_rounds)
        clock = [T0 + timedelta(days=30)]
        appends = measure_appends([(settings.small, Appender(small_db, clock)),
                                   (settings.entries, Appender(large_db, clock))], settings)
        proofs = []
        for db, b in zip(dbs, built, strict=True):
            say(f"  proofs: {settings.proofs:,} inclusion and consistency proofs at {b.entries:,} entries")
            signed = parse_and_verify(b.checkpoint, key)
            proofs.append(measure_proofs(db, settings.proofs, (signed.size, signed.root), rng))
        say("  final verify of both databases after the appends" + (" (the large one under cProfile)"
                                                                    if settings.profile else ""))
        profile, final = ("", ""), (0, 0.0)
        for db, b, p in zip(dbs, built, proofs, strict=True):
            started = time.perf_counter()
            if settings.profile and db is large_db:
                found, *profile = profiled_verify(db, key, [b.checkpoint])
            else:
                found = verify(db, key, [b.checkpoint])
            final = (p.size, time.perf_counter() - started)
            assert found.ok, [f.text() for f in found.findings[:5]]
            assert found.logs["transitions"].root in p.roots and len(p.roots) == 1
            assert found.logs["transitions"].entries == p.size
            say(f"    {p.size:,} entries verified, nothing found ({final[1]:.1f} s)")
    return Result(name, server, built, verification, appends, proofs, final, tuple(profile))


# --- report -------------------------------------------------------------------------------------------------


def code_version() -> str:
    """The commit measured, and whether product files differed from it (other work in the same tree)."""
    root, git = BENCH_DIR.parent, shutil.which("git")
    if git is None:
        return "git not found"
    try:
        commit = subprocess.run(
            [git, "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            [git, "status", "--porcelain", "--", "cases", "workflow", "policies"], cwd=root, capture_output=True,
            text=True, check=True,
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    return f"commit {commit}" + (f" with {len(status)} product files changed in the working tree" if status else "")


def report(results: list[Result], settings: Settings, machine: dict[str, str], command: str, date_: str,
           wall: float, code: str) -> str:
    out = [
        f"Date: {date_}  ",
        f"Command: `{command}` (wall time {wall / 60:.1f} min); code: {code}  ",
        f"Machine: {machine['nproc']} CPUs ({machine['cpu']}), {machine['ram']} RAM, {machine['os']}  ",
        f"Load average (1 min) at the start and the end: {machine['load']} / {os.getloadavg()[0]:.2f} "
        "(other work on the machine shows here)  ",
        f"Software: Python {machine['python']}, SQLAlchemy {machine['sqlalchemy']}, psycopg {machine['psycopg']}, "
        + ", ".join(r.server["version"] for r in results),
        "",
    ]
    for r in results:
        details = ", ".join(f"{k}={v}" for k, v in r.server.items() if k != "version")
        big = r.built[1]
        v = r.verification
        sha = v.med("sha256")
        out += [
            f"### {r.name} ({r.server['version']}; {details})",
            "",
            f"The log: {big.entries:,} entries over {big.cases:,} cases, {big.nodes:,} tree nodes; {big.size}; "
            f"built in {big.seconds:.0f} s.",
            "",
            f"| full verification, {v.entries:,} entries | seconds (median of {len(v.seconds['verify'])}) "
            "| entries/s | ÷ SHA-256's time | per round (s) |",
            "|---|---:|---:|---:|---|",
        ]
        labels = {
            "verify": "`cases.audit.verify.verify` (both logs, every checkpoint, every case's state)",
            "read": "reading the rows verify reads, bare driver, same batches and queries",
            "hashes": "the hashes a check needs (leaf, chain, tree nodes; each once), in memory",
            "parse": "parsing every entry's JSON, in memory",
            "sha256": "SHA-256 of every entry, in memory (`hashlib`)",
        }
        for side in VERIFY_SIDES:
            seconds = v.med(side)
            per_round = " ".join(f"{s:.2f}" for s in v.seconds[side])
            label = f"**{labels[side]}**" if side == "verify" else labels[side]
            out.append(f"| {label} | {seconds:.2f} | {v.entries / seconds:,.0f} | {seconds / sha:,.1f} "
                       f"| {per_round} |")
        floor = v.med("read") + v.med("hashes") + v.med("parse")
        out += [
            "",
            f"- verify at {v.entries:,} entries: **{v.med('verify'):.1f} s** (goal < {VERIFY_GOAL_S:.0f} s: "
            f"{mark(v.med('verify') < VERIFY_GOAL_S)}); its rate is **{sha / v.med('verify'):.3f}** of plain "
            f"SHA-256's over the same entries ({v.med('verify') / sha:,.0f}× the time); reading + hashing + "
            f"parsing, measured apart, add up to {floor:.1f} s",
            "",
        ]
        a = r.appends
        small, large = a.sizes
        out += [
            f"Appends: {len(a.rounds)} rounds x {settings.appends} appends per side and size, all four interleaved "
            "in every round; ms are medians over all appends, the ratio the median of the rounds' ratios.",
            "",
            "| log size | `append` in its own transaction, ms (median / p99) | bare one-row insert transaction, ms "
            "| append ÷ bare |",
            "|---:|---:|---:|---:|",
        ]
        for size in a.sizes:
            out.append(f"| {size:,} (+{len(a.all(size, 'append')) + 20:,} during the "
                       f"run) | {a.ms(size, 'append'):.2f} / {p99(a.all(size, 'append')) * 1000:.2f} "
                       f"| {a.ms(size, 'baseline'):.2f} | {a.ms(size, 'append') / a.ms(size, 'baseline'):.2f} |")
        out += [
            "",
            f"- cost@{large:,} / cost@{small:,}: **{a.scale():.2f}** (goal <= {SCALE_GOAL}: "
            f"{mark(a.scale() <= SCALE_GOAL)}); per round: {' '.join(f'{x:.2f}' for x in a.scale_rounds())}; "
            f"the bare insert's: {a.scale('baseline'):.2f}",
            "",
            "| log size | inclusion proof, ms (median / p99) | consistency proof, ms (median / p99) "
            "| tree head, ms (median / p99) | proofs of each kind |",
            "|---:|---:|---:|---:|---:|",
        ]
        for p in r.proofs:
            out.append(
                f"| {p.size:,} | {median(p.inclusion) * 1000:.2f} / {p99(p.inclusion) * 1000:.2f} "
                f"| {median(p.consistency) * 1000:.2f} / {p99(p.consistency) * 1000:.2f} "
                f"| {median(p.head) * 1000:.2f} / {p99(p.head) * 1000:.2f} | {len(p.inclusion):,} |")
        big_p = r.proofs[1]
        out += [
            "",
            f"- inclusion proof at {big_p.size:,} entries: **{median(big_p.inclusion) * 1000:.2f} ms** median, "
            f"{p99(big_p.inclusion) * 1000:.2f} ms p99 (goal < {PROOF_GOAL_MS:.0f} ms: "
            f"{mark(median(big_p.inclusion) * 1000 < PROOF_GOAL_MS)}); every proof checked with "
            "`verify_inclusion` / `verify_consistency`, against the root the final verification gave, and the "
            "tree after the appends is proved to extend the build's signed checkpoint",
            f"- final verification after the appends: {r.final[0]:,} entries, nothing found"
            + (f" ({r.final[1]:.1f} s under cProfile)" if r.profile[0] else f" ({r.final[1]:.1f} s)"),
            "",
        ]
        if r.profile[0]:
            out += [
                f"Where verify's time goes: cProfile of the final verification ({r.final[0]:,} entries), own time "
                "by layer:",
                "",
                "| layer | own time | share |",
                "|---|---:|---:|",
                r.profile[0],
                "",
            ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=lambda s: int(s.replace(",", "").replace("_", "")), default=None,
                        help=f"entries in the large log (default {FULL.entries:,}; {QUICK.entries:,} with --quick)")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK.entries:,} entries, short rounds: a smoke check")
    parser.add_argument("--record", nargs="?", const="audit", default=None, metavar="SECTION",
                        help="write the figures into bench/README.md between the SECTION markers (default audit)")
    parser.add_argument("--profile", action=argparse.BooleanOptionalAction, default=None,
                        help="cProfile the final verification (default: on, off with --quick)")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--tmpdir", default=None, help="where the SQLite files and key stores go")
    parser.add_argument("--seed", type=int, default=2026)
    add_flowchart_option(parser)
    args = parser.parse_args(argv)
    use_flowchart(args.flowchart)
    settings = QUICK if args.quick else FULL
    if args.entries is not None:
        settings = dataclasses.replace(settings, entries=args.entries)
    if args.profile is not None:
        settings = dataclasses.replace(settings, profile=args.profile)
    if settings.entries <= settings.small * 2:
        parser.error(f"--entries must be well above the small log's {settings.small:,}")
    # A terminated run still drops its schemas and removes its files (the `finally` blocks run).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    command = "python " + " ".join([os.path.relpath(sys.argv[0]), *(argv if argv is not None else sys.argv[1:])])
    machine = machine_info()
    say(f"vidoro audit benchmark: {machine['nproc']} CPUs ({machine['cpu']}), {machine['ram']} RAM, "
        f"Python {machine['python']}; logs of {settings.small:,} and {settings.entries:,} entries")
    code = code_version()  # before the run: the modules are imported already, the tree may change meanwhile
    started = time.perf_counter()
    results = []
    backends = {
        "SQLite": lambda folder: lambda name: sqlite_database(folder, name),
        "PostgreSQL": lambda folder: lambda name: postgres_database(args.postgres_url, folder, name),
    }
    for backend, opener in backends.items():
        if args.db not in (backend.lower(), "both"):
            continue
        folder = tempfile.mkdtemp(prefix="vidoro-bench-audit-", dir=args.tmpdir)
        try:
            results.append(run_backend(backend, opener(folder), folder, settings, args.seed))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    wall = time.perf_counter() - started
    body = report(results, settings, machine, command, datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), wall,
                  code)
    print("\n" + body, flush=True)
    for r in results:
        if r.profile[1]:
            print(f"\n-- cProfile of verify() on {r.name}:\n{r.profile[1]}", flush=True)
    if args.record:
        record(README, body, args.record)
        say(f"recorded in {os.path.relpath(README)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
