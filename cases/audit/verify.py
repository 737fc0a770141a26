"""Verify the stored logs from scratch: every entry, every tree node, every checkpoint, every case's state.

The entries are streamed in order, batch by batch; each one's leaf hash and chain hash are recomputed and
compared with what is stored, and the tree is rebuilt on a `Frontier` so each stored node is compared with
the node the entries give. The roots at the sizes of the stored checkpoints, and of any checkpoints an
auditor holds, must be the roots the entries give. Finally each case's state must be the destination of its
last logged transition. Each finding names the entry, node, checkpoint or case and the kind of tampering it
indicates; the first is what `vidoro audit verify` prints.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import sha256
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from cases.audit.log import LOGS, Log
from cases.audit.notes import check_notes
from cases.audit.verify_fast import SideChecks, last_states, log_intact, side_connection
from cases.db import Database
from cases.models import Case, Checkpoint
from workflow.checkpoint import parse_and_verify
from workflow.errors import CheckpointError
from workflow.log import GENESIS
from workflow.merkle import Frontier

__all__ = ["KINDS", "Finding", "LogReport", "Report", "verify"]

BATCH = 5000
_DECODER = json.JSONDecoder()
MAX_FINDINGS = 100

# What each kind of finding indicates, in English and Swedish.
KINDS = {
    "entry_missing": ("an entry was deleted", "en post har raderats"),
    "entry_changed": ("an entry was changed after it was logged", "en post har ändrats efter loggningen"),
    "entries_reordered": ("entries were swapped or moved", "poster har bytt plats eller flyttats"),
    "entry_forged": ("an entry was inserted outside vidoro", "en post har lagts in utanför vidoro"),
    "chain_broken": ("a stored chain hash was changed", "en lagrad kedjehash har ändrats"),
    "columns_changed": ("a log row's search columns were edited", "en loggrads sökkolumner har ändrats"),
    "tree_changed": ("the stored Merkle tree was edited", "det lagrade Merkleträdet har ändrats"),
    "tail_removed": ("entries were removed from the end of the log", "poster har tagits bort i slutet av loggen"),
    "checkpoint_forged": ("a checkpoint was forged or altered", "en kontrollpunkt har förfalskats eller ändrats"),
    "log_rewritten": ("the log was rewritten after a checkpoint was issued",
                      "loggen har skrivits om efter att en kontrollpunkt utfärdades"),
    "case_state_changed": ("a case's state was changed outside the workflow",
                           "ett ärendes status har ändrats utanför arbetsflödet"),
    "case_unlogged": ("a case exists without any logged transition", "ett ärende saknar loggade händelser"),
    "case_removed": ("a logged case was removed", "ett loggat ärende har tagits bort"),
    "note_changed": ("a journal note was changed outside vidoro", "en journalanteckning har ändrats utanför vidoro"),
    "note_unlogged": ("a journal note exists without its journal log entry",
                      "en journalanteckning saknar sin post i journalloggen"),
    "note_removed": ("a logged journal note was removed", "en loggad journalanteckning har tagits bort"),
}


@dataclass(frozen=True)
class Finding:
    kind: str
    log: str | None
    where: str  # "entry 17", "node (3, 2)", "checkpoint transitions@120 (stored)", "case K-..."
    detail: str

    def text(self, lang: str = "en") -> str:
        meaning = KINDS[self.kind][0 if lang == "en" else 1]
        prefix = f"{self.log} log, " if self.log else ""
        return f"{prefix}{self.where}: {self.detail} — {meaning}"


@dataclass
class LogReport:
    name: str
    entries: int = 0
    nodes: int = 0
    root: bytes = b""
    checkpoints: int = 0  # stored checkpoints checked
    held: int = 0  # checkpoints given by the auditor checked


@dataclass
class Report:
    logs: dict[str, LogReport] = field(default_factory=dict)
    cases: int = 0
    notes: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def add(self, finding: Finding) -> None:
        if len(self.findings) < MAX_FINDINGS:
            self.findings.append(finding)


def verify(db: Database, verifier_key: str, held: Sequence[str | bytes] = (),
           progress: Callable[[int], None] | None = None, origin_prefix: str | None = None) -> Report:
    """Check every log against its entries, the stored checkpoints and the checkpoints in `held`.

    `verifier_key` is the key string the auditor trusts; every checkpoint must carry its signature.
    `progress` is called with the number of entries done since the last call (a log the fast check cannot
    vouch for is counted again by the detailed check). `origin_prefix` (the instance's log name) makes a
    held checkpoint of another instance a finding instead of being compared.

    Each log is first checked whole by `cases.audit.verify_fast`; only a log it cannot vouch for goes through
    the detailed check below, which names what was done to it. Both read one snapshot.
    """
    report = Report()
    held_by_log = _held_checkpoints(held, verifier_key, report, origin_prefix)
    last_state: dict[str, str] = {}
    with db.snapshot() as session, side_connection(db, session) as side:
        checks = SideChecks(side if side is not None else session.connection(), threaded=side is not None)
        try:
            agree = {"transitions": checks.columns_agree(LOGS["transitions"])}
            cases_agree = checks.cases_agree()
            agree.update({name: checks.columns_agree(log) for name, log in LOGS.items() if name not in agree})
            vouched = {}
            for log in LOGS.values():
                held_here = held_by_log.get(log.name, [])
                fast = _fast_log(session, log, verifier_key, held_here, progress)
                vouched[log.name] = fast is not None and agree[log.name].result()
                if fast is not None and vouched[log.name]:
                    report.logs[log.name] = fast
                else:
                    report.logs[log.name] = _verify_log(session, log, verifier_key, held_here, report,
                                                        last_state if log.name == "transitions" else None,
                                                        progress)
            if vouched["transitions"] and cases_agree.result():
                report.cases = session.scalars(select(func.count()).select_from(Case)).one()
            else:
                _verify_cases(session, last_states(session) if vouched["transitions"] else last_state, report)
            report.notes = check_notes(session, lambda kind, where, detail: report.add(
                Finding(kind, "journal", where, detail)))
        finally:
            checks.close()
    return report


def _fast_log(session: Session, log: Log, key: str, held: list[tuple[str, int, bytes]],
              progress: Callable[[int], None] | None) -> LogReport | None:
    """The log's report if `cases.audit.verify_fast` vouches for it (its columns are checked apart), else None."""
    scratch = Report()
    result = LogReport(log.name)
    expected = _expected_roots(session, log, key, held, scratch, result)
    if scratch.findings:
        return None
    intact = log_intact(session, log, expected, progress)
    if intact is None:
        return None
    result.entries, result.nodes, result.root = intact.entries, intact.nodes, intact.root
    return result


def _held_checkpoints(held, key, report, origin_prefix) -> dict[str, list[tuple[str, int, bytes]]]:
    by_log: dict[str, list[tuple[str, int, bytes]]] = {}
    for number, note in enumerate(held, start=1):
        where = f"held checkpoint {number}"
        try:
            checkpoint = parse_and_verify(note, key)
        except CheckpointError as exc:
            report.add(Finding("checkpoint_forged", None, where, f"does not verify with the trusted key ({exc})"))
            continue
        prefix, _, name = checkpoint.origin.rpartition("/")
        if name not in LOGS or (origin_prefix is not None and prefix != origin_prefix):
            report.add(Finding("checkpoint_forged", None, where,
                               f"is for origin {checkpoint.origin!r}, not a log of this instance"))
            continue
        by_log.setdefault(name, []).append((where, checkpoint.size, checkpoint.root))
    return by_log


def _verify_log(session: Session, log: Log, key: str, held: list[tuple[str, int, bytes]], report: Report,
                last_state: dict[str, str] | None, progress: Callable[[int], None] | None) -> LogReport:
    result = LogReport(log.name)
    expected = _expected_roots(session, log, key, held, report, result)
    frontier = Frontier()
    previous_chain = GENESIS
    tainted: list[int] = []  # leaves found changed: the nodes above them are not reported again
    _check_roots(frontier, expected, report, log.name)
    table = log.entries
    columns = [table.seq, table.entry, table.chain_hash, *(getattr(table, c) for c, _k, _n in log.columns), table.at]
    connection = session.connection()  # Core rows: no ORM bookkeeping for a million of them
    last = 0
    while True:
        rows = connection.execute(select(*columns).where(table.seq > last).order_by(table.seq).limit(BATCH)).all()
        if not rows:
            break
        start = frontier.size
        stored = _stored_nodes(session, log, start, start + len(rows))
        for row in rows:
            seq, entry, stored_chain = row[0], bytes(row[1]), bytes(row[2])
            if seq != frontier.size + 1:
                report.add(Finding("entry_missing", log.name, f"entry {frontier.size + 1}",
                                   f"is missing (the next stored entry is {seq})"))
                return _finish(session, log, frontier, result, report, expected, skip_tail=True)
            leaf = sha256(b"\x00" + entry).digest()  # RFC 9162 leaf hash, once for the tree and the chain
            leaf_ok = True
            for level, index, value in frontier.append(leaf):
                have = stored.get((level, index))
                if have == value:
                    continue
                if level == 0:
                    report.add(_leaf_finding(session, log, seq, have, leaf))
                    tainted.append(seq - 1)
                    leaf_ok = False
                    break  # the nodes above follow from this leaf
                if not _covers(tainted, level, index):
                    report.add(Finding("tree_changed", log.name, f"node ({level}, {index})",
                                       "missing" if have is None else "differs from the hash the entries give"))
            if leaf_ok and stored_chain != sha256(previous_chain + leaf).digest():  # workflow.log.chain_hash
                report.add(Finding("chain_broken", log.name, f"entry {seq}",
                                   "its chain hash does not follow from the entry and the one before"))
            previous_chain = stored_chain
            body = _parse(entry, log.subject_key)
            if body is None or _columns_disagree(body, row, log):
                if leaf_ok:
                    report.add(Finding("columns_changed" if body else "entry_changed", log.name, f"entry {seq}",
                                       "the row's columns do not match its logged entry" if body
                                       else "is not a well-formed log entry"))
            elif last_state is not None:
                last_state[body["case"]] = body["to"]
            if frontier.size in expected:
                _check_roots(frontier, expected, report, log.name)
        last = rows[-1][0]
        if progress:
            progress(len(rows))
    return _finish(session, log, frontier, result, report, expected, skip_tail=False)


def _expected_roots(session: Session, log: Log, key: str, held: list[tuple[str, int, bytes]], report: Report,
                    result: LogReport) -> dict[int, list[tuple[str, bytes]]]:
    """The sizes at which a root must be checked, every stored checkpoint's and every held one's, and the
    roots their signed notes give; stored checkpoints that do not verify are findings instead."""
    expected: dict[int, list[tuple[str, bytes]]] = {}
    for row in session.execute(select(Checkpoint).where(Checkpoint.log == log.name).order_by(Checkpoint.size)):
        cp = row[0]
        where = f"stored checkpoint {log.name}@{cp.size}"
        try:
            signed = parse_and_verify(cp.note, key)
        except CheckpointError as exc:
            report.add(Finding("checkpoint_forged", log.name, where, f"does not verify with the trusted key ({exc})"))
            continue
        if (signed.size, signed.root) != (cp.size, bytes(cp.root)) or not signed.origin.endswith(f"/{log.name}"):
            report.add(Finding("checkpoint_forged", log.name, where, "its columns disagree with its signed note"))
            continue
        expected.setdefault(cp.size, []).append((where, signed.root))
        result.checkpoints += 1
    for where, size, root in held:
        expected.setdefault(size, []).append((where, root))
        result.held += 1
    return expected


def _finish(session, log, frontier, result, report, expected, *, skip_tail: bool) -> LogReport:
    result.entries, result.root = frontier.size, frontier.root()
    result.nodes = session.scalar(select(func.count()).select_from(log.nodes))
    wanted = sum(frontier.size >> level for level in range(frontier.size.bit_length()))
    if skip_tail:
        return result
    if result.nodes > wanted:
        leaves = session.scalar(select(func.count()).select_from(log.nodes).where(log.nodes.level == 0))
        if leaves > frontier.size:
            report.add(Finding("tail_removed", log.name, f"entry {frontier.size + 1}",
                               f"the tree has {leaves} leaves but the log only {frontier.size} entries"))
        else:
            report.add(Finding("tree_changed", log.name, "tree",
                               f"{result.nodes - wanted} stored nodes that no entry gives"))
    for size in sorted(s for s in expected if s > frontier.size):
        for where, _ in expected[size]:
            report.add(Finding("tail_removed", log.name, where,
                               f"covers {size} entries but the log has {frontier.size}"))
    return result


def _check_roots(frontier: Frontier, expected, report: Report, name: str) -> None:
    wanted = expected.get(frontier.size)
    if not wanted:
        return
    root = frontier.root()
    for where, signed_root in wanted:
        if signed_root != root:
            report.add(Finding("log_rewritten", name, where,
                               f"its root is not the root of the first {frontier.size} entries as stored now"))


def _stored_nodes(session: Session, log: Log, start: int, end: int) -> dict[tuple[int, int], bytes]:
    """The stored nodes that leaves start … end-1 complete: per level a range of indices, in one query."""
    ranges = []
    for level in range(end.bit_length()):
        low, high = ((start + 1) + (1 << level) - 1 >> level) - 1, (end >> level) - 1
        if low <= high:
            ranges.append(and_(log.nodes.level == level, log.nodes.idx.between(low, high)))
    rows = session.connection().execute(select(log.nodes.level, log.nodes.idx, log.nodes.hash).where(or_(*ranges)))
    return {(level, idx): bytes(value) for level, idx, value in rows}


def _covers(tainted: list[int], level: int, index: int) -> bool:
    """Whether node (level, index) lies above a leaf already reported as changed."""
    position = bisect_left(tainted, index << level)
    return position < len(tainted) and tainted[position] < (index + 1) << level


def _leaf_finding(session: Session, log: Log, seq: int, stored: bytes | None, leaf: bytes) -> Finding:
    if stored is None:
        return Finding("entry_forged", log.name, f"entry {seq}", "has no leaf in the log's tree")
    moved = session.scalar(select(log.nodes.idx).where(log.nodes.level == 0, log.nodes.hash == leaf).limit(1))
    if moved is not None and moved != seq - 1:
        return Finding("entries_reordered", log.name, f"entry {seq}", f"holds what was logged as entry {moved + 1}")
    return Finding("entry_changed", log.name, f"entry {seq}", "differs from its leaf in the log's tree")


def _parse(entry: bytes, subject: str) -> dict | None:
    try:
        text = entry.decode("utf-8")
        body, end = _DECODER.raw_decode(text)
    except ValueError:  # UnicodeDecodeError and JSONDecodeError both
        return None
    if end != len(text):
        return None  # canonical entries are one JSON object and nothing after it
    return body if isinstance(body, dict) and isinstance(body.get(subject), str) else None


def _columns_disagree(body: dict, row, log: Log) -> bool:
    """The row's search columns (what pages show and filter on) must say what the signed entry says."""
    end = 3 + len(log.columns)  # seq, entry, chain hash, the search columns, at
    try:
        at: Any = body.get("at")  # None or not text: the TypeError below
        if datetime.fromisoformat(at) != row[end]:
            return True
    except (TypeError, ValueError):
        return True
    return tuple(body.get(key) for _column, key, _nullable in log.columns) != tuple(row[3:end])


def _verify_cases(session: Session, last_state: dict[str, str], report: Report) -> None:
    """Each case's state must be where its last logged transition took it, and every logged case must exist."""
    seen = set()
    for ref, state in session.execute(select(Case.ref, Case.state).order_by(Case.ref)):
        seen.add(ref)
        report.cases += 1
        logged = last_state.get(ref)
        if logged is None:
            report.add(Finding("case_unlogged", None, f"case {ref}", f"is in state {state} with no logged transition"))
        elif logged != state:
            report.add(Finding("case_state_changed", None, f"case {ref}",
                               f"is in state {state} but its last logged transition goes to {logged}"))
    for ref in sorted(set(last_state) - seen):
        report.add(Finding("case_removed", None, f"case {ref}", "is named in the transition log but not stored"))
