"""Several processes fire on the same cases while one of them is killed at random moments.

Afterwards every acknowledged transition is in the log exactly once, and every case's state is the
`to_state` of its last logged transition (DESIGN.md §5–§6: one operation = one transaction; a concurrent
change is a clean conflict, never a lost update). Runs on SQLite and on PostgreSQL.

The workers are `tests.cases.concurrency_worker` processes, each with its own `cases.Database` and its own
staff accounts (each worker's caseworker assigned to every case), so that every log entry names the worker
process that wrote it. The parent SIGKILLs a worker now and then and starts a replacement. A killed worker
may have committed one transition it never acknowledged (killed between commit and journal): that one must
be its last call; nothing else may be in the log that no worker acknowledged.

The bounded run fires for at least 9 s per database and then until the journals show what the test is
about (enough acknowledged transitions, a stale write and a refusal), at most 60 s: on a machine busy with
other tests the same contention takes longer to come. VIDORO_SOAK=1 runs for minutes with many kills.
VIDORO_CONCURRENCY_SEED replays the parent's and workers' random choices (not the scheduling).
"""

from __future__ import annotations

import base64
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from cases import ConcernForm, ConsentForm, Database, add_staff, record_consent, register_concern
from cases.audit.checkpoints import issue_checkpoint
from cases.audit.signing import LogSigner
from cases.audit.verify import verify
from cases.casework.access import assign_case
from cases.models import Case, CaseEvent, Consent, Deadline, TransitionLogEntry
from workflow import GENESIS, Actor, LogEntry, chain_hash, payload_hash
from workflow.deadlines import local_date
from workflow.merkle import leaf_hash, root_from_leaves

ROOT = Path(__file__).resolve().parents[2]
SOAK = os.environ.get("VIDORO_SOAK") == "1"
WORKERS = 4
MIN_RUN_S = 150.0 if SOAK else 9.0  # the workers fire at least this long; the kills fall within it
MAX_RUN_S = 150.0 if SOAK else 60.0  # and then until contention is shown, at most this long (a shared deadline)
KILLS = 40 if SOAK else 3
MAX_CALLS = 200_000 if SOAK else 5_000  # per worker process: bounded in count as well as in time
MIN_ACKS = 5_000 if SOAK else 30  # seen: 50–3000 bounded (by machine load), 15 000–19 000 soak
STARTUP_S = 1.5  # the first workers' import and connect time, before the deadline clock starts
GRACE_S = 30.0  # how long after the deadline a worker may take to finish its last call
POLL_S = 0.25  # how often the parent reads the journals for contention once the minimum run is over
ROLES = ("intake", "caseworker", "decider")
# Where a conflict may come back as a refusal instead of StaleCase: nowhere, since write operations lock
# the case row before reading the facts they decide on (see cases.casework.skeleton.load_case).
CONFLICT_AS_REFUSAL: set[str] = set()


@dataclass
class Incarnation:
    """One worker process: its staff accounts, journal, and how it ended."""

    index: int
    accounts: dict[str, str]
    journal: Path
    stderr: Path
    proc: subprocess.Popen | None = None
    killed: bool = False
    records: list[dict[str, Any]] = field(default_factory=list)
    torn_tail: bool = False

    def read_journal(self) -> None:
        data = self.journal.read_text(encoding="utf-8") if self.journal.exists() else ""
        lines = data.split("\n")
        self.torn_tail = lines[-1] != ""  # a line cut by SIGKILL: not an acknowledgement
        self.records = [json.loads(line) for line in lines[:-1]]

    def last_kind(self) -> str | None:
        """The kind of the journal's last complete line, reading only its tail."""
        try:
            with self.journal.open("rb") as f:
                f.seek(max(0, f.seek(0, os.SEEK_END) - 8192))
                lines = f.read().split(b"\n")[:-1]
            return json.loads(lines[-1])["k"] if lines else None
        except (FileNotFoundError, ValueError):
            return None


