"""`vidoro audit` through Click's runner, and `serve`'s periodic checkpoints as a real process; on SQLite
and PostgreSQL."""

from __future__ import annotations

import base64
import json
import os
import re
import stat
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError

from cases import Database
from cases.audit.log import LOGS
from cases.audit.signing import LogSigner
from cases.models import AdministrationLogEntry, Checkpoint, TransitionLogEntry
from tests.web.test_cli import VIDORO, assert_ok, assert_one_line_failure, free_port, run, stop
from tests.web.test_keys_cli import register_cases
from workflow.checkpoint import parse_and_verify
from workflow.errors import ProofError
from workflow.log import leaf_hash
from workflow.merkle import verify_consistency, verify_inclusion

KEY_LINE = re.compile(r"verifier key for auditors: (\S+)")
NOTE = re.compile(r"[^\n]+\n\d+\n[^\n]+\n\n\u2014 [^\n]+\n")
WAIT_S = 15


class Instance(NamedTuple):
    home: Path
    url: str
    key: str

    @property
    def name(self) -> str:
        return self.key.split("+")[0]

    def audit(self, *args: str, **env: str):
        return run(self.home, "audit", *args, url=self.url, **env)


def init(home: Path, url: str, *flags: str) -> str:
    """`vidoro init`, returning the verifier key it prints."""
    result = run(home, "init", *flags, url=url)
    assert_ok(result)
    return KEY_LINE.search(result.output).group(1)


@pytest.fixture
def instance(tmp_path, blank_url) -> Instance:
    """An initialised instance with three registered cases."""
    home = tmp_path / "instance"
    key = init(home, blank_url)
    register_cases(blank_url, home / "keys", 3)
    return Instance(home, blank_url, key)


def query(url: str, statement) -> list:
    database = Database(url)
    try:
        with database.read() as session:
            return [tuple(row) for row in session.execute(statement)]
    finally:
        database.dispose()


def log_size(url: str) -> int:
    return query(url, select(func.coalesce(func.max(TransitionLogEntry.seq), 0)))[0][0]


def admin_size(url: str) -> int:
    return query(url, select(func.coalesce(func.max(AdministrationLogEntry.seq), 0)))[0][0]


def stored(url: str) -> list[tuple[str, int]]:
    return query(url, select(Checkpoint.log, Checkpoint.size).order_by(Checkpoint.id))


