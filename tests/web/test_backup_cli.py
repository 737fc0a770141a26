"""`vidoro backup` and `vidoro restore` through Click's runner: a copy restored into an empty instance verifies
and opens every case that was not erased; the KEKs are kept apart, and once rotated and retired an older backup
opens nothing; on PostgreSQL vidoro copies the key store and the database's own tools the database."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import uuid
from io import StringIO
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from cases import Database
from cases.crypto.keys import FileKeyStore
from cases.errors import KeyMaterialError
from cases.models import Case
from tests.conftest import POSTGRES_URL
from tests.web.test_cli import HEAD, assert_ok, assert_one_line_failure, run
from tests.web.test_keys_cli import read_all, register_cases
from web.backup_cli import _progress

KEY_LINE = re.compile(r"verifier key for auditors: (\S+)")
PERSONAL = ("Nyckel", "Testsson", "Oro nummer")  # what register_cases writes into the cases


def init(home: Path, url: str) -> str:
    result = run(home, "init", url=url)
    assert_ok(result)
    return KEY_LINE.search(result.output).group(1)


def refs(url: str) -> list[str]:
    database = Database(url)
    try:
        with database.read() as session:
            return sorted(session.scalars(select(Case.ref)))
    finally:
        database.dispose()


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.exists() else {}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def assert_no_personal_data(*outputs: str) -> None:
    for output in outputs:
        assert not any(word in output for word in PERSONAL), output
        assert not re.search(r"\d{6}[-+]?\d{4}", output), output  # no identity number


@pytest.fixture
def sqlite_instance(tmp_path) -> tuple[Path, str, str]:
    home = tmp_path / "instance"
    url = f"sqlite:///{home / 'vidoro.db'}"
    return home, url, init(home, url)


# --- SQLite: the whole instance --------------------------------------------------------------------------------


def test_a_backup_restored_into_an_empty_instance_verifies_and_opens_every_case_not_erased(tmp_path, sqlite_instance):
    home, url, key = sqlite_instance
    register_cases(url, home / "keys", 3)
    assert_ok(run(home, "demo", "--per-state", "1", url=url))  # a case in every state, erased ones too
    every = refs(url)
    before = read_all(url, home / "keys", every)
    erased = [ref for ref, (person, concern) in before.items() if (person, concern) == ({}, None)]
    assert erased and len(erased) < len(every)

    taken = run(home, "backup", "-o", str(tmp_path / "backup"), url=url)
    keks = run(home, "backup", "--keks-only", "-o", str(tmp_path / "keks"), url=url)

    assert_ok(taken)
    assert_ok(keks)
    assert "copying" in taken.stderr  # the progress bar
    assert taken.stdout.splitlines()[:3] == [
        f"database: copied (schema {HEAD})",
        f"keyring: copied after the database; data keys: {len(every) - len(erased)} under key-encryption key 1",
        "log signing key: copied"]
    backup = tmp_path / "backup"
    assert sorted(files(backup)) == ["keyring.db", "log-signing.json", "manifest.json", "vidoro.db"]
    assert "kek.json" not in files(backup)  # the KEKs are kept apart
    assert sorted(files(tmp_path / "keks")) == ["kek.json", "manifest.json"]
    assert mode(backup) == 0o700 and all(mode(p) == 0o600 for p in backup.iterdir())
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["revision"] == HEAD and manifest["database"] == "sqlite"
    assert set(manifest["files"]) == {"keyring.db", "log-signing.json", "vidoro.db"}

    other = tmp_path / "restored"
    other_url = f"sqlite:///{other / 'vidoro.db'}"
    restored = run(other, "restore", str(backup), "--keks", str(tmp_path / "keks"), url=other_url)

    assert_ok(restored)
    assert f"{len(every)} cases, {len(erased)} of them erased" in restored.stdout
    assert_no_personal_data(taken.output, keks.output, restored.output)
    assert mode(other / "keys") == 0o700 and mode(other / "vidoro.db") == 0o600
    assert refs(other_url) == every
    assert read_all(other_url, other / "keys", every) == before  # every case opens as it did; erased stay shut
    verified = run(other, "audit", "verify", "--key", key, url=other_url)
    assert_ok(verified)
    assert "OK: every entry, tree node, checkpoint and case state agrees" in verified.output


def test_restore_refuses_an_instance_that_is_not_empty_and_changes_nothing(tmp_path, sqlite_instance):
    home, url, _ = sqlite_instance
    register_cases(url, home / "keys", 1)
    assert_ok(run(home, "backup", "-o", str(tmp_path / "backup"), url=url))
    keks = str(home / "keys" / "kek.json")
    database, keys = (home / "vidoro.db").read_bytes(), files(home / "keys")

    into_itself = run(home, "restore", str(tmp_path / "backup"), "--keks", keks, url=url)

    assert_one_line_failure(into_itself, str(home / "keys"), "is not empty", "empty instance")
    assert (home / "vidoro.db").read_bytes() == database and files(home / "keys") == keys
    other = tmp_path / "other"
    other.mkdir()
    (other / "vidoro.db").write_bytes(database)  # a database, but no keys
    beside = run(other, "restore", str(tmp_path / "backup"), "--keks", keks, url=f"sqlite:///{other / 'vidoro.db'}")
    assert_one_line_failure(beside, str(other / "vidoro.db"), "exists", "empty instance")
    assert sorted(files(other)) == ["vidoro.db"]


def test_backup_refuses_a_folder_that_is_not_empty(tmp_path, sqlite_instance):
    home, url, _ = sqlite_instance
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "something").write_text("kept")
    refused = run(home, "backup", "-o", str(tmp_path / "full"), url=url)
    assert_one_line_failure(refused, str(tmp_path / "full"), "is not empty")
    assert files(tmp_path / "full") == {"something": b"kept"}


@pytest.mark.parametrize("damage, expected", [
    (lambda b: (b / "manifest.json").unlink(), "has no manifest.json"),
    (lambda b: (b / "keyring.db").unlink(), "file keyring.db: is missing"),
    (lambda b: (b / "vidoro.db").write_bytes((b / "vidoro.db").read_bytes()[:-1] + b"x"),
     "file vidoro.db: does not match the manifest"),
], ids=["unfinished", "incomplete", "altered"])
def test_restore_refuses_an_unfinished_incomplete_or_altered_backup(tmp_path, sqlite_instance, damage, expected):
    home, url, _ = sqlite_instance
    register_cases(url, home / "keys", 1)
    assert_ok(run(home, "backup", "-o", str(tmp_path / "backup"), url=url))
    damage(tmp_path / "backup")
    other = tmp_path / "other"
    refused = run(other, "restore", str(tmp_path / "backup"), "--keks", str(home / "keys" / "kek.json"),
                  url=f"sqlite:///{other / 'vidoro.db'}")
    assert_one_line_failure(refused, expected)
    assert files(other) == {}


def test_restore_refuses_another_instances_keks(tmp_path, sqlite_instance):
    home, url, _ = sqlite_instance
    register_cases(url, home / "keys", 1)
    assert_ok(run(home, "backup", "-o", str(tmp_path / "backup"), url=url))
    FileKeyStore.create(tmp_path / "stranger").close()
    other = tmp_path / "other"
    refused = run(other, "restore", str(tmp_path / "backup"), "--keks", str(tmp_path / "stranger" / "kek.json"),
                  url=f"sqlite:///{other / 'vidoro.db'}")
    assert_one_line_failure(refused, "do not belong to this backup")
    assert files(other) == {}


# --- erasure reaches the backups within one rotation period ------------------------------------------------------


def test_after_rotation_and_retirement_an_older_backup_opens_no_case_and_a_new_one_every_case(
        tmp_path, sqlite_instance):
    home, url, key = sqlite_instance
    every = sorted(register_cases(url, home / "keys", 3))
    before = read_all(url, home / "keys", every)
    assert_ok(run(home, "backup", "-o", str(tmp_path / "old"), url=url))
    assert_ok(run(home, "keys", "rotate", url=url))
    assert_ok(run(home, "keys", "retire", url=url))
    assert_ok(run(home, "backup", "-o", str(tmp_path / "new"), url=url))
    assert_ok(run(home, "backup", "--keks-only", "-o", str(tmp_path / "keks"), url=url))

    stale = tmp_path / "stale"
    stale_url = f"sqlite:///{stale / 'vidoro.db'}"
    refused = run(stale, "restore", str(tmp_path / "old"), "--keks", str(tmp_path / "keks"), url=stale_url)

    assert_one_line_failure(refused, "key-encryption key 1", "do not hold", "no case in it can be opened")
    assert files(stale / "keys") == {} and not (stale / "vidoro.db").exists()
    # put in place by hand instead, the old copy still opens nothing with the keys kept now
    (stale / "keys").mkdir(parents=True)
    shutil.copy(tmp_path / "old" / "vidoro.db", stale / "vidoro.db")
    for name in ("keyring.db", "log-signing.json"):
        shutil.copy(tmp_path / "old" / name, stale / "keys" / name)
    shutil.copy(tmp_path / "keks" / "kek.json", stale / "keys" / "kek.json")
    for ref in every:
        with pytest.raises(KeyMaterialError, match=r"key-encryption key 1 .* is missing"):
            read_all(stale_url, stale / "keys", [ref])

    fresh = tmp_path / "fresh"
    fresh_url = f"sqlite:///{fresh / 'vidoro.db'}"
    assert_ok(run(fresh, "restore", str(tmp_path / "new"), "--keks", str(tmp_path / "keks"), url=fresh_url))
    assert read_all(fresh_url, fresh / "keys", every) == before
    assert_ok(run(fresh, "audit", "verify", "--key", key, url=fresh_url))


# --- PostgreSQL: the database by its own tools, the key store by vidoro -------------------------------------------


@pytest.fixture
def postgres_instance(tmp_path, request):
    """An initialised instance in a PostgreSQL database of its own (pg_dump and pg_restore work on databases)."""
    request.getfixturevalue("postgres_schema")  # skips (or fails in CI) as the suite does without PostgreSQL
    created = []

    def new_database() -> str:
        name = f"vidoro_backup_{uuid.uuid4().hex[:10]}"
        admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        created.append(name)
        return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)

    home = tmp_path / "instance"
    url = new_database()
    yield home, url, init(home, url), new_database
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in created:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed")  # CI fails on a skip: the tools must be there
    return found


def test_on_postgresql_vidoro_copies_the_key_store_after_pg_dump_and_restores_it_beside_pg_restore(
        tmp_path, postgres_instance):
    home, url, key, new_database = postgres_instance
    every = sorted(register_cases(url, home / "keys", 3))
    before = read_all(url, home / "keys", every)
    dump = tmp_path / "vidoro.dump"
    subprocess.run([pg_tool("pg_dump"), "-Fc", "-f", str(dump), libpq(url)], check=True, timeout=120)

    taken = run(home, "backup", "-o", str(tmp_path / "backup"), url=url)  # after the dump

    assert_ok(taken)
    assert f"database: PostgreSQL (schema {HEAD}) is not in this copy: copy it with pg_dump" in taken.stdout
    assert sorted(files(tmp_path / "backup")) == ["keyring.db", "log-signing.json", "manifest.json"]
    assert_ok(run(home, "backup", "--keks-only", "-o", str(tmp_path / "keks"), url=url))
    restored_url = new_database()
    other = tmp_path / "restored"
    refused = run(other, "restore", str(tmp_path / "backup"), "--keks", str(tmp_path / "keks"), url=restored_url)
    assert_one_line_failure(refused, "is empty: restore its dump first")
    subprocess.run([pg_tool("pg_restore"), "--no-owner", "-d", libpq(restored_url), str(dump)], check=True, timeout=120)

    restored = run(other, "restore", str(tmp_path / "backup"), "--keks", str(tmp_path / "keks"), url=restored_url)

    assert_ok(restored)
    assert f"database: restored before (PostgreSQL), schema {HEAD}; 3 cases, 0 of them erased" in restored.stdout
    assert_no_personal_data(taken.output, restored.output)
    assert read_all(restored_url, other / "keys", every) == before
    assert_ok(run(other, "audit", "verify", "--key", key, url=restored_url))


def test_on_postgresql_a_key_store_copied_before_the_dump_is_refused(tmp_path, postgres_instance):
    home, url, _, _ = postgres_instance
    register_cases(url, home / "keys", 2)
    assert_ok(run(home, "backup", "-o", str(tmp_path / "early"), url=url))  # the keys first: wrong order
    register_cases(url, home / "keys", 1)  # a case, and its data key, after the key-store copy
    other = tmp_path / "restored"

    refused = run(other, "restore", str(tmp_path / "early"), "--keks", str(home / "keys"), url=url,
                  VIDORO_KEYS=str(other / "keys"))

    assert_one_line_failure(refused, "has no data key for 1 of the 3 cases", "copied before the database")
    assert not (other / "keys").exists() or files(other / "keys") == {}
    assert_ok(run(home, "backup", "-o", str(tmp_path / "late"), url=url))  # after: every case has its key
    assert_ok(run(other, "restore", str(tmp_path / "late"), "--keks", str(home / "keys"), url=url,
                  VIDORO_KEYS=str(other / "keys")))


def test_a_backup_holds_no_kek(tmp_path, sqlite_instance):
    """The keyring in a backup has no key that opens it: nothing in the copy is a KEK or the index key."""
    home, url, _ = sqlite_instance
    register_cases(url, home / "keys", 1)
    assert_ok(run(home, "backup", "-o", str(tmp_path / "backup"), url=url))
    body = json.loads((home / "keys" / "kek.json").read_text())
    secrets = [*body["keks"].values(), body["index_key"]]
    raw = [base64.b64decode(s) for s in secrets]
    for path in (tmp_path / "backup").iterdir():
        content = path.read_bytes()
        assert not any(s.encode() in content for s in secrets) and not any(r in content for r in raw), path.name
    with sqlite3.connect(tmp_path / "backup" / "keyring.db") as ring:
        assert [n for (n,) in ring.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == [
            "data_keys", "fingerprints", "retired_keks"]
    assert os.path.exists(home / "keys" / "kek.json")


def test_on_postgresql_a_key_store_copied_before_a_rotation_and_retirement_opens_nothing(tmp_path, postgres_instance):
    home, url, _, _ = postgres_instance
    every = sorted(register_cases(url, home / "keys", 2))
    before = read_all(url, home / "keys", every)
    assert_ok(run(home, "backup", "-o", str(tmp_path / "old"), url=url))
    assert_ok(run(home, "keys", "rotate", url=url))
    assert_ok(run(home, "keys", "retire", url=url))
    assert_ok(run(home, "backup", "-o", str(tmp_path / "new"), url=url))
    assert_ok(run(home, "backup", "--keks-only", "-o", str(tmp_path / "keks"), url=url))
    other = tmp_path / "restored"  # beside the database as pg_restore would bring it back (here: the same one)

    refused = run(other, "restore", str(tmp_path / "old"), "--keks", str(tmp_path / "keks"), url=url,
                  VIDORO_KEYS=str(other / "keys"))

    assert_one_line_failure(refused, "key-encryption key 1", "no case in it can be opened")
    assert files(other / "keys") == {}
    assert_ok(run(other, "restore", str(tmp_path / "new"), "--keks", str(tmp_path / "keks"), url=url,
                  VIDORO_KEYS=str(other / "keys")))
    assert read_all(url, other / "keys", every) == before


class Terminal(StringIO):
    """stderr as a terminal, for click to draw its bar on."""

    def isatty(self) -> bool:
        return True


def test_the_progress_bar_shows_from_the_first_page_and_follows_a_total_that_grows(monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    with _progress("copying"):
        pass  # refused before any page was copied: no bar
    assert terminal.getvalue() == ""
    with _progress("copying") as progress:
        progress(1, 4)
        progress(3, 8)  # the later files' estimate grew
        progress(8, 8)
    shown = [int(p) for p in re.findall(r"(\d+)%", terminal.getvalue())]
    assert shown == [0, 25, 37, 100] and terminal.getvalue().startswith("\r") and "copying" in terminal.getvalue()
    with pytest.raises(RuntimeError), _progress("restoring") as progress:  # the bar ends even when a copy fails
        progress(1, 2)
        raise RuntimeError
    assert terminal.getvalue().endswith("\n")
