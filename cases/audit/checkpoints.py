"""Issuing signed checkpoints of the logs, keeping them, and sending copies out of the operator's reach.

A checkpoint is issued under the log's append lock, so its size and root are one consistent tree head. It is
stored (table `checkpoints`, append-only) and can be delivered to targets outside the system: a folder (an
auditor's share, a write-once mount) or an HTTP(S) address that receives the note by POST. A delivery that
fails is reported and tried again with the next checkpoint; the stored one is never lost.
"""

from __future__ import annotations

import os
import secrets
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from cases.audit.log import LOGS
from cases.audit.signing import LogSigner
from cases.audit.tree import tree_head
from cases.db import Database
from cases.errors import LogTampered
from cases.events import emit, target_id
from cases.models import Checkpoint

__all__ = [
    "CheckpointRounds",
    "Delivery",
    "IssuedCheckpoint",
    "PeriodicCheckpoints",
    "check_target",
    "checkpoint_count",
    "checkpoint_note",
    "deliver",
    "issue_checkpoint",
    "latest_checkpoint",
    "parse_targets",
]

POST_TIMEOUT_S = 10


@dataclass(frozen=True)
class IssuedCheckpoint:
    log: str
    size: int
    root: bytes
    note: str
    created_at: datetime
    new: bool  # False when the log had not grown since a checkpoint of this size


@dataclass(frozen=True)
class Delivery:
    target: str
    ok: bool
    detail: str


def issue_checkpoint(db: Database, signer: LogSigner, log_name: str, now: datetime | None = None) -> IssuedCheckpoint:
    """Sign the log's current tree head and store it; an unchanged log gives back the checkpoint it has."""
    log = LOGS[log_name]
    with db.write() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": log.pg_lock})
        size, root = tree_head(session, log)
        existing = session.scalar(select(Checkpoint).where(Checkpoint.log == log_name, Checkpoint.size == size))
        if existing is not None:
            if bytes(existing.root) != root:
                raise LogTampered(log_name, f"the stored checkpoint of size {size} has another root than the tree",
                                 f"den sparade kontrollpunkten för storlek {size} har en annan rot än trädet")
            return _issued(existing, new=False)
        row = Checkpoint(log=log_name, size=size, root=root, note=signer.sign(log_name, size, root),
                         created_at=now or datetime.now(UTC))
        session.add(row)
    return _issued(row, new=True)


def latest_checkpoint(db: Database, log_name: str) -> IssuedCheckpoint | None:
    with db.read() as session:
        row = session.scalar(select(Checkpoint).where(Checkpoint.log == log_name)
                             .order_by(Checkpoint.size.desc()).limit(1))
        return None if row is None else _issued(row, new=False)


def checkpoint_count(db: Database) -> int:
    """How many checkpoints the instance has issued, of every log."""
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Checkpoint)) or 0


def checkpoint_note(session: Session, log_name: str, size: int) -> str | None:
    """The signed note of the log's stored checkpoint of this tree size, or None if none was issued at it."""
    return session.scalar(select(Checkpoint.note).where(Checkpoint.log == log_name, Checkpoint.size == size))


def _issued(row: Checkpoint, *, new: bool) -> IssuedCheckpoint:
    return IssuedCheckpoint(row.log, row.size, bytes(row.root), row.note, row.created_at, new)


def parse_targets(value: str | None) -> list[str]:
    """VIDORO_CHECKPOINT_TARGETS: folders and http(s) addresses, one per line or separated by commas.

    Spaces belong to a folder's name; only commas and line breaks separate targets.
    """
    return [check_target(t.strip()) for t in (value or "").replace("\n", ",").split(",") if t.strip()]


def check_target(target: str) -> str:
    """One target: a folder, or an http(s) address; any other scheme is refused."""
    if "://" in target and not target.startswith(("http://", "https://")):
        raise ValueError(f"a checkpoint target is a folder or an http(s) address, not {target!r}")
    if not target:
        raise ValueError("a checkpoint target cannot be empty")
    return target


def deliver(checkpoint: IssuedCheckpoint, targets: Iterable[str]) -> list[Delivery]:
    """Send one checkpoint to every target (checked by `check_target`); each succeeds or fails on its own."""
    results = [_to_url(checkpoint, t) if t.startswith(("http://", "https://")) else _to_folder(checkpoint, Path(t))
               for t in targets]
    for delivery in results:
        emit("checkpoint_delivery", "done" if delivery.ok else "failed", log=checkpoint.log, size=checkpoint.size,
             target=target_id(delivery.target))
    return results


def checkpoint_file_name(checkpoint: IssuedCheckpoint) -> str:
    return f"{checkpoint.log}-{checkpoint.size:012d}.checkpoint"


