"""Signed checkpoints: the signing key, issuing them under the append lock, and delivering copies outside."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from cases.audit.checkpoints import (
    PeriodicCheckpoints,
    deliver,
    issue_checkpoint,
    latest_checkpoint,
    parse_targets,
)
from cases.audit.log import LOGS, append
from cases.audit.signing import SIGNING_FILE, LogSigner
from cases.audit.tree import tree_head
from cases.errors import KeyMaterialError
from cases.models import Checkpoint
from tests.conftest import NOW
from workflow import LogEntry
from workflow.checkpoint import parse_and_verify
from workflow.errors import CheckpointError


def entry(n: int) -> LogEntry:
    return LogEntry(at=NOW + timedelta(seconds=n), case_ref=f"VO-C{n:07d}", actor_id="staff-1", role="intake",
                    trigger="register", from_state=None, to_state="registered", flowchart_version="f" * 64)


def grow(db, count: int) -> None:
    for _ in range(count):
        with db.write() as session:
            size = session.scalar(select(func.count()).select_from(LOGS["transitions"].entries))
            append(session, entry(size))


@pytest.fixture
def signer(tmp_path) -> LogSigner:
    return LogSigner.create(tmp_path / "keys", "test.example/vidoro")


# --- the signing key ------------------------------------------------------------------------------------


def test_the_signing_key_is_created_once_owner_only_and_apart_from_the_data_keys(tmp_path, keys):
    first = LogSigner.create(keys.folder)
    again = LogSigner.create(keys.folder, "another-name")  # an existing key is never replaced or renamed
    assert again.verifier_key == first.verifier_key and again.name == first.name
    path = keys.folder / SIGNING_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path != keys.kek_file
    seed = json.loads(path.read_text())["ed25519_seed"]
    assert seed not in keys.kek_file.read_text()
    assert first.name.startswith("vidoro/") and first.origin("access") == f"{first.name}/access"


def test_a_missing_or_broken_signing_key_names_the_file_and_what_to_do(tmp_path):
    with pytest.raises(KeyMaterialError, match=f"{SIGNING_FILE}.*vidoro init"):
        LogSigner.open(tmp_path)
    (tmp_path / SIGNING_FILE).write_text("{not json")
    with pytest.raises(KeyMaterialError, match="not valid JSON"):
        LogSigner.open(tmp_path)
    (tmp_path / SIGNING_FILE).write_text(json.dumps({"format": 1, "name": "x", "ed25519_seed": "AAAA"}))
    with pytest.raises(KeyMaterialError, match="corrupted"):
        LogSigner.open(tmp_path)


@pytest.mark.parametrize("name", ["has space", "a+b", "x" * 101, "/leading"])
def test_a_log_name_that_cannot_be_an_origin_is_refused_before_anything_is_written(tmp_path, name):
    with pytest.raises(ValueError, match="log name"):
        LogSigner.create(tmp_path, name)
    assert not (tmp_path / SIGNING_FILE).exists()


# --- issuing ------------------------------------------------------------------------------------------


def test_a_checkpoint_signs_the_current_tree_head_and_is_stored(db, signer):
    grow(db, 5)
    issued = issue_checkpoint(db, signer, "transitions", now=NOW)
    with db.read() as session:
        assert (issued.size, issued.root) == tree_head(session, LOGS["transitions"])
    signed = parse_and_verify(issued.note, signer.verifier_key, origin="test.example/vidoro/transitions")
    assert (signed.size, signed.root, issued.new) == (5, issued.root, True)
    assert latest_checkpoint(db, "transitions") == issued.__class__(**{**issued.__dict__, "new": False})
    other = LogSigner.create(signer_folder := (db.keys.folder.parent / "other"), "test.example/vidoro")
    assert signer_folder.exists()
    with pytest.raises(CheckpointError):
        parse_and_verify(issued.note, other.verifier_key)


def test_an_unchanged_log_gives_back_its_checkpoint_and_a_grown_one_a_new_one(db, signer):
    grow(db, 3)
    first = issue_checkpoint(db, signer, "transitions")
    again = issue_checkpoint(db, signer, "transitions")
    assert (again.new, again.note, again.size) == (False, first.note, 3)
    grow(db, 2)
    later = issue_checkpoint(db, signer, "transitions")
    assert (later.new, later.size) == (True, 5)
    empty = issue_checkpoint(db, signer, "access")
    assert (empty.size, empty.new) == (0, True)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Checkpoint)) == 3
    assert latest_checkpoint(db, "transitions").size == 5


def test_checkpoints_issued_while_appends_run_are_each_a_true_tree_head(db, signer):
    """Writers and a checkpointer at once: every stored checkpoint's root is the root at its size."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer():
        try:
            while not stop.is_set():
                grow(db, 1)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            issue_checkpoint(db, signer, "transitions")
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert not errors, errors
    with db.read() as session:
        stored = session.scalars(select(Checkpoint).where(Checkpoint.log == "transitions")).all()
        assert len(stored) >= 2
        for checkpoint in stored:
            assert tree_head(session, LOGS["transitions"], checkpoint.size)[1] == bytes(checkpoint.root)