def _local_today() -> date:
    return local_date(datetime.now(UTC), "Europe/Stockholm")


def _setup_cases(db: Database) -> tuple[list[dict[str, Any]], str]:
    """Three adults and three children, each with a consent on record; returns cases and the setup actor."""
    intake = add_staff(db, "setup-intake", "Setup intake", "intake")
    caseworker = add_staff(db, "setup-caseworker", "Setup caseworker", "caseworker")
    today = _local_today()
    cases = []
    for i in range(6):
        child = i % 2 == 1
        born = date(today.year - (12 if child else 30) - i, 6, 1)
        fired = register_concern(db, intake, ConcernForm(
            concern="Uttrycker stöd för våld i chattgrupp; behöver stöd.", reporter_org="school",
            birth_date=born,
        ))
        assign_case(db, intake, fired.ref, caseworker.id)  # no version: an assignment is no change of the case
        # An adult's investigation and other support need their consent; a child's do not, but a
        # guardians' consent on record makes the version count include consents on both kinds of case.
        record_consent(db, caseworker, fired.ref, ConsentForm(
            given_by="guardians" if child else "subject", purposes=("investigation", "other_support"),
            recipients=("social_services",), data_categories=("identity", "concern"), method="written",
            evidence="Underskrivet samtycke i akten.", valid_from=today - timedelta(days=1),
        ), expected_version=fired.version)
        cases.append({"ref": fired.ref, "child": child})
    return cases, intake.id


def _start(inc: Incarnation, config_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    with inc.stderr.open("w", encoding="utf-8") as err:
        inc.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.cases.concurrency_worker", str(config_path), str(inc.index),
             str(inc.journal)],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
        )


def _alive(inc: Incarnation) -> bool:
    return inc.proc is not None and inc.proc.poll() is None


def _contention(incarnations: list[Incarnation]) -> Counter[str]:
    """Acknowledged, stale and refused calls so far, counted in the journals' bytes (they are being written)."""
    seen: Counter[str] = Counter()
    for inc in incarnations:
        if inc.proc is None or not inc.journal.exists():
            continue
        data = inc.journal.read_bytes()
        for kind in ("ok", "stale", "refused"):
            seen[kind] += data.count(b'{"k": "%s"' % kind.encode())
    return seen


def _shown(seen: Counter[str]) -> bool:
    return seen["ok"] >= MIN_ACKS and seen["stale"] >= 1 and seen["refused"] >= 1


def _run_workers(incarnations: list[Incarnation], config_path: Path, stop_file: Path, until: float,
                 deadline: float, rng: random.Random) -> int:
    """Run WORKERS processes, SIGKILLing one KILLS times before `until`; then until contention is shown or
    `deadline`. Returns the kills that landed mid-call."""
    for inc in incarnations[:WORKERS]:
        _start(inc, config_path)
    running = list(incarnations[:WORKERS])
    spare = iter(incarnations[WORKERS:])
    first = time.time() + STARTUP_S
    kill_at = sorted(rng.uniform(first, until - 1.0) for _ in range(KILLS))
    mid_call = 0
    try:
        for moment in kill_at:
            time.sleep(max(0.0, moment - time.time()))
            while True:  # kill a worker that is firing, not one still importing
                victims = [inc for inc in running if _alive(inc) and inc.last_kind() not in (None, "start")]
                if victims or time.time() > until:
                    break
                time.sleep(0.02)
            if not victims:
                break
            victim = rng.choice(victims)
            if rng.random() < 0.5:
                # Aim: wait until the victim has started a call, then kill it a few milliseconds into it,
                # in its transaction or just after the commit, before the acknowledgement.
                give_up = time.time() + 0.5
                while victim.last_kind() != "try" and time.time() < give_up:
                    time.sleep(0.0005)
                time.sleep(rng.uniform(0, 0.004))
            victim.proc.kill()
            victim.proc.wait()
            victim.killed = True
            victim.read_journal()
            if victim.records and victim.records[-1]["k"] == "try":
                mid_call += 1
            replacement = next(spare)
            _start(replacement, config_path)
            running.append(replacement)
        time.sleep(max(0.0, until - time.time()))
        while any(_alive(inc) for inc in running):
            if not stop_file.exists() and _shown(_contention(incarnations)):
                stop_file.touch()
            if time.time() > deadline + GRACE_S:
                hung = [inc.index for inc in running if _alive(inc)]
                pytest.fail(f"workers {hung} still running {GRACE_S} s after the deadline (hung on a lock?)")
            time.sleep(POLL_S)
    finally:
        for inc in incarnations:
            if _alive(inc):
                inc.proc.kill()
            if inc.proc is not None:
                inc.proc.wait()
    return mid_call


