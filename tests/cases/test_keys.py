"""The key store (DESIGN.md §4): owner-only key files, broken key files named with what to do, and KEK
rotation that can be interrupted anywhere (an exception, or SIGKILL of `vidoro keys rotate`) and finished
later, with every data key unchanged and every read working throughout.

VIDORO_ROTATION_SEED replays the random interruption points.
"""

from __future__ import annotations

import base64
import gc
import json
import os
import random
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from cases import ConcernForm, register_concern
from cases.casework.access import read_case
from cases.crypto import keys as keys_module
from cases.crypto.identity import generate_identity_number
from cases.crypto.keys import FileKeyStore, MemoryKeyStore
from cases.errors import KeyDestroyed, KeyMaterialError, KeysStillWrapped
from tests.cases.route_v2 import PATHS, drive
from tests.conftest import NOW
from web.cli import main

SEED = int(os.environ.get("VIDORO_ROTATION_SEED") or random.randrange(2**32))
VIDORO = Path(sys.executable).with_name("vidoro")


class Interrupted(Exception):
    """Raised from a progress callback: the rotation stops between two batches."""


@pytest.fixture
def folder(tmp_path) -> Path:
    return tmp_path / "keys"


def rng_for(name: str) -> random.Random:
    return random.Random(f"{SEED}/{name}")


def fill(folder: Path, count: int, prefix: str = "case") -> dict[str, bytes]:
    """`count` data keys made through the store; durability is switched off for this setup connection only."""
    store = FileKeyStore(folder)
    store._db().execute("PRAGMA synchronous=OFF")
    try:
        return {f"{prefix}-{i:05d}": store.create_data_key(f"{prefix}-{i:05d}") for i in range(count)}
    finally:
        store.close()


def keyring_rows(folder: Path) -> dict[str, tuple[int, bytes]]:
    ring = sqlite3.connect(f"file:{folder / 'keyring.db'}?mode=ro", uri=True)
    try:
        return {case_id: (version, wrapped) for case_id, version, wrapped in
                ring.execute("SELECT case_id, kek_version, wrapped FROM data_keys")}
    finally:
        ring.close()


def assert_keys_unchanged(folder: Path, deks: dict[str, bytes], *, sample: int | None = None) -> None:
    """A store opened afresh (as another process would) unwraps every data key to the same bytes."""
    store = FileKeyStore(folder)
    try:
        ids = sorted(deks) if sample is None else rng_for("sample").sample(sorted(deks), sample)
        changed = [case_id for case_id in ids if store.data_key(case_id) != deks[case_id]]
    finally:
        store.close()
    assert not changed, f"data keys changed: {changed[:5]} (seed {SEED})"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- creating and opening ------------------------------------------------------------------------------------


@pytest.mark.parametrize("existing", [False, True], ids=["new folder", "existing open folder"])
def test_create_makes_owner_only_key_files_in_a_private_folder(folder, existing):
    if existing:
        folder.mkdir(mode=0o755)
        folder.chmod(0o755)
    store = FileKeyStore.create(folder)
    try:
        assert mode(folder) == 0o700
        assert mode(folder / "kek.json") == 0o600
        assert mode(folder / "keyring.db") == 0o600
        body = json.loads((folder / "kek.json").read_text(encoding="utf-8"))
        assert body["current"] == 1
        assert len(base64.b64decode(body["keks"]["1"])) == 32 and len(base64.b64decode(body["index_key"])) == 32
        assert store.kek_versions() == {1: 0}
        assert not list(folder.glob("*.tmp"))
    finally:
        store.close()


def test_every_file_in_the_key_folder_is_owner_only(folder):
    old_umask = os.umask(0o022)
    gc.disable()  # as in a process where the collector has not run yet
    try:
        store = FileKeyStore.create(folder)
        store.create_data_key("case-1")
        files = {p.name: oct(mode(p)) for p in folder.iterdir()}
        store.close()
    finally:
        gc.enable()
        os.umask(old_umask)
    gc.collect()
    assert {name for name, m in files.items() if m != oct(0o600)} == set(), files