def _to_folder(checkpoint: IssuedCheckpoint, folder: Path) -> Delivery:
    """Write `<log>-<size>.checkpoint` once; the same note again is a no-op, a different one is a fork."""
    path = folder / checkpoint_file_name(checkpoint)
    try:
        if path.exists():
            if path.read_text(encoding="utf-8") == checkpoint.note:
                return Delivery(str(folder), True, f"{path.name} already there")
            return Delivery(str(folder), False, f"{path.name} already holds a different checkpoint of the same "
                            "size: the log has forked or been rewritten; kept both, tell the auditor")
        folder.mkdir(parents=True, exist_ok=True)
        temp = folder / f".{path.name}.{secrets.token_hex(4)}.tmp"
        with open(temp, "x", encoding="utf-8") as handle:
            handle.write(checkpoint.note)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temp, path)  # fails if someone wrote the same name meanwhile: never overwrite a checkpoint
        temp.unlink()
        return Delivery(str(folder), True, f"wrote {path.name}")
    except OSError as exc:
        return Delivery(str(folder), False, f"cannot write there ({exc.strerror or exc})")


def _to_url(checkpoint: IssuedCheckpoint, url: str) -> Delivery:
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked to be http(s) by parse_targets
        url, data=checkpoint.note.encode(), method="POST",
        headers={"Content-Type": "text/plain; charset=utf-8", "Vidoro-Log": checkpoint.log,
                 "Vidoro-Tree-Size": str(checkpoint.size)})
    try:
        with urllib.request.urlopen(request, timeout=POST_TIMEOUT_S) as response:  # noqa: S310
            return Delivery(url, True, f"HTTP {response.status}")
    except urllib.error.HTTPError as exc:
        return Delivery(url, False, f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError) as exc:
        return Delivery(url, False, f"not reached ({getattr(exc, 'reason', exc)})")


class CheckpointRounds:
    """Issue a checkpoint of each log that grew and deliver it: the `checkpoints` job (`cases.jobs`).

    Run as a job, one worker of however many runs each interval's round (the job queue sees to it), and an
    unchanged log gets no new checkpoint. A checkpoint is delivered when it is new, and again in a later round
    of the same process while a delivery of it failed."""

    def __init__(self, signer: LogSigner, targets: list[str], report: Callable[[str], None] = print) -> None:
        self.signer, self.targets, self.report = signer, targets, report
        self._delivered: dict[str, int] = {}
        self._undelivered: set[tuple[str, int]] = set()

    def run(self, db: Database, now: datetime | None = None, *, deliver_known: bool = False) -> list[IssuedCheckpoint]:
        """One round; `deliver_known` delivers a checkpoint issued before too (a process of its own, as
        `PeriodicCheckpoints`, delivers what it has not delivered itself)."""
        issued = []
        for name in LOGS:
            try:
                checkpoint = issue_checkpoint(db, self.signer, name, now)
            except Exception as exc:  # a round that fails must not stop the next one
                self.report(f"checkpoint of the {name} log failed: {type(exc).__name__}: {exc}")
                continue
            pending = (name, checkpoint.size) in self._undelivered
            if self._delivered.get(name) == checkpoint.size or not (checkpoint.new or pending or deliver_known):
                continue
            issued.append(checkpoint)
            results = deliver(checkpoint, self.targets)
            for failed in (d for d in results if not d.ok):
                self.report(f"checkpoint {name}@{checkpoint.size} not delivered to {failed.target}: {failed.detail}")
            if all(d.ok for d in results):
                self._delivered[name] = checkpoint.size
                self._undelivered.discard((name, checkpoint.size))
            else:
                self._undelivered.add((name, checkpoint.size))
        return issued

    def __call__(self, database: Database, *, now: datetime) -> str:
        """The job: a round; its summary counts checkpoints and failed deliveries."""
        issued = self.run(database, now)
        failed = len(self._undelivered)
        return f"{len(issued)} checkpoints" + (f", {failed} not delivered" if failed else "")


class PeriodicCheckpoints:
    """Issue and deliver a checkpoint of each log every `interval` seconds when it has grown, from a thread.

    For a process of one's own; `vidoro serve` and `vidoro worker` run `CheckpointRounds` as a job instead."""

    def __init__(self, db: Database, signer: LogSigner, targets: list[str], interval: float,
                 report: Callable[[str], None] = print) -> None:
        if interval <= 0:
            raise ValueError("the checkpoint interval must be a positive number of seconds")
        self.db, self.signer, self.targets, self.interval, self.report = db, signer, targets, interval, report
        self.rounds = CheckpointRounds(signer, targets, report)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> list[IssuedCheckpoint]:
        """One round: a checkpoint per log whose head moved since the last delivered one."""
        return self.rounds.run(self.db, deliver_known=True)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="vidoro-checkpoints", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            self.run_once()
            if self._stop.wait(self.interval):
                return