# --- delivery -----------------------------------------------------------------------------------------


def test_targets_are_folders_and_http_addresses(tmp_path):
    assert parse_targets(f"{tmp_path}/a, http://127.0.0.1:9/x\nhttps://h/y") == [
        f"{tmp_path}/a", "http://127.0.0.1:9/x", "https://h/y"]
    assert parse_targets("/srv/audit share/vidoro,\n") == ["/srv/audit share/vidoro"]  # spaces belong to names
    assert parse_targets("") == parse_targets(None) == []
    with pytest.raises(ValueError, match="folder or an http"):
        parse_targets("ftp://example/x")


def test_a_folder_gets_each_checkpoint_once_and_a_different_one_is_never_overwritten(db, signer, tmp_path):
    grow(db, 4)
    issued = issue_checkpoint(db, signer, "transitions")
    outbox = tmp_path / "auditor"
    [first] = deliver(issued, [str(outbox)])
    assert first.ok and (outbox / "transitions-000000000004.checkpoint").read_text() == issued.note
    [again] = deliver(issued, [str(outbox)])
    assert again.ok and "already there" in again.detail
    forged = issued.__class__(**{**issued.__dict__, "note": issued.note.replace("\n\n", "\n\n\n")})
    [refused] = deliver(forged, [str(outbox)])
    assert not refused.ok and "forked" in refused.detail
    assert (outbox / "transitions-000000000004.checkpoint").read_text() == issued.note
    assert sorted(p.name for p in outbox.iterdir()) == ["transitions-000000000004.checkpoint"]
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    [failed] = deliver(issued, [str(blocked / "sub")])
    assert not failed.ok and "cannot write" in failed.detail


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[str, str, bytes]] = []
    status = 204

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, self.headers["Content-Type"], body))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    _Receiver.received, _Receiver.status = [], 204
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/checkpoints", _Receiver
    server.shutdown()
    server.server_close()


def test_an_address_receives_the_note_by_post(db, signer, receiver):
    url, handler = receiver
    grow(db, 2)
    issued = issue_checkpoint(db, signer, "transitions")
    [delivery] = deliver(issued, [url])
    assert delivery.ok
    assert handler.received == [("/checkpoints", "text/plain; charset=utf-8", issued.note.encode())]
    handler.status = 500
    [refused] = deliver(issued, [url])
    assert not refused.ok and "HTTP 500" in refused.detail


def test_an_unreachable_address_is_reported_not_raised(db, signer):
    issued = issue_checkpoint(db, signer, "access")
    [delivery] = deliver(issued, ["http://127.0.0.1:9/nothing-listens"])
    assert not delivery.ok and "not reached" in delivery.detail


# --- periodic checkpoints ------------------------------------------------------------------------------


def test_periodic_rounds_issue_only_for_grown_logs_and_retry_failed_deliveries(db, signer, tmp_path):
    outbox = tmp_path / "outbox"
    reports: list[str] = []
    periodic = PeriodicCheckpoints(db, signer, [str(outbox)], interval=60, report=reports.append)
    grow(db, 3)
    assert [(c.log, c.size) for c in periodic.run_once()] == [("transitions", 3), ("access", 0), ("administration", 0),
                                                                ("journal", 0)]
    assert periodic.run_once() == []  # nothing grew
    outbox.chmod(0o500)
    os.rename(outbox, tmp_path / "moved")  # the target disappears: the next delivery fails
    (tmp_path / "outbox").write_text("not a folder")
    grow(db, 1)
    assert [(c.log, c.size) for c in periodic.run_once()] == [("transitions", 4)]
    assert any("not delivered" in r for r in reports)
    (tmp_path / "outbox").unlink()
    assert [(c.log, c.size) for c in periodic.run_once()] == [("transitions", 4)]  # tried again
    assert (tmp_path / "outbox" / "transitions-000000000004.checkpoint").exists()
    assert periodic.run_once() == []


def test_the_periodic_thread_checkpoints_on_its_own_and_stops(db, signer, tmp_path):
    outbox = tmp_path / "outbox"
    periodic = PeriodicCheckpoints(db, signer, [str(outbox)], interval=0.05, report=lambda _: None)
    periodic.start()
    try:
        grow(db, 2)
        deadline = time.monotonic() + 10
        while not (outbox / "transitions-000000000002.checkpoint").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        periodic.stop()
    assert (outbox / "transitions-000000000002.checkpoint").exists()
    assert not periodic._thread.is_alive()
    with pytest.raises(ValueError, match="positive"):
        PeriodicCheckpoints(db, signer, [], interval=0)