def test_create_again_keeps_the_same_keys(folder):
    first = FileKeyStore.create(folder)
    dek = first.create_data_key("case-1")
    kek_file, index = (folder / "kek.json").read_bytes(), first.index_key()
    first.close()
    again = FileKeyStore.create(folder)
    try:
        assert (folder / "kek.json").read_bytes() == kek_file
        assert again.index_key() == index
        assert again.data_key("case-1") == dek
        assert again.kek_versions() == {1: 1}
    finally:
        again.close()


def _edit_kek(folder: Path, change) -> None:
    body = json.loads((folder / "kek.json").read_text(encoding="utf-8"))
    change(body)
    (folder / "kek.json").write_text(json.dumps(body), encoding="utf-8")


def _b64(n: int) -> str:
    return base64.b64encode(os.urandom(n)).decode()


def _other_instance(folder: Path, *, rotated_here: bool) -> None:
    """Put a valid kek.json of another instance in place (after rotating this one first, if asked)."""
    if rotated_here:
        store = FileKeyStore(folder)
        store.add_kek()
        store.rewrap()
        store.close()
    other = FileKeyStore.create(folder.parent / "other-instance")
    other.close()
    (folder / "kek.json").write_bytes((folder.parent / "other-instance" / "kek.json").read_bytes())


# name: (break the folder, the file the message must name, words of what to do)
BROKEN = {
    "no key folder": (shutil.rmtree, "kek.json", "run `vidoro init`"),
    "kek.json missing": (lambda f: (f / "kek.json").unlink(), "kek.json", "restore it from the key backup"),
    "keyring.db missing": (lambda f: (f / "keyring.db").unlink(), "keyring.db", "restore it from the key backup"),
    "kek.json empty": (lambda f: (f / "kek.json").write_text(""), "kek.json", "restore it from the key backup"),
    "kek.json not JSON": (lambda f: (f / "kek.json").write_text('{"format": 1, "cur'), "kek.json", "restore"),
    "kek.json a JSON list": (lambda f: (f / "kek.json").write_text("[1, 2]"), "kek.json", "restore"),
    "kek.json a folder": (lambda f: ((f / "kek.json").unlink(), (f / "kek.json").mkdir()), "kek.json", "restore"),
    "a KEK of the wrong length": (lambda f: _edit_kek(f, lambda b: b["keks"].update({"1": _b64(16)})),
                                  "kek.json", "restore it from the key backup"),
    "the index key of the wrong length": (lambda f: _edit_kek(f, lambda b: b.update(index_key=_b64(31))),
                                          "kek.json", "restore"),
    "a KEK that is not base64": (lambda f: _edit_kek(f, lambda b: b["keks"].update({"1": "not base64!"})),
                                 "kek.json", "restore"),
    "no current key": (lambda f: _edit_kek(f, lambda b: b.update(current=7)), "kek.json", "restore"),
    "current not given": (lambda f: _edit_kek(f, lambda b: b.pop("current")), "kek.json", "restore"),
    "an unknown format": (lambda f: _edit_kek(f, lambda b: b.update(format=2)), "kek.json", "restore"),
    "another instance's kek.json": (lambda f: _other_instance(f, rotated_here=False), "kek.json",
                                    "restore kek.json from the key backup"),
    "another instance's kek.json, this one rotated": (lambda f: _other_instance(f, rotated_here=True), "kek.json",
                                                      "restore kek.json from the key backup"),
}


@pytest.mark.parametrize("damage, named, todo", BROKEN.values(), ids=BROKEN.keys())
def test_broken_key_material_is_named_with_what_to_do(tmp_path, damage, named, todo):
    folder = tmp_path / "keys"
    store = FileKeyStore.create(folder)
    store.create_data_key("case-1")
    store.close()
    body = json.loads((folder / "kek.json").read_text(encoding="utf-8"))
    damage(folder)
    with pytest.raises(KeyMaterialError) as caught:
        store = FileKeyStore(folder)
        try:  # a valid kek.json of the wrong instance shows when the first data key does not unwrap
            store.data_key("case-1")
        finally:
            store.close()
    error = caught.value
    for message in (str(error), error.message_sv):
        assert str(folder / named) in message
    assert todo in str(error)
    assert "\n" not in str(error)
    assert all(key not in str(error) for key in (*body["keks"].values(), body["index_key"]))