def process_env(home: Path, **settings: str) -> dict[str, str]:
    """The environment of a real `vidoro` process with only this test's VIDORO_* settings."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("VIDORO_")}
    return {**environment, "VIDORO_HOME": str(home), **settings}


def b64(text_: str) -> bytes:
    return base64.b64decode(text_)


def assert_error(result, code: int, *expected: str) -> None:
    """Exit `code`, one `Error:` line naming the fault, no traceback (progress bars may print labels)."""
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    for words in expected:
        assert words in errors[0], result.output


# --- the signing key --------------------------------------------------------------------------------------


def test_init_prints_the_verifier_key_and_audit_key_prints_the_same(tmp_path, blank_url):
    home = tmp_path / "instance"
    key = init(home, blank_url)
    assert re.fullmatch(r"vidoro/[0-9a-f]{8}\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}", key), key
    shown = run(home, "audit", "key", url=blank_url)
    assert_ok(shown)
    assert shown.output.strip() == key
    signing, kek = home / "keys" / "log-signing.json", home / "keys" / "kek.json"
    assert stat.S_IMODE(signing.stat().st_mode) == 0o600
    assert signing.read_bytes() != kek.read_bytes()
    assert kek.read_text() not in signing.read_text() and signing.read_text() not in kek.read_text()
    before = signing.read_bytes()
    again = run(home, "init", url=blank_url)
    assert_ok(again)
    assert f"log signing key: exists; verifier key for auditors: {key}" in again.output
    assert signing.read_bytes() == before


def test_audit_commands_without_the_signing_key_say_to_run_init(tmp_path, blank_url):
    home = tmp_path / "instance"
    init(home, blank_url)
    (home / "keys" / "log-signing.json").unlink()
    for args in (["key"], ["checkpoint"], ["verify"], ["export", "-o", str(tmp_path / "export.jsonl")]):
        result = run(home, "audit", *args, url=blank_url)
        assert_one_line_failure(result, "log-signing.json", "run `vidoro init`")
    assert stored(blank_url) == []
    assert not (tmp_path / "export.jsonl").exists()


# --- checkpoints ------------------------------------------------------------------------------------------


def test_checkpoint_prints_signed_notes_and_writes_each_once_to_a_folder(instance, tmp_path):
    share, size, accounts = tmp_path / "share", log_size(instance.url), admin_size(instance.url)
    first = instance.audit("checkpoint", "--to", str(share))
    assert_ok(first)
    notes = NOTE.findall(first.stdout)
    assert len(notes) == len(LOGS) and first.stdout == "\n".join(notes)
    for note, log, expected_size in zip(notes, LOGS, (size, 0, accounts, 0), strict=True):
        checkpoint = parse_and_verify(note, instance.key, origin=f"{instance.name}/{log}")
        assert checkpoint.size == expected_size
        assert (share / f"{log}-{expected_size:012d}.checkpoint").read_text(encoding="utf-8") == note
    assert sorted(p.name for p in share.iterdir()) == ["access-000000000000.checkpoint",
                                                       f"administration-{accounts:012d}.checkpoint",
                                                       "journal-000000000000.checkpoint",
                                                       f"transitions-{size:012d}.checkpoint"]
    assert stored(instance.url) == [("transitions", size), ("access", 0), ("administration", accounts),
                                    ("journal", 0)]

    again = instance.audit("checkpoint", "--to", str(share))
    assert_ok(again)
    assert again.stdout == first.stdout
    assert again.stderr.count("already there") == len(LOGS), again.stderr
    assert stored(instance.url) == [("transitions", size), ("access", 0), ("administration", accounts),
                                    ("journal", 0)]

    one, two, off = tmp_path / "one", tmp_path / "two", tmp_path / "off"
    assert_ok(instance.audit("checkpoint", "--log", "transitions", VIDORO_CHECKPOINT_TARGETS=f"{one},{two}"))
    assert_ok(instance.audit("checkpoint", "--no-publish", VIDORO_CHECKPOINT_TARGETS=str(off)))
    for folder in (one, two):
        assert [p.name for p in folder.iterdir()] == [f"transitions-{size:012d}.checkpoint"]
    assert not off.exists()


@pytest.mark.parametrize("blank_url", ["sqlite"], indirect=True)
def test_checkpoint_to_a_folder_whose_name_has_a_space(instance, tmp_path, monkeypatch):
    """`--to` names one folder; a space in its name must not make it two (one of them relative to the cwd)."""
    monkeypatch.chdir(tmp_path)  # where a split-off relative "share" would land
    share = tmp_path / "audit share"
    result = instance.audit("checkpoint", "--log", "transitions", "--to", str(share))
    assert_ok(result)
    assert (share / f"transitions-{log_size(instance.url):012d}.checkpoint").is_file(), result.stderr
    assert not (tmp_path / "audit").exists() and not (tmp_path / "share").exists()


def test_a_folder_holding_another_note_of_the_same_size_is_reported_and_kept(instance, tmp_path):
    share, size = tmp_path / "share", log_size(instance.url)
    share.mkdir()
    other = LogSigner("vidoro/0ther0ne", Ed25519PrivateKey.generate()).sign("transitions", size, bytes(32))
    held = share / f"transitions-{size:012d}.checkpoint"
    held.write_text(other, encoding="utf-8")
    result = instance.audit("checkpoint", "--to", str(share))
    assert_error(result, 1, "a checkpoint could not be delivered everywhere")
    assert "already holds a different checkpoint of the same size" in result.stderr
    assert held.read_text(encoding="utf-8") == other
    assert (share / "access-000000000000.checkpoint").is_file()
    assert stored(instance.url) == [("transitions", size), ("access", 0), ("administration", admin_size(instance.url)),
                                    ("journal", 0)]


class _Recorder(BaseHTTPRequestHandler):
    """Keeps each POST's path, headers and body in the class's `received` list, and answers 204."""

    received: list[tuple[str, dict[str, str], bytes]]

    def do_POST(self):
        self.received.append((self.path, dict(self.headers), self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_checkpoints_are_posted_to_an_http_target_and_an_unreachable_one_fails(instance):
    handler = type("Handler", (_Recorder,), {"received": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = instance.audit("checkpoint", "--to", f"http://127.0.0.1:{server.server_port}/cp")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert_ok(result)
    notes = NOTE.findall(result.stdout)
    assert [(path, body.decode()) for path, _, body in handler.received] == [("/cp", note) for note in notes]
    for (_, headers, _), log in zip(handler.received, LOGS, strict=True):
        assert headers["Content-Type"].startswith("text/plain"), headers
        assert headers["Vidoro-Log"] == log

    register_cases(instance.url, instance.home / "keys", 1)
    grown = log_size(instance.url)
    closed = f"http://127.0.0.1:{free_port()}/cp"
    failed = instance.audit("checkpoint", "--log", "transitions", "--to", closed)
    assert_error(failed, 1, "could not be delivered everywhere; it is stored")
    assert f"transitions@{grown} -> {closed}: FAILED (not reached" in failed.stderr
    assert ("transitions", grown) in stored(instance.url)
    assert_ok(instance.audit("checkpoint", "--log", "transitions", "--no-publish"))
    assert stored(instance.url).count(("transitions", grown)) == 1


@pytest.mark.parametrize("how", ["option", "environment"])
def test_a_target_that_is_no_folder_or_http_address_is_a_usage_error(tmp_path, how):
    args = ["--to", "ftp://x"] if how == "option" else []
    env = {"VIDORO_CHECKPOINT_TARGETS": "ftp://x"} if how == "environment" else {}
    result = run(tmp_path / "instance", "audit", "checkpoint", *args, **env)
    assert_error(result, 2, "ftp://x", "folder or an http(s) address")


# --- proofs -----------------------------------------------------------------------------------------------


def test_proofs_verify_against_the_checkpoint_roots(instance):
    made = instance.audit("checkpoint", "--log", "transitions", "--no-publish")
    assert_ok(made)
    note = made.stdout
    old = parse_and_verify(note, instance.key, origin=f"{instance.name}/transitions")
    register_cases(instance.url, instance.home / "keys", 2)
    new_size = log_size(instance.url)
    assert new_size > old.size >= 3

    for seq, size in ((2, old.size), (new_size, None)):
        result = instance.audit("proof", "inclusion", "--entry", str(seq), *(["--size", str(size)] if size else []))
        assert_ok(result)
        found = json.loads(result.stdout)
        leaf = leaf_hash(found["entry_text"].encode("utf-8"))
        assert b64(found["leaf_hash"]) == leaf
        assert (found["log"], found["entry"], found["leaf_index"]) == ("transitions", seq, seq - 1)
        assert found["tree_size"] == (size or new_size)
        verify_inclusion(leaf, found["leaf_index"], found["tree_size"], [b64(h) for h in found["path"]],
                         b64(found["root"]))
        if size:
            assert b64(found["root"]) == old.root and found["checkpoint"] == note
        else:
            assert found["checkpoint"] is None

    result = instance.audit("proof", "consistency", "--from", str(old.size))
    assert_ok(result)
    found = json.loads(result.stdout)
    assert (found["old_size"], found["new_size"]) == (old.size, new_size)
    assert b64(found["old_root"]) == old.root
    assert (found["old_checkpoint"], found["new_checkpoint"]) == (note, None)
    path = [b64(h) for h in found["path"]]
    verify_consistency(old.size, new_size, old.root, b64(found["new_root"]), path)
    with pytest.raises(ProofError):
        verify_consistency(old.size, new_size, old.root, b64(found["new_root"]), [bytes(32), *path[1:]])

    size = str(new_size)
    for args, words in (
        (["inclusion", "--entry", str(new_size + 1)], f"not in the transitions log of {size} entries"),
        (["inclusion", "--entry", "1", "--size", str(new_size + 1)], f"has {size} entries"),
        (["inclusion", "--log", "access", "--entry", "1"], "not in the access log of 0 entries"),
        (["consistency", "--from", str(new_size + 1)], f"from {new_size + 1} to {size}"),
        (["consistency", "--from", "3", "--to", "2"], "from 3 to 2"),
        (["consistency", "--from", "1", "--to", str(new_size + 1)], f"has {size} entries"),
        (["inclusion", "--entry", "0"], "--entry"),
    ):
        assert_error(instance.audit("proof", *args), 2, words)


# --- verify, export and the standalone verifier ----------------------------------------------------------


def tamper(url: str, seq: int) -> None:
    """Change one byte of a transition log entry behind vidoro's back, past the append-only trigger."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("ALTER TABLE transition_log DISABLE TRIGGER USER"))
            else:
                conn.execute(text("DROP TRIGGER transition_log_no_update"))
            entry = conn.scalar(text("SELECT entry FROM transition_log WHERE seq = :seq"), {"seq": seq})
            changed = bytes(entry).replace(b'"v":1', b'"v":2')
            assert changed != bytes(entry)
            conn.execute(text("UPDATE transition_log SET entry = :entry WHERE seq = :seq"),
                         {"entry": changed, "seq": seq})
    finally:
        engine.dispose()