@pytest.mark.slow
def test_killed_workers_lose_no_acknowledged_transition(db_url, db, tmp_path, monkeypatch):
    # The workload runs on flowchart version 1, where a closed case can be reopened, so that its six cases
    # never run out of moves (version 2 ends a case at closed); workers inherit the setting.
    monkeypatch.setenv("VIDORO_FLOWCHART", str(ROOT / "tests" / "cases" / "fixtures" / "vid_oro_v1.toml"))
    seed = int(os.environ.get("VIDORO_CONCURRENCY_SEED") or random.SystemRandom().randrange(1 << 30))
    rng = random.Random(seed)
    started = time.monotonic()

    # --- setup: cases with consents, and three accounts for every worker process there will be --------
    cases, setup_actor = _setup_cases(db)
    incarnations = []
    for i in range(WORKERS + KILLS):
        accounts = {role: add_staff(db, f"w{i}-{role}", f"Worker {i} {role}", role).id for role in ROLES}
        for case in cases:  # a caseworker moves on only the cases assigned to them
            assign_case(db, Actor(setup_actor, "intake"), case["ref"], accounts["caseworker"])
        incarnations.append(Incarnation(i, accounts, tmp_path / f"journal-{i}.jsonl", tmp_path / f"stderr-{i}.txt"))
    until = time.time() + STARTUP_S + MIN_RUN_S
    deadline = until - MIN_RUN_S + MAX_RUN_S
    config_path, stop_file = tmp_path / "config.json", tmp_path / "stop"
    config_path.write_text(json.dumps({
        "url": db_url, "keys": str(db.keys.folder), "seed": seed, "deadline": deadline, "max_calls": MAX_CALLS,
        "stop_file": str(stop_file),
        "cases": cases,
        "incarnations": [inc.accounts for inc in incarnations],
    }), encoding="utf-8")

    # --- the run ------------------------------------------------------------------------------------------
    mid_call = _run_workers(incarnations, config_path, stop_file, until, deadline, rng)
    ran = time.monotonic() - started

    # --- what the workers say -----------------------------------------------------------------------------
    acks: list[dict[str, Any]] = []
    tally: Counter[str] = Counter()
    errors: list[str] = []
    for inc in incarnations:
        if inc.proc is None:
            continue
        inc.read_journal()
        kinds = [r["k"] for r in inc.records]
        tally.update(kinds)
        errors += [f"worker {inc.index}: {r['error']}\n{r.get('traceback', '')}" for r in inc.records
                   if r["k"] == "error"]
        acks += [{**r, "worker": inc.index} for r in inc.records if r["k"] == "ok"]
        if not inc.killed:
            stderr = inc.stderr.read_text(encoding="utf-8")
            assert inc.proc.returncode == 0, f"worker {inc.index} exited {inc.proc.returncode}:\n{stderr}"
            assert kinds and kinds[-1] == "done" and not inc.torn_tail, f"worker {inc.index} did not finish"
    kills = sum(inc.killed for inc in incarnations)
    stats = (f"seed={seed} acks={len(acks)} stale={tally['stale']} refused={tally['refused']} "
             f"refused_on_conflict={tally['refused_stale']} ground_lost_on_conflict={tally['denied_stale']} "
             f"kills={kills} "
             f"killed_mid_call={mid_call} workers={sum(inc.proc is not None for inc in incarnations)} "
             f"ran={ran:.1f}s")
    assert not errors, f"{stats}\nunexpected errors in workers:\n" + "\n".join(errors[:5])
    if db.engine.dialect.name not in CONFLICT_AS_REFUSAL:
        assert tally["refused_stale"] == 0, f"{stats}: conflicts reported as refusals, not StaleCase"

    # --- what the database says ---------------------------------------------------------------------------
    with db.read() as session:
        log = list(session.scalars(select(TransitionLogEntry).order_by(TransitionLogEntry.seq)))
        events = {e.seq: e for e in session.scalars(select(CaseEvent))}
        rows = {c.ref: c for c in session.scalars(select(Case))}
        consents = Counter(session.execute(select(Consent.case_id)).scalars())
        withdrawn = session.scalar(select(func.count()).where(Consent.withdrawn_at.is_not(None)))
        running_deadlines = session.execute(
            select(Deadline.case_id, Deadline.name, func.count())
            .where(Deadline.stopped_at.is_(None)).group_by(Deadline.case_id, Deadline.name)
        ).all()

    # The log: seq 1..n, the hash chain, each entry's columns agree with its canonical bytes, and each has
    # its form in case_events, on the right case, hashing to the payload hash the entry commits to.
    assert [e.seq for e in log] == list(range(1, len(log) + 1)), f"{stats}: log seq not contiguous"
    previous = GENESIS
    by_id = {c.id: c for c in rows.values()}
    for e in log:
        assert e.chain_hash == chain_hash(previous, e.entry), f"{stats}: chain broken at seq {e.seq}"
        previous = e.chain_hash
        entry = LogEntry.from_canonical(e.entry)
        assert (entry.case_ref, entry.trigger, entry.from_state, entry.to_state) == (
            e.case_ref, e.trigger, e.from_state, e.to_state), f"seq {e.seq}: columns differ from the entry"
        event = events.pop(e.seq, None)
        assert event is not None, f"{stats}: log entry {e.seq} has no case event"
        assert by_id[event.case_id].ref == e.case_ref, f"case event {e.seq} is on another case"
        form = db.vault.case_key(event.case_id).open_json("case_events", str(e.seq), "payload", event.payload)
        salt = base64.b64decode(form["salt"])
        assert payload_hash(form["fields"], salt) == entry.payload_hash, f"case event {e.seq} differs"
    assert not events, f"case events without a log entry: {sorted(events)}"

    chains: dict[str, list[TransitionLogEntry]] = defaultdict(list)
    for e in log:
        chains[e.case_ref].append(e)
    assert set(chains) == set(rows) == {c["ref"] for c in cases}

    # Every acknowledgement is in the log exactly once, as acknowledged.
    position = {e.seq: i for chain in chains.values() for i, e in enumerate(chain, start=1)}
    acked = Counter(a["seq"] for a in acks)
    assert not [s for s, n in acked.items() if n > 1], f"{stats}: one seq acknowledged twice"
    for a in acks:
        assert 1 <= a["seq"] <= len(log), f"{stats}: acknowledged seq {a['seq']} is not in the log"
        e = log[a["seq"] - 1]
        assert (e.case_ref, e.trigger, e.to_state) == (a["ref"], a["trigger"], a["state"]), (
            f"{stats}: worker {a['worker']} acknowledged {a}, the log has {e.case_ref} {e.trigger} {e.to_state}")
        assert a["version"] == position[e.seq] + consents[rows[e.case_ref].id], f"{stats}: ack version {a}"
        assert not a["bad"], f"{stats}: a request that should have been refused was committed: {a}"

    # Each case: its entries chain state to state from `register`; its state is the last entry's; its
    # version counts every committed change (register, each transition, each consent recorded; nothing
    # here withdraws one); and it has at most one running deadline of each name.
    assert withdrawn == 0
    for ref, chain in chains.items():
        assert chain[0].trigger == "register" and chain[0].from_state is None, f"{ref}: no register first"
        for before, after in pairwise(chain):
            assert after.from_state == before.to_state, (
                f"{stats}: {ref} seq {after.seq} leaves {after.from_state} but seq {before.seq} left it in "
                f"{before.to_state} (a lost or duplicated update)")
        case = rows[ref]
        assert case.state == chain[-1].to_state, f"{stats}: {ref} is in {case.state}, log says {chain[-1].to_state}"
        assert case.version == len(chain) + consents[case.id], (
            f"{stats}: {ref} version {case.version}, {len(chain)} entries")
        if len(chain) > 1:
            assert case.updated_at == LogEntry.from_canonical(chain[-1].entry).at, f"{ref}: updated_at"
    doubled = [(case_id, name, n) for case_id, name, n in running_deadlines if n > 1]
    assert not doubled, f"{stats}: deadlines running twice: {doubled}"

    # The Merkle trees the writers built side by side are the trees of the entries, node for node, and a
    # checkpoint issued now covers every entry (issue 4: appends stay correct with two writers at once).
    signer = LogSigner.create(tmp_path / "signing")
    issue_checkpoint(db, signer, "transitions")
    report = verify(db, signer.verifier_key)
    assert report.ok, f"{stats}: {[f.text() for f in report.findings[:3]]}"
    assert report.logs["transitions"].entries == len(log)
    assert report.logs["transitions"].root == root_from_leaves([leaf_hash(e.entry) for e in log])

    # Every entry but the setup's was written by a worker that acknowledged it, except at most one per
    # killed worker: its last call, committed just before the kill, before it could be journaled.
    owner = {account: inc for inc in incarnations for account in inc.accounts.values()}
    logged: dict[int, list[int]] = defaultdict(list)
    for e in log:
        actor = LogEntry.from_canonical(e.entry).actor_id
        if actor == setup_actor:
            assert e.trigger == "register"
            continue
        assert actor in owner, f"seq {e.seq} by an unknown actor"
        logged[owner[actor].index].append(e.seq)
    unacknowledged = 0
    for inc in incarnations:
        mine = set(logged.get(inc.index, ()))
        acked_here = {a["seq"] for a in acks if a["worker"] == inc.index}
        assert acked_here <= mine, f"{stats}: worker {inc.index} acknowledged entries written by others"
        missing = sorted(mine - acked_here)
        if not missing:
            continue
        assert inc.killed and len(missing) == 1, (
            f"{stats}: worker {inc.index} (killed={inc.killed}) has unacknowledged log entries {missing}")
        assert missing[0] == max(mine), f"{stats}: worker {inc.index}'s unacknowledged entry is not its last"
        assert inc.records[-1]["k"] == "try", f"{stats}: worker {inc.index} went on after an unacknowledged commit"
        last_try = [r for r in inc.records if r["k"] == "try"][-1]
        e = log[missing[0] - 1]
        assert (e.case_ref, e.trigger) == (last_try["ref"], last_try["trigger"]), (
            f"{stats}: worker {inc.index}'s unacknowledged entry is not its last call")
        unacknowledged += 1
    assert len(log) == len(cases) + len(acks) + unacknowledged

    if db.is_sqlite:
        with db.engine.connect() as connection:
            assert connection.execute(text("PRAGMA integrity_check")).scalars().all() == ["ok"]
            assert connection.execute(text("PRAGMA foreign_key_check")).all() == []

    # Real contention: workers collided, were killed and still got work done.
    print(f"\n{db.engine.dialect.name}: {stats} log={len(log)} unacknowledged={unacknowledged}")
    assert kills == KILLS, stats
    assert len(acks) >= MIN_ACKS, stats
    assert tally["stale"] >= 1, stats
    assert tally["refused"] >= 1, stats
