"""Benchmark: what encryption costs a transition, and how long a key rotation takes (a script, not a test).

    python bench/bench_records.py [--db sqlite|postgresql|both] [--cases N] [--rotate N] [--quick]

1. Transitions per second through `cases.fire_trigger` with the real vault (AES-256-GCM per field, data key
   unwrapped from the key store) against the same operations with sealing replaced by a no-op that keeps
   the bytes as they are — the foundation's path — in the same process, interleaved in rounds so that
   machine noise hits both; median of the rounds. Goal: at least 80 %.
2. `vidoro keys rotate` on a key store holding N data keys (default 100,000): add a KEK and re-wrap every
   data key, timed. Goal: under a minute.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chart_option import add_flowchart_option, use_flowchart
from sqlalchemy import create_engine, select, text

from cases import ConcernForm, ConsentForm, Database, fire_trigger, record_consent, register_concern
from cases.casework.access import assign_case
from cases.crypto.identity import generate_identity_number
from cases.crypto.keys import FileKeyStore, _wrap
from cases.crypto.vault import CaseKey
from cases.models import Case
from cases.reports.demo import demo_staff

POSTGRES_URL = os.environ.get("VIDORO_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
START = datetime(2026, 1, 5, 9, tzinfo=UTC)


@contextmanager
def plaintext_sealing():
    """The foundation's path: personal values pass through unchanged (as bytes), no cipher, same calls."""
    seal, open_ = CaseKey.seal, CaseKey.open
    CaseKey.seal = lambda self, table, row_id, field, value: None if value is None else value.encode()
    CaseKey.open = lambda self, table, row_id, field, blob: None if blob is None else blob.decode()
    try:
        yield
    finally:
        CaseKey.seal, CaseKey.open = seal, open_


@contextmanager
def database(kind: str, folder: Path):
    keys = FileKeyStore.create(folder / f"keys-{kind}")
    schema = None
    if kind == "sqlite":
        url = f"sqlite:///{folder / 'bench.db'}"
    else:
        schema = f"vidoro_bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(POSTGRES_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    db = Database(url, keys=keys)
    db.upgrade()
    try:
        yield db
    finally:
        db.dispose()
        if schema:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def seed(db: Database, count: int, sealed: bool) -> tuple[dict, list[str]]:
    """`count` adult cases in investigation, registered and advanced by the real operations."""
    staff = demo_staff(db)
    refs = []
    with (plaintext_sealing() if not sealed else _nothing()):
        for i in range(count):
            now = START + timedelta(minutes=i)
            fired = register_concern(db, staff["reporter"], ConcernForm(
                concern="Bench: förändrat beteende och behov av stöd.", reporter_org="school",
                identity_number=generate_identity_number(date(1990 + i % 10, 1 + i % 12, 1 + i % 28), 1 + i % 999),
                given_name="Bench", family_name="Testsson"), now=now)
            fire_trigger(db, staff["intake"], fired.ref, "start_pre_assessment", {}, now=now)
            assign_case(db, staff["decider"], fired.ref, staff["caseworker"].id, now=now)  # caseworkers move their own
            record_consent(db, staff["caseworker"], fired.ref, ConsentForm(
                given_by="subject", purposes=("investigation",), recipients=("social_services",),
                data_categories=("identity", "concern"), method="written", evidence="Bench-samtycke.",
                valid_from=now.date()), now=now)
            fire_trigger(db, staff["decider"], fired.ref, "open_investigation",
                         {"reason": "Bench.", "legal_basis": "sol_11_1"}, now=now)
            refs.append(fired.ref)
    return staff, refs


@contextmanager
def _nothing():
    yield


def measure(db: Database, staff, refs: list[str], transitions: int, clock: list[datetime]) -> float:
    """Transitions per second on the request_consent / consent_refused cycle over `refs`."""
    with db.read() as session:
        states = dict(session.execute(select(Case.ref, Case.state).where(Case.ref.in_(refs))).all())
    started = time.perf_counter()
    for i in range(transitions):
        ref = refs[i % len(refs)]
        clock[0] += timedelta(seconds=1)
        if states[ref] == "investigation":
            fire_trigger(db, staff["caseworker"], ref, "request_consent", {"proposed_intervention": "sig"},
                         now=clock[0])
            states[ref] = "awaiting_consent"
        else:
            fire_trigger(db, staff["caseworker"], ref, "consent_refused", {"reason": "Vill inte."}, now=clock[0])
            states[ref] = "investigation"
    return transitions / (time.perf_counter() - started)


def transitions_benchmark(kind: str, cases: int, transitions: int, rounds: int) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="vidoro-bench-"))
    try:
        with database(kind, folder) as db:
            print(f"[{kind}] seeding {cases} sealed and {cases} plaintext-path cases …", flush=True)
            staff, sealed_refs = seed(db, cases, sealed=True)
            _, plain_refs = seed(db, cases, sealed=False)
            clock = [START + timedelta(days=30)]
            sealed, plain = [], []
            for r in range(rounds):
                with plaintext_sealing():
                    plain.append(measure(db, staff, plain_refs, transitions, clock))
                sealed.append(measure(db, staff, sealed_refs, transitions, clock))
                print(f"[{kind}] round {r + 1}: encrypted {sealed[-1]:.0f}/s, plaintext path {plain[-1]:.0f}/s",
                      flush=True)
            return {"sealed": statistics.median(sealed), "plain": statistics.median(plain)}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def rotation_benchmark(count: int) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="vidoro-rotate-"))
    try:
        store = FileKeyStore.create(folder / "keys")
        kek, version = store._keks[store._current], store._current
        print(f"[rotate] filling the keyring with {count} data keys …", flush=True)
        with sqlite3.connect(store.keyring_file) as connection:
            connection.executemany("INSERT INTO data_keys VALUES (?, ?, ?, ?)", (
                (case_id, version, _wrap(kek, secrets.token_bytes(32), case_id, version), START.isoformat())
                for case_id in (str(uuid.uuid4()) for _ in range(count))))
        sample = [r[0] for r in sqlite3.connect(store.keyring_file).execute(
            "SELECT case_id FROM data_keys ORDER BY random() LIMIT 50")]
        before = {c: store.data_key(c) for c in sample}
        started = time.perf_counter()
        store.add_kek()
        done = store.rewrap()
        seconds = time.perf_counter() - started
        assert done == count and store.kek_versions() == {1: 0, 2: count}
        assert all(store.data_key(c) == before[c] for c in sample), "rotation changed a data key"
        store.close()
        return {"keys": count, "seconds": seconds}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--transitions", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rotate", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke check")
    add_flowchart_option(parser)
    args = parser.parse_args()
    use_flowchart(args.flowchart)
    if args.quick:
        args.cases, args.transitions, args.rounds, args.rotate = 40, 200, 3, 5_000
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}")
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = {k: transitions_benchmark(k, args.cases, args.transitions, args.rounds) for k in kinds}
    rotation = rotation_benchmark(args.rotate)
    print("\n| database | encrypted transitions/s | plaintext path transitions/s | ratio (goal ≥ 0.80) |")
    print("|---|---|---|---|")
    for kind, r in results.items():
        print(f"| {kind} | {r['sealed']:.0f} | {r['plain']:.0f} | {r['sealed'] / r['plain']:.2f} |")
    print(f"\nkey rotation: {rotation['keys']:,} data keys re-wrapped in {rotation['seconds']:.2f} s (goal < 60 s)")


if __name__ == "__main__":
    main()