def test_create_refuses_a_new_kek_when_the_keyring_exists(folder):
    store = FileKeyStore.create(folder)
    store.create_data_key("case-1")
    store.close()
    (folder / "kek.json").unlink()
    with pytest.raises(KeyMaterialError) as caught:
        FileKeyStore.create(folder)
    assert str(folder / "kek.json") in str(caught.value)
    assert "restore kek.json from the key backup" in str(caught.value)
    assert not (folder / "kek.json").exists()
    assert list(keyring_rows(folder)) == ["case-1"]


def test_create_never_replaces_a_broken_kek_file(folder):
    FileKeyStore.create(folder).close()
    (folder / "kek.json").write_text("{broken")
    with pytest.raises(KeyMaterialError):
        FileKeyStore.create(folder)
    assert (folder / "kek.json").read_text() == "{broken"


def test_a_destroyed_data_key_is_gone_for_good(folder):
    store = FileKeyStore.create(folder)
    try:
        store.create_data_key("case-1")
        kept = store.create_data_key("case-2")
        store.destroy_data_key("case-1")
        with pytest.raises(KeyDestroyed):
            store.data_key("case-1")
        assert store.data_key("case-2") == kept
        assert store.kek_versions() == {1: 1}
    finally:
        store.close()


# --- rotation -----------------------------------------------------------------------------------------------


def test_rotation_rewraps_every_data_key_and_keeps_it(folder):
    FileKeyStore.create(folder).close()
    deks = fill(folder, 300)
    before = keyring_rows(folder)
    store = FileKeyStore(folder)
    try:
        assert store.add_kek() == 2
        assert store.kek_versions() == {1: 300, 2: 0}
        batches: list[int] = []
        assert store.rewrap(batch=64, progress=batches.append) == 300
        assert batches == [64, 64, 64, 64, 44]
        assert store.kek_versions() == {1: 0, 2: 300}
        after = keyring_rows(folder)
        assert all(after[c][0] == 2 and after[c][1] != before[c][1] for c in deks)  # really re-wrapped
        assert_keys_unchanged(folder, deks)
        store.create_data_key("case-new")  # new data keys go under the new KEK at once
        assert store.kek_versions() == {1: 0, 2: 301}
        assert store.rewrap(progress=batches.append) == 0
        assert len(batches) == 5
    finally:
        store.close()


def test_rotation_of_the_memory_store_keeps_every_key():
    store = MemoryKeyStore()
    deks = {f"case-{i}": store.create_data_key(f"case-{i}") for i in range(20)}
    assert store.add_kek() == 2
    assert store.rewrap() == 20
    assert store.kek_versions() == {1: 0, 2: 20}
    assert all(store.data_key(c) == dek for c, dek in deks.items())


