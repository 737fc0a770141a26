"""`vidoro init`, `vidoro keys status|rotate`, and every command that needs the keys refusing broken key
files with one line and without writing anything; on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cases import ConcernForm, Database, add_staff, register_concern
from cases.casework.access import read_case
from cases.crypto.identity import generate_identity_number
from cases.crypto.keys import FileKeyStore
from cases.errors import KeyDestroyed
from cases.models import Base, Staff
from tests.conftest import NOW
from tests.web.test_cli import assert_ok, assert_one_line_failure, run
from web import serving
from workflow import Actor

VIDORO = Path(sys.executable).with_name("vidoro")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def register_cases(url: str, keys: Path, count: int) -> list[str]:
    """`count` cases registered through the operations with the instance's key store."""
    database = Database(url, keys=FileKeyStore(keys))
    try:
        reporter = add_staff(database, f"reporter-{count}", "Test reporter", "reporter")
        add_staff(database, f"decider-{count}", "Test decider", "decider")
        return [register_concern(database, reporter, ConcernForm(
            concern=f"Oro nummer {i}.", reporter_org="school", given_name=f"Nyckel {i}", family_name="Testsson",
            identity_number=generate_identity_number(NOW.date().replace(year=1990), 200 + i)), now=NOW).ref
            for i in range(count)]
    finally:
        database.dispose()


def read_all(url: str, keys: Path, refs: list[str]) -> dict[str, tuple]:
    """Each case's person and concern as a decision maker reads them."""
    database = Database(url, keys=FileKeyStore(keys))
    try:
        with database.read() as session:
            decider = session.scalars(select(Staff).where(Staff.role == "decider")).first()
        records = [read_case(database, Actor(decider.id, decider.role), ref, now=NOW) for ref in refs]
        return {record.ref: (record.person, record.concern) for record in records}
    finally:
        database.dispose()


def row_counts(url: str) -> dict[str, int]:
    database = Database(url)
    try:
        with database.read() as session:
            return {t.name: session.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}
    finally:
        database.dispose()


def keyring_rows(keys: Path) -> list[tuple]:
    ring = sqlite3.connect(f"file:{keys / 'keyring.db'}?mode=ro", uri=True)
    try:
        return sorted(ring.execute("SELECT case_id, kek_version, wrapped FROM data_keys"))
    finally:
        ring.close()


# --- init -------------------------------------------------------------------------------------------------


def test_init_creates_owner_only_keys_and_says_so(tmp_path, blank_url):
    home = tmp_path / "instance"
    result = run(home, "init", url=blank_url)
    assert_ok(result)
    keys = home / "keys"
    assert f"keys: {keys} (created, owner-only; back them up apart from the database)" in result.output
    assert mode(keys) == 0o700
    assert mode(keys / "kek.json") == 0o600 and mode(keys / "keyring.db") == 0o600
    kek = (keys / "kek.json").read_bytes()

    again = run(home, "init", url=blank_url)
    assert_ok(again)
    assert f"keys: {keys} (exist; back them up apart from the database)" in again.output
    assert (keys / "kek.json").read_bytes() == kek


def test_init_puts_the_keys_where_vidoro_keys_says(tmp_path, db_url):
    home, keys = tmp_path / "instance", tmp_path / "elsewhere" / "keys"
    result = run(home, "init", url=db_url, VIDORO_KEYS=str(keys))
    assert_ok(result)
    assert f"keys: {keys} (created, owner-only" in result.output
    assert mode(keys / "kek.json") == 0o600 and mode(keys / "keyring.db") == 0o600
    assert not (home / "keys").exists()


# --- keys status and keys rotate --------------------------------------------------------------------------


def test_keys_status_lists_each_version_and_its_count(tmp_path, db_url):
    home = tmp_path / "instance"
    assert_ok(run(home, "init", url=db_url))
    register_cases(db_url, home / "keys", 3)
    result = run(home, "keys", "status", url=db_url)
    assert_ok(result)
    assert result.output.splitlines() == ["kek 1 (current): wraps 3 data keys"]