def standalone(tmp_path: Path, export: Path, key: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(tmp_path / "v.py"), str(export), "--key", key],
                          capture_output=True, text=True, timeout=30, check=False)


def test_verify_and_the_standalone_verifier_pass_a_demo_instance_and_catch_a_changed_entry(tmp_path, blank_url):
    home = tmp_path / "instance"
    key = init(home, blank_url, "--demo")
    assert_ok(run(home, "audit", "checkpoint", "--no-publish", url=blank_url))
    good = run(home, "audit", "verify", url=blank_url)
    assert_ok(good)
    assert "OK: every entry, tree node, checkpoint and case state agrees" in good.stdout
    assert f"transitions log: {log_size(blank_url)} entries" in good.stdout

    export, verifier = tmp_path / "export.jsonl", tmp_path / "v.py"
    assert_ok(run(home, "audit", "export", "-o", str(export), url=blank_url))
    lines = [json.loads(line) for line in export.read_text(encoding="utf-8").splitlines()]
    assert lines[0]["type"] == "header" and lines[-1]["type"] == "end"
    assert_ok(run(home, "audit", "verifier", "-o", str(verifier), url=blank_url))
    done = standalone(tmp_path, export, key)
    assert done.returncode == 0, done.stdout + done.stderr

    tamper(blank_url, 5)
    bad = run(home, "audit", "verify", url=blank_url)
    assert bad.exit_code == 1, bad.output
    assert "Traceback" not in bad.output
    assert "FAILED: transitions log, entry 5:" in bad.stdout
    assert "OK:" not in bad.stdout
    assert_ok(run(home, "audit", "export", "-o", str(export), url=blank_url))
    done = standalone(tmp_path, export, key)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_verify_reports_checkpoints_and_keys_it_cannot_trust(instance, tmp_path):
    other_home = tmp_path / "other"
    other_key = init(other_home, f"sqlite:///{tmp_path / 'other.db'}")
    theirs = tmp_path / "theirs"
    assert_ok(run(other_home, "audit", "checkpoint", "--log", "transitions", "--to", str(theirs),
                  url=f"sqlite:///{tmp_path / 'other.db'}"))
    ours = tmp_path / "ours"
    assert_ok(instance.audit("checkpoint", "--to", str(ours)))
    garbage = tmp_path / "garbage.checkpoint"
    garbage.write_bytes(b"\xff\xfe not a checkpoint \x00")

    held = [str(p) for p in ours.iterdir()]
    good = instance.audit("verify", *(a for p in held for a in ("--checkpoint", p)))
    assert_ok(good)
    assert "1 stored and 1 held checkpoints checked" in good.stdout

    for path in (next(theirs.iterdir()), garbage):
        result = instance.audit("verify", "--checkpoint", str(path))
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
        assert "FAILED: held checkpoint 1: " in result.stdout, result.stdout
        assert "a checkpoint was forged or altered" in result.stdout

    wrong_key = instance.audit("verify", "--key", other_key)
    assert wrong_key.exit_code == 1, wrong_key.output
    assert "FAILED: transitions log, stored checkpoint transitions@" in wrong_key.stdout
    assert "does not verify with the trusted key" in wrong_key.stdout
    assert_ok(instance.audit("verify", "--key", instance.key))