def test_an_interrupted_rotation_goes_on_where_it_stopped(folder):
    """Stop after a random number of batches, sometimes rotate again on top of the unfinished one, finish."""
    FileKeyStore.create(folder).close()
    total, batch, rng = 300, 32, rng_for("interrupted")
    deks = fill(folder, total)
    store = FileKeyStore(folder)
    try:
        for trial in range(5):
            current = store.add_kek()
            stop_after = rng.randint(0, -(-total // batch))
            calls = 0

            def progress(done: int, stop_after=stop_after) -> None:
                nonlocal calls
                calls += 1
                if calls == stop_after:
                    raise Interrupted

            if stop_after:
                with pytest.raises(Interrupted):
                    store.rewrap(batch=batch, progress=progress)
            versions = store.kek_versions()
            moved = min(stop_after * batch, total)
            assert versions[current] == moved, f"trial {trial}, stop after {stop_after} (seed {SEED})"
            assert sum(versions.values()) == total
            assert_keys_unchanged(folder, deks, sample=40)  # readable in the middle of a rotation
            if rng.random() < 0.5:
                store.rewrap(batch=batch)
                assert store.kek_versions()[current] == total
        store.rewrap(batch=batch)
        versions = store.kek_versions()
        assert versions[max(versions)] == total and len(versions) == 6
        assert_keys_unchanged(folder, deks)
    finally:
        store.close()


def test_reads_keep_working_during_rotation(folder):
    """One reader on the rotating store, one on a store of its own (as another process); neither may fail."""
    FileKeyStore.create(folder).close()
    deks = fill(folder, 600)
    rotating, ids = FileKeyStore(folder), sorted(deks)
    stop, errors, reads = threading.Event(), [], {"same store": 0, "own store": 0}

    def reader(name: str, store: FileKeyStore | None) -> None:
        store = store or FileKeyStore(folder)
        picker = rng_for(name)
        try:
            while not stop.is_set():
                case_id = picker.choice(ids)
                if store.data_key(case_id) != deks[case_id]:
                    errors.append(f"{name}: {case_id} changed")
                reads[name] += 1
        except Exception as exc:  # any failure is the finding; the thread must not die unreported
            errors.append(f"{name}: {type(exc).__name__}: {exc}")
        finally:
            store.close()  # its own store, or this thread's connection of the shared one

    threads = [threading.Thread(target=reader, args=("same store", rotating)),
               threading.Thread(target=reader, args=("own store", None))]
    for thread in threads:
        thread.start()
    try:
        for _ in range(2):
            rotating.add_kek()
            rotating.rewrap(batch=20, progress=lambda n: time.sleep(0.002))
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        rotating.close()
    assert not errors, errors[:5]
    assert min(reads.values()) >= 50, reads
    assert keyring_rows(folder) and {v for v, _ in keyring_rows(folder).values()} == {3}


def test_a_store_opened_before_a_rotation_elsewhere_wraps_new_keys_under_the_new_kek(folder):
    FileKeyStore.create(folder).close()
    server, admin = FileKeyStore(folder), FileKeyStore(folder)
    try:
        server.create_data_key("before")
        admin.add_kek()
        admin.rewrap()
        server.create_data_key("after")
        assert admin.kek_versions() == {1: 0, 2: 2}
    finally:
        server.close()
        admin.close()


# --- SIGKILL of `vidoro keys rotate`, then --resume, on both databases ------------------------------------------


def moved_count(folder: Path, version: int) -> int:
    ring = sqlite3.connect(f"file:{folder / 'keyring.db'}?mode=ro", uri=True, timeout=5)
    try:
        return ring.execute("SELECT count(*) FROM data_keys WHERE kek_version = ?", (version,)).fetchone()[0]
    finally:
        ring.close()


def kek_version(folder: Path) -> int:
    """The current KEK version as kek.json says (written atomically: never seen half-written)."""
    return json.loads((folder / "kek.json").read_text(encoding="utf-8"))["current"]


def versions_of(folder: Path) -> dict[int, int]:
    store = FileKeyStore(folder)
    try:
        return store.kek_versions()
    finally:
        store.close()


def rotate_and_kill(folder: Path, home: Path, rng: random.Random, when: str | None = None) -> tuple[str, int]:
    """Start `vidoro keys rotate` and SIGKILL it at a random moment; returns when and how many had moved."""
    start_version = kek_version(folder)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("VIDORO_")}
    environment.update(VIDORO_HOME=str(home), VIDORO_KEYS=str(folder))
    rotate = subprocess.Popen([str(VIDORO), "keys", "rotate"], env=environment, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        when = when or rng.choice(["any moment", "once keys move", "once the new KEK is there"])
        deadline = time.monotonic() + 20
        if when == "any moment":
            time.sleep(rng.uniform(0, 1.0))
        else:
            while rotate.poll() is None and time.monotonic() < deadline and kek_version(folder) == start_version:
                time.sleep(0.002)
            if when == "once keys move":
                new = kek_version(folder)
                while rotate.poll() is None and time.monotonic() < deadline and moved_count(folder, new) == 0:
                    time.sleep(0.002)
                time.sleep(rng.uniform(0, 0.03))
    finally:
        rotate.send_signal(signal.SIGKILL)  # also when the test itself fails: never leave it running
        rotate.wait(timeout=20)
    current = kek_version(folder)
    return when, moved_count(folder, current) if current != start_version else -1


@pytest.mark.usefixtures("flowchart_v2")
def test_sigkill_during_vidoro_keys_rotate_then_resume_loses_nothing(db, keys, staff, tmp_path):
    refs = []
    for target in ("investigation", "sig", "closed"):
        child, steps = PATHS[target]
        number = generate_identity_number(NOW.date() - timedelta(days=365 * (14 if child else 30)), 100 + len(refs))
        fired = register_concern(db, staff["reporter"], ConcernForm(
            concern=f"Oro {target}.", reporter_org="school", identity_number=number, given_name=f"Test {target}",
            family_name="Rotationsson"), now=NOW)
        drive(db, staff, fired.ref, steps, NOW)
        refs.append(fired.ref)
    reads = {ref: read_case(db, staff["decider"], ref, now=NOW + timedelta(days=200)) for ref in refs}
    deks = fill(keys.folder, 12_000, prefix="filler")
    total = len(deks) + len(refs)
    rng, home, mid_rotation = rng_for("sigkill"), tmp_path / "home", 0
    for trial in range(2):
        when, moved = rotate_and_kill(keys.folder, home, rng, "once keys move" if trial == 0 else None)
        if 0 < moved < total:
            mid_rotation += 1
        versions = versions_of(keys.folder)
        assert sum(versions.values()) == total, f"trial {trial} ({when}): {versions} (seed {SEED})"
        environment = {key: None for key in os.environ if key.startswith("VIDORO_")}
        environment.update(VIDORO_HOME=str(home), VIDORO_KEYS=str(keys.folder))
        result = CliRunner().invoke(main, ["keys", "rotate", "--resume"], env=environment, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        versions = versions_of(keys.folder)
        assert versions[max(versions)] == total, f"trial {trial} ({when}): {versions} (seed {SEED})"
        assert_keys_unchanged(keys.folder, deks, sample=200)
        for ref, before in reads.items():
            after = read_case(db, staff["decider"], ref, now=NOW + timedelta(days=201))
            assert (after.person, after.concern, after.consents, after.journal) == (
                before.person, before.concern, before.consents, before.journal)
    assert_keys_unchanged(keys.folder, deks)
    assert mid_rotation >= 1, f"no kill landed in the middle of a rotation (seed {SEED})"


# --- retiring old key-encryption keys ---------------------------------------------------------------------------


def restore_wrapping(folder: Path, case_id: str, version: int, wrapped: bytes) -> None:
    """Put a wrapped data key back into the keyring, as someone holding a backup copy of it could."""
    ring = sqlite3.connect(folder / "keyring.db")
    try:
        with ring:
            ring.execute("INSERT OR REPLACE INTO data_keys VALUES (?, ?, ?, 'restored')", (case_id, version, wrapped))
    finally:
        ring.close()


def test_retiring_destroys_the_old_keks_so_a_backup_copy_of_a_wrapped_key_no_longer_opens(folder):
    FileKeyStore.create(folder).close()
    deks = fill(folder, 30)
    backup = keyring_rows(folder)  # every data key wrapped under KEK 1, as a backup of the keyring holds them
    server, admin = FileKeyStore(folder), FileKeyStore(folder)  # a server that loaded the keys before
    try:
        assert server.data_key("case-00000") == deks["case-00000"]
        admin.add_kek()
        admin.rewrap()
        admin.destroy_data_key("case-00000")  # erased after the rotation
        restore_wrapping(folder, "case-00000", *backup["case-00000"])
        assert admin.data_key("case-00000") == deks["case-00000"]  # the weakness: the old KEK still opens it
        admin.destroy_data_key("case-00000")

        assert admin.retire_keks() == [1]
        restore_wrapping(folder, "case-00000", *backup["case-00000"])

        for store in (admin, server):
            with pytest.raises(KeyDestroyed):
                store.data_key("case-00000")
        assert admin.kek_versions() == {2: 29} and admin.retired_keks() == [1]
        assert set(json.loads((folder / "kek.json").read_text())["keks"]) == {"2"}
        assert mode(folder / "kek.json") == 0o600
        assert admin.retire_keks() == []  # nothing left to retire
        assert admin.rewrap() == 0  # the restored wrapping under the retired key is left alone
    finally:
        server.close()
        admin.close()
    del deks["case-00000"]
    assert_keys_unchanged(folder, deks)  # every current case still opens, also in a store opened afresh


def test_retiring_overwrites_the_replaced_key_file(folder):
    FileKeyStore.create(folder).close()
    store = FileKeyStore(folder)
    try:
        store.add_kek()
        old = (folder / "kek.json").read_bytes()
        old_key = json.loads(old)["keks"]["1"].encode()
        os.link(folder / "kek.json", folder / "old-inode")  # a second name keeps the replaced file's bytes visible
        store.retire_keks()
    finally:
        store.close()
    left = (folder / "old-inode").read_bytes()
    assert len(left) == len(old) and left != old and old_key not in left


def test_retiring_refuses_while_an_old_kek_still_wraps_data_keys(folder):
    FileKeyStore.create(folder).close()
    deks = fill(folder, 5)
    store = FileKeyStore(folder)
    try:
        store.add_kek()  # a rotation stopped before re-wrapping
        kek = (folder / "kek.json").read_bytes()
        with pytest.raises(KeysStillWrapped) as refused:
            store.retire_keks()
        assert refused.value.wrapping == {1: 5}
        assert "5 data keys" in str(refused.value) and "vidoro keys rotate" in str(refused.value)
        assert "5 datanycklar" in refused.value.message_sv
        assert (folder / "kek.json").read_bytes() == kek and store.retired_keks() == []
        store.rewrap(batch=2)
        assert store.retire_keks() == [1]
    finally:
        store.close()
    assert_keys_unchanged(folder, deks)


def test_a_retirement_interrupted_before_the_key_file_is_rewritten_is_finished_later(folder, monkeypatch):
    FileKeyStore.create(folder).close()
    deks = fill(folder, 3)
    backup = keyring_rows(folder)
    store = FileKeyStore(folder)
    try:
        store.add_kek()
        store.rewrap()

        def crash(*args):
            raise OSError("disk gone")

        monkeypatch.setattr(keys_module, "replace_and_shred", crash)
        with pytest.raises(OSError):
            store.retire_keks()
        monkeypatch.undo()
        assert set(json.loads((folder / "kek.json").read_text())["keks"]) == {"1", "2"}
        store.destroy_data_key("case-00001")
        restore_wrapping(folder, "case-00001", *backup["case-00001"])
        with pytest.raises(KeyDestroyed):  # recorded as retired first: never used again
            FileKeyStore(folder).data_key("case-00001")
        assert store.retire_keks() == [1]
        assert set(json.loads((folder / "kek.json").read_text())["keks"]) == {"2"}
    finally:
        store.close()
    del deks["case-00001"]
    assert_keys_unchanged(folder, deks)


def test_a_restored_key_file_does_not_bring_a_retired_kek_back(folder):
    FileKeyStore.create(folder).close()
    fill(folder, 2)
    backup = keyring_rows(folder)
    before_rotation = (folder / "kek.json").read_bytes()
    store = FileKeyStore(folder)
    try:
        store.add_kek()
        store.rewrap()
        before_retiring = (folder / "kek.json").read_bytes()
        store.retire_keks()
        store.destroy_data_key("case-00000")
    finally:
        store.close()
    restore_wrapping(folder, "case-00000", *backup["case-00000"])
    (folder / "kek.json").write_bytes(before_retiring)  # still holds KEK 1
    restored = FileKeyStore(folder)
    try:
        with pytest.raises(KeyDestroyed):
            restored.data_key("case-00000")
    finally:
        restored.close()
    (folder / "kek.json").write_bytes(before_rotation)  # KEK 1 is its current key
    with pytest.raises(KeyMaterialError, match="current key 1 was retired"):
        FileKeyStore(folder)


def test_retiring_in_the_memory_store():
    store = MemoryKeyStore()
    kept = store.create_data_key("case-1")
    store.add_kek()
    with pytest.raises(KeysStillWrapped):
        store.retire_keks()
    store.rewrap()
    assert store.retire_keks() == [1] and store.retired_keks() == [1]
    assert store.kek_versions() == {2: 1} and store.data_key("case-1") == kept