def test_keys_rotate_adds_a_version_rewraps_with_a_progress_bar_and_keeps_every_case_readable(tmp_path, db_url):
    home = tmp_path / "instance"
    keys = home / "keys"
    assert_ok(run(home, "init", url=db_url))
    refs = register_cases(db_url, keys, 4)
    before = read_all(db_url, keys, refs)
    wrapped = {case_id: blob for case_id, _, blob in keyring_rows(keys)}

    rotated = run(home, "keys", "rotate", url=db_url)
    assert_ok(rotated)
    assert rotated.stdout.splitlines() == ["new key-encryption key 2 is current",
                                           "re-wrapped 4 data keys; every case is under key 2"]
    assert "re-wrapping data keys" in rotated.stderr  # the progress bar
    rows = keyring_rows(keys)
    assert {version for _, version, _ in rows} == {2}
    assert all(blob != wrapped[case_id] for case_id, _, blob in rows)
    assert mode(keys / "kek.json") == 0o600

    status = run(home, "keys", "status", url=db_url)
    assert_ok(status)
    assert status.output.splitlines() == [
        "kek 1 (retirable): wraps 0 data keys", "kek 2 (current): wraps 4 data keys",
        "older keys wrap no data key any more: run `vidoro keys retire` to destroy them"]
    assert read_all(db_url, keys, refs) == before

    resumed = run(home, "keys", "rotate", "--resume", url=db_url)
    assert_ok(resumed)
    assert resumed.stdout.splitlines() == ["re-wrapped 0 data keys; every case is under key 2"]
    assert json.loads((keys / "kek.json").read_text())["current"] == 2


def test_keys_status_tells_of_an_unfinished_rotation_and_resume_finishes_it(tmp_path, db_url):
    home = tmp_path / "instance"
    keys = home / "keys"
    assert_ok(run(home, "init", url=db_url))
    refs = register_cases(db_url, keys, 3)
    store = FileKeyStore(keys)
    store.add_kek()
    store.close()  # as if `vidoro keys rotate` had been stopped right after adding the key
    status = run(home, "keys", "status", url=db_url)
    assert_ok(status)
    assert status.output.splitlines() == [
        "kek 1: wraps 3 data keys", "kek 2 (current): wraps 0 data keys",
        "3 data keys still under an older key: run `vidoro keys rotate --resume` to finish"]
    assert_ok(run(home, "keys", "rotate", "--resume", url=db_url))
    assert run(home, "keys", "status", url=db_url).output.splitlines() == [
        "kek 1 (retirable): wraps 0 data keys", "kek 2 (current): wraps 3 data keys",
        "older keys wrap no data key any more: run `vidoro keys retire` to destroy them"]
    assert len(read_all(db_url, keys, refs)) == 3


def test_keys_retire_destroys_the_old_keys_so_a_backup_copy_of_a_wrapped_data_key_no_longer_opens(tmp_path, db_url):
    home = tmp_path / "instance"
    keys = home / "keys"
    assert_ok(run(home, "init", url=db_url))
    refs = register_cases(db_url, keys, 3)
    before = read_all(db_url, keys, refs)
    backup = keyring_rows(keys)  # an attacker's copy of the wrapped data keys, all under key 1
    assert_ok(run(home, "keys", "rotate", url=db_url))
    erased, old_version, old_wrapped = backup[0]
    store = FileKeyStore(keys)
    try:
        store.destroy_data_key(erased)  # the case is erased: its data key is destroyed
    finally:
        store.close()

    retired = run(home, "keys", "retire", url=db_url)

    assert_ok(retired)
    assert retired.output.splitlines() == ["retired and destroyed key-encryption key 1; only key 2 remains"]
    assert set(json.loads((keys / "kek.json").read_text())["keks"]) == {"2"}
    assert mode(keys / "kek.json") == 0o600
    ring = sqlite3.connect(keys / "keyring.db")
    try:
        with ring:  # the copy is put back into the keyring
            ring.execute("INSERT INTO data_keys VALUES (?, ?, ?, 'restored')", (erased, old_version, old_wrapped))
    finally:
        ring.close()
    store = FileKeyStore(keys)
    try:
        with pytest.raises(KeyDestroyed):
            store.data_key(erased)
    finally:
        store.close()
    after = read_all(db_url, keys, refs)
    unreadable = [ref for ref in refs if after[ref] != before[ref]]
    assert len(unreadable) == 1 and after[unreadable[0]] == ({}, None)  # only the erased case; the rest open
    status = run(home, "keys", "status", url=db_url)
    assert_ok(status)
    assert status.output.splitlines() == ["kek 1: retired (destroyed)", "kek 2 (current): wraps 2 data keys"]
    again = run(home, "keys", "retire", url=db_url)
    assert_ok(again)
    assert again.output.splitlines() == ["nothing to retire: key 2 is the only key-encryption key"]


