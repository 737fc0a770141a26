"""`cases.backup`: a SQLite backup taken while another thread writes is one moment of the database, restores
whole, verifies and opens every case it holds; the manifest is written last and checked on restore."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from cases import ConcernForm, Database, add_staff, register_concern
from cases.audit.checkpoints import issue_checkpoint
from cases.audit.signing import LogSigner
from cases.audit.verify import verify
from cases.backup import BackupRefused, copy_keks, restore, take_backup
from cases.backup.take import copy_sqlite
from cases.casework.access import read_case
from cases.crypto.identity import generate_identity_number
from cases.crypto.keys import FileKeyStore
from cases.models import Case
from cases.reports.demo import PATHS, drive
from cases.retention.thinning import erase_case
from tests.conftest import NOW, ROLES
from workflow import Actor

WRITES_MAX = 300  # the writer's bound in count …
WRITES_SECONDS = 60  # … and in time
WAIT_SECONDS = 30
OLD = datetime(2020, 1, 10, 9, 0, tzinfo=UTC)  # closed six days on: past retention on NOW
CLOSE = PATHS["erased"][1][:2]  # an adult's pre-assessment, closed without investigation


def instance(folder: Path) -> tuple[Database, LogSigner]:
    database = Database(f"sqlite:///{folder / 'vidoro.db'}", keys=FileKeyStore.create(folder / "keys"))
    database.upgrade()
    return database, LogSigner.create(folder / "keys", "test.example/vidoro")


def form(number: int) -> ConcernForm:
    return ConcernForm(concern=f"Oro {number}.", reporter_org="school", given_name=f"Kopia {number}",
                       family_name="Testsson", identity_number=generate_identity_number(
                           NOW.date().replace(year=1995), 100 + number % 800))


def refs(database: Database) -> list[str]:
    with database.read() as session:
        return sorted(session.scalars(select(Case.ref)))


class Writer(threading.Thread):
    """Registers cases until stopped (or its bounds are reached), counting what it committed."""

    def __init__(self, database: Database, reporter: Actor) -> None:
        super().__init__(daemon=True)
        self.database, self.reporter = database, reporter
        self.stop = threading.Event()
        self.committed = 0
        self.changed = threading.Condition()
        self.error: BaseException | None = None

    def run(self) -> None:
        deadline = time.monotonic() + WRITES_SECONDS
        try:
            for number in range(WRITES_MAX):
                if self.stop.is_set() or time.monotonic() > deadline:
                    return
                register_concern(self.database, self.reporter, form(number), now=NOW + timedelta(seconds=number))
                with self.changed:
                    self.committed += 1
                    self.changed.notify_all()
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.error = exc

    def wait_for(self, count: int) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.committed >= count or self.error is not None,
                                         timeout=WAIT_SECONDS)


def test_a_backup_taken_while_another_thread_writes_is_one_moment_and_restores_whole(tmp_path):
    database, signer = instance(tmp_path / "live")
    reporter = add_staff(database, "reporter-1", "Test reporter", "reporter")
    decider = add_staff(database, "decider-1", "Test decider", "decider")
    for number in range(1000, 1003):
        register_concern(database, reporter, form(number), now=NOW)
    issue_checkpoint(database, signer, "transitions")
    writer = Writer(database, reporter)
    seen: list[tuple[int, int]] = []
    at_snapshot: list[int] = []  # cases the writer had committed when the copy's first page was copied

    def progress(done: int, total: int) -> None:
        if not seen:  # the copy's snapshot is taken: let two more cases commit before it goes on
            at_snapshot.append(writer.committed)
            assert writer.wait_for(writer.committed + 2), "the writer committed nothing during the backup"
        seen.append((done, total))

    writer.start()
    try:
        assert writer.wait_for(1)
        manifest = take_backup(database, tmp_path / "live" / "keys", tmp_path / "backup", pages=1,
                               progress=progress)
    finally:
        writer.stop.set()
        writer.join(timeout=WRITES_SECONDS)
    assert writer.error is None, writer.error
    assert len(seen) > 2 and seen[-1][0] == seen[-1][1]  # page by page, to the end
    assert manifest.database == "sqlite" and manifest.revision == database.current_revision()
    live = refs(database)

    restored = restore(tmp_path / "backup", url=f"sqlite:///{tmp_path / 'restored' / 'vidoro.db'}",
                       keys=tmp_path / "restored" / "keys", keks=tmp_path / "live" / "keys" / "kek.json")

    copy = Database(f"sqlite:///{tmp_path / 'restored' / 'vidoro.db'}",
                    keys=FileKeyStore(tmp_path / "restored" / "keys"))
    try:
        copied = refs(copy)
        assert restored.cases == len(copied) and restored.erased == 0
        # the copy is the database at one moment before its first page was copied: later writes are not in it
        assert 3 < len(copied) <= 3 + at_snapshot[0] < len(live)
        assert set(copied) <= set(live)
        records = [read_case(copy, decider, ref, now=NOW + timedelta(days=1)) for ref in copied]
        assert all(not record.erased and record.person for record in records)  # every case opens
        report = verify(copy, signer.verifier_key)
        assert report.ok, [finding.text() for finding in report.findings]
        assert report.cases == len(copied)
    finally:
        copy.dispose()
        database.dispose()


def test_copy_sqlite_refuses_to_overwrite_a_file(tmp_path):
    database, _ = instance(tmp_path / "live")
    database.dispose()
    (tmp_path / "there.db").write_bytes(b"kept")
    with pytest.raises(FileExistsError):
        copy_sqlite(tmp_path / "live" / "vidoro.db", tmp_path / "there.db")
    assert (tmp_path / "there.db").read_bytes() == b"kept"


def test_the_manifest_is_written_last_and_names_every_file_with_its_hash(tmp_path):
    database, _ = instance(tmp_path / "live")
    try:
        manifest = take_backup(database, tmp_path / "live" / "keys", tmp_path / "backup")
    finally:
        database.dispose()
    backup = tmp_path / "backup"
    assert all(p.stat().st_mtime_ns <= (backup / "manifest.json").stat().st_mtime_ns for p in backup.iterdir())
    body = json.loads((backup / "manifest.json").read_text())
    assert set(body["files"]) == {"vidoro.db", "keyring.db", "log-signing.json"} == set(manifest.files)
    assert all(len(entry["sha256"]) == 64 for entry in body["files"].values())
    assert body["vidoro"] and body["revision"] == manifest.revision and body["keks"] == {}


def test_restore_refuses_a_backup_of_a_schema_this_vidoro_does_not_know(tmp_path):
    database, _ = instance(tmp_path / "live")
    try:
        take_backup(database, tmp_path / "live" / "keys", tmp_path / "backup")
    finally:
        database.dispose()
    manifest = tmp_path / "backup" / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"revision": "', '"revision": "9'))
    with pytest.raises(BackupRefused, match=r"was taken by another \(newer\) vidoro"):
        restore(tmp_path / "backup", url=f"sqlite:///{tmp_path / 'other' / 'vidoro.db'}",
                keys=tmp_path / "other" / "keys", keks=tmp_path / "live" / "keys")
    assert not (tmp_path / "other").exists()


def test_a_keks_copy_is_not_an_instance_backup_and_the_other_way_round(tmp_path):
    database, _ = instance(tmp_path / "live")
    try:
        take_backup(database, tmp_path / "live" / "keys", tmp_path / "backup")
    finally:
        database.dispose()
    copy_keks(tmp_path / "live" / "keys", tmp_path / "keks")
    target = dict(url=f"sqlite:///{tmp_path / 'other' / 'vidoro.db'}", keys=tmp_path / "other" / "keys")
    with pytest.raises(BackupRefused, match="is not a backup taken by `vidoro backup -o`"):
        restore(tmp_path / "keks", keks=tmp_path / "keks", **target)
    with pytest.raises(BackupRefused, match="is not a copy of the key-encryption keys"):
        restore(tmp_path / "backup", keks=tmp_path / "backup", **target)
    assert not (tmp_path / "other" / "vidoro.db").exists() and not (tmp_path / "other" / "keys").exists()
    restore(tmp_path / "backup", keks=tmp_path / "keks", **target)
    assert (tmp_path / "other" / "keys" / "kek.json").read_bytes() == (tmp_path / "keks" / "kek.json").read_bytes()


def test_a_case_thinning_erases_between_the_database_copy_and_the_keyring_copy_is_erased_on_restore(tmp_path):
    """The erasure runs inside the backup (after the database's first page is copied, before the keyring is):
    the case is live in the copied database and keyless in the copied keyring. The manifest names it, and
    restore finishes its erasure through thinning's step instead of refusing the whole backup."""
    database, signer = instance(tmp_path / "live")
    staff = {role: add_staff(database, f"{role}-1", f"Test {role}", role, unit="police" if role == "partner"
                             else None) for role in ROLES}
    old = [register_concern(database, staff["reporter"], form(n), now=OLD).ref for n in (1, 2)]
    for ref in old:
        drive(database, staff, ref, CLOSE, OLD)
    kept = register_concern(database, staff["reporter"], form(3), now=NOW).ref
    erased: list[object] = []

    def erase_during_the_copy(done: int, total: int) -> None:
        if not erased:  # the database's snapshot is taken and the keyring not yet copied
            erased.append(erase_case(database, old[0], now=NOW))

    try:
        manifest = take_backup(database, tmp_path / "live" / "keys", tmp_path / "backup", pages=1,
                               progress=erase_during_the_copy)
        assert erased and erased[0] is not None
        ids = _ids(database)
    finally:
        database.dispose()
    assert manifest.erased_meanwhile == [ids[old[0]]]
    assert json.loads((tmp_path / "backup" / "manifest.json").read_text())["erased_meanwhile"] == [ids[old[0]]]

    restored = restore(tmp_path / "backup", url=f"sqlite:///{tmp_path / 'restored' / 'vidoro.db'}",
                       keys=tmp_path / "restored" / "keys", keks=tmp_path / "live" / "keys", now=NOW)

    assert restored.finished == (old[0],) and restored.unfinished == (), restored
    assert restored.cases == 3 and restored.erased == 1
    copy = Database(f"sqlite:///{tmp_path / 'restored' / 'vidoro.db'}",
                    keys=FileKeyStore(tmp_path / "restored" / "keys"))
    try:
        records = {ref: read_case(copy, staff["decider"], ref, now=NOW) for ref in (*old, kept)}
        assert records[old[0]].erased and not records[old[1]].erased and not records[kept].erased
        assert records[old[1]].person and records[kept].person
        report = verify(copy, signer.verifier_key)
        assert report.ok, [finding.text() for finding in report.findings]
    finally:
        copy.dispose()


def test_a_keyless_case_the_manifest_does_not_name_still_refuses_the_restore(tmp_path):
    database, _ = instance(tmp_path / "live")
    reporter = add_staff(database, "reporter-1", "Test reporter", "reporter")
    refs_ = [register_concern(database, reporter, form(n), now=NOW).ref for n in (1, 2)]
    ids = _ids(database)
    lost: list[str] = []

    def lose_a_key(done: int, total: int) -> None:
        if not lost:  # a key gone without an erasure: the live case is not erased
            database.keys.destroy_data_key(ids[refs_[0]])  # type: ignore[union-attr]
            lost.append(refs_[0])

    try:
        manifest = take_backup(database, tmp_path / "live" / "keys", tmp_path / "backup", pages=1, progress=lose_a_key)
    finally:
        database.dispose()
    assert lost and manifest.erased_meanwhile == []
    with pytest.raises(BackupRefused, match="has no data key for 1 of the 2 cases"):
        restore(tmp_path / "backup", url=f"sqlite:///{tmp_path / 'other' / 'vidoro.db'}",
                keys=tmp_path / "other" / "keys", keks=tmp_path / "live" / "keys", now=NOW)
    assert not (tmp_path / "other" / "vidoro.db").exists() and not (tmp_path / "other" / "keys").exists()


def _ids(database: Database) -> dict[str, str]:
    with database.read() as session:
        return {ref: i for ref, i in session.execute(select(Case.ref, Case.id))}