@pytest.mark.parametrize("blank_url", ["sqlite"], indirect=True)
def test_verify_refuses_a_key_that_is_no_verifier_key(instance):
    """A mistyped key is the auditor's input error, not a forged checkpoint (nor an OK without checkpoints)."""
    result = instance.audit("verify", "--key", "not-a-key")
    assert_error(result, 2, "--key")
    assert_ok(instance.audit("checkpoint", "--no-publish"))
    assert_error(instance.audit("verify", "--key", "not-a-key"), 2, "--key")


@pytest.mark.parametrize("blank_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("there_before", [False, True], ids=["new", "replacing-a-readable-one"])
def test_the_export_file_is_owner_only_whatever_the_umask(instance, tmp_path, there_before):
    target = tmp_path / "export.jsonl"
    if there_before:
        target.write_text("the previous export\n", encoding="utf-8")
        target.chmod(0o644)
        (tmp_path / ".export.jsonl.partial").write_text("a run cut short\n", encoding="utf-8")
    before = os.umask(0o022)
    try:
        assert_ok(instance.audit("export", "-o", str(target)))
    finally:
        os.umask(before)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text(encoding="utf-8").startswith('{"type":"header"')
    assert not (tmp_path / ".export.jsonl.partial").exists()


@pytest.mark.parametrize("blank_url", ["sqlite"], indirect=True)
def test_a_failed_export_leaves_no_half_file(instance, tmp_path, monkeypatch):
    """A database lost halfway: the file under the name asked for is the one there before, no partial file."""

    def broken_export(database, signer, out, progress=None):
        out.write('{"type": "header"}\n')
        raise OperationalError("SELECT", {}, Exception("server closed the connection unexpectedly"))

    target = tmp_path / "export.jsonl"
    target.write_text("the previous export\n", encoding="utf-8")
    monkeypatch.setattr("web.audit_cli.export_logs", broken_export)
    result = instance.audit("export", "-o", str(target))
    assert_error(result, 1, "cannot use the database", "server closed the connection")
    assert target.read_text(encoding="utf-8") == "the previous export\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# --- serve ------------------------------------------------------------------------------------------------


def running(server: subprocess.Popen, deadline: float) -> bool:
    return server.poll() is None and time.monotonic() < deadline


def test_serve_writes_checkpoints_periodically(instance, tmp_path):
    share, port = tmp_path / "share", free_port()
    environment = process_env(instance.home, VIDORO_DATABASE_URL=instance.url, PYTHONUNBUFFERED="1",
                              VIDORO_CHECKPOINT_INTERVAL="0.5", VIDORO_CHECKPOINT_TARGETS=str(share))
    size = log_size(instance.url)
    wanted = {f"transitions-{size:012d}.checkpoint", "access-000000000000.checkpoint"}
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen([str(VIDORO), "serve", "--port", str(port)], env=environment,
                                  stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + WAIT_S
            while not (share.is_dir() and wanted <= {p.name for p in share.iterdir()}) and running(server, deadline):
                time.sleep(0.1)
            register_cases(instance.url, instance.home / "keys", 1)  # the log grows: a new checkpoint follows
            grown = share / f"transitions-{log_size(instance.url):012d}.checkpoint"
            while not grown.exists() and running(server, deadline):
                time.sleep(0.1)
        finally:
            stop(server)
    output = log.read_text()
    assert share.is_dir() and wanted <= {p.name for p in share.iterdir()}, output
    assert grown.exists(), output
    assert "checkpoints every 0.5 s to the database and" in output
    assert "Traceback" not in output
    checkpoint = parse_and_verify(grown.read_text(encoding="utf-8"), instance.key,
                                  origin=f"{instance.name}/transitions")
    assert checkpoint.size == log_size(instance.url)


@pytest.mark.parametrize("value", ["abc", "-1", "nan", "inf"])
def test_a_bad_checkpoint_interval_is_a_usage_error(tmp_path, value):
    """`inf` too: taken, it kills the checkpoint thread on its first wait (OverflowError) while serving goes on."""
    result = run(tmp_path / "instance", "serve", "--port", str(free_port()), VIDORO_CHECKPOINT_INTERVAL=value)
    assert_error(result, 2, "VIDORO_CHECKPOINT_INTERVAL must be a number of seconds", repr(value))