def test_keys_retire_refuses_while_an_old_key_still_wraps_data_keys(tmp_path, db_url):
    home = tmp_path / "instance"
    keys = home / "keys"
    assert_ok(run(home, "init", url=db_url))
    refs = register_cases(db_url, keys, 3)
    store = FileKeyStore(keys)
    store.add_kek()
    store.close()  # as if `vidoro keys rotate` had been stopped right after adding the key
    kek, ring = (keys / "kek.json").read_bytes(), keyring_rows(keys)

    refused = run(home, "keys", "retire", url=db_url)

    assert_one_line_failure(refused, "3 data keys are still wrapped", "3 under key 1", "vidoro keys rotate",
                            "nothing was retired")
    assert refused.exit_code == 1
    assert (keys / "kek.json").read_bytes() == kek and keyring_rows(keys) == ring
    assert len(read_all(db_url, keys, refs)) == 3
    assert_ok(run(home, "keys", "rotate", "--resume", url=db_url))
    assert_ok(run(home, "keys", "retire", url=db_url))
    assert len(read_all(db_url, keys, refs)) == 3


# --- broken key files stop every command that needs them, writing nothing ------------------------------------


def _edit(keys: Path, change) -> None:
    body = json.loads((keys / "kek.json").read_text())
    change(body)
    (keys / "kek.json").write_text(json.dumps(body))


def _other_instance(keys: Path) -> None:
    other = FileKeyStore.create(keys.parent / "other-instance")
    other.close()
    (keys / "kek.json").write_bytes((keys.parent / "other-instance" / "kek.json").read_bytes())


FAULTS = {
    "missing": (lambda k: (k / "kek.json").unlink(), "restore"),
    "not JSON": (lambda k: (k / "kek.json").write_text("{not json"), "restore it from the key backup"),
    "a key of the wrong length": (lambda k: _edit(k, lambda b: b["keks"].update(
        {"1": base64.b64encode(bytes(16)).decode()})), "restore it from the key backup"),
}
COMMANDS = {"demo": ["demo", "--per-state", "1"], "serve": ["serve", "--port", "1"], "keys status": ["keys", "status"]}


@pytest.fixture
def no_serving(monkeypatch):
    """`serve` must stop before it serves: should it get that far, fail instead of blocking the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("vidoro serve started serving despite broken key files")

    monkeypatch.setattr(serving, "serve", refuse)


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
@pytest.mark.parametrize("fault, todo", [
    *FAULTS.values(),
    pytest.param(_other_instance, "restore kek.json from the key backup"),
], ids=[*FAULTS.keys(), "another instance's"])
def test_a_broken_kek_file_stops_the_command_with_one_line_and_writes_nothing(
        tmp_path, db_url, no_serving, fault, todo, command):
    home = tmp_path / "instance"
    keys = home / "keys"
    assert_ok(run(home, "init", url=db_url))
    register_cases(db_url, keys, 2)
    fault(keys)
    counts, ring, files = row_counts(db_url), keyring_rows(keys), sorted(p.name for p in keys.iterdir())
    kek_bytes = (keys / "kek.json").read_bytes() if (keys / "kek.json").exists() else None

    result = run(home, *command, url=db_url)

    assert_one_line_failure(result, str(keys / "kek.json"), todo)
    assert row_counts(db_url) == counts
    assert keyring_rows(keys) == ring
    assert sorted(p.name for p in keys.iterdir()) == files
    if kek_bytes is not None:
        assert (keys / "kek.json").read_bytes() == kek_bytes


def test_serve_as_a_real_process_refuses_a_broken_kek_file(tmp_path, db_url):
    home = tmp_path / "instance"
    assert_ok(run(home, "init", url=db_url))
    register_cases(db_url, home / "keys", 1)
    (home / "keys" / "kek.json").write_text("[]")
    counts = row_counts(db_url)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("VIDORO_")}
    environment.update(VIDORO_HOME=str(home), VIDORO_DATABASE_URL=db_url)
    done = subprocess.run([str(VIDORO), "serve", "--port", "1"], env=environment, capture_output=True, text=True,
                          timeout=20, check=False)
    assert done.returncode == 1, done.stderr
    assert done.stdout == "" and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and str(home / "keys" / "kek.json") in lines[0] and "restore" in lines[0], done.stderr
    assert row_counts(db_url) == counts


def test_init_refuses_new_keys_for_a_database_that_already_holds_cases(tmp_path, db_url):
    home = tmp_path / "instance"
    assert_ok(run(home, "init", url=db_url))
    register_cases(db_url, home / "keys", 2)
    (home / "keys").rename(tmp_path / "keys-misplaced")
    result = run(home, "init", url=db_url)
    assert result.exit_code != 0, result.output
    assert not (home / "keys" / "kek.json").exists()
