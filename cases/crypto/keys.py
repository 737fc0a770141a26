"""Key material, kept outside the case database: key-encryption keys, the blind-index key, and data keys.

The case database holds only ciphertext. Each case's data key lives in the key store, wrapped by a
versioned key-encryption key (KEK). So a copy of the case database reveals nothing, and destroying a
case's data key makes its personal data unreadable everywhere — also in database backups taken before.

`FileKeyStore` is the embedded default: `keys/kek.json` (the KEKs and the index key, owner-only) and
`keys/keyring.db` (the wrapped data keys, SQLite with secure_delete so destroyed keys are overwritten).
A key service implements the same `KeyStore` protocol.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cases.crypto.keyfiles import b64 as _b64
from cases.crypto.keyfiles import connect as _connect
from cases.crypto.keyfiles import file_lock as _file_lock
from cases.crypto.keyfiles import fingerprint as _fingerprint
from cases.crypto.keyfiles import private as _private
from cases.crypto.keyfiles import replace_and_shred, write_private
from cases.errors import KeyDestroyed, KeyMaterialError, KeysStillWrapped

__all__ = ["FileKeyStore", "KeyStore", "MemoryKeyStore"]

KEY_BYTES = 32
_FORMAT = 1


class KeyStore(Protocol):
    """Where data keys are made, kept wrapped, found, re-wrapped and destroyed."""

    def create_data_key(self, case_id: str) -> bytes: ...
    def data_key(self, case_id: str) -> bytes: ...
    def destroy_data_key(self, case_id: str) -> None: ...
    def index_key(self) -> bytes: ...
    def kek_versions(self) -> dict[int, int]: ...
    def add_kek(self) -> int: ...
    def rewrap(self, batch: int = 500, progress: Callable[[int], None] | None = None) -> int: ...
    def retire_keks(self) -> list[int]: ...
    def retired_keks(self) -> list[int]: ...


def _wrap(kek: bytes, dek: bytes, case_id: str, version: int) -> bytes:
    nonce = secrets.token_bytes(12)
    return nonce + AESGCM(kek).encrypt(nonce, dek, _wrap_ad(case_id, version))


def _unwrap(kek: bytes, wrapped: bytes, case_id: str, version: int) -> bytes:
    return AESGCM(kek).decrypt(wrapped[:12], wrapped[12:], _wrap_ad(case_id, version))


def _wrap_ad(case_id: str, version: int) -> bytes:
    return f"vidoro/dek/1|{case_id}|kek{version}".encode()


class FileKeyStore:
    """The embedded key store: a KEK file and a keyring database in the instance's `keys/` folder."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.kek_file = self.folder / "kek.json"
        self.keyring_file = self.folder / "keyring.db"
        self._lock = threading.Lock()
        self._keks, self._current, self._index = self._read_kek_file()
        if not self.keyring_file.exists():
            raise KeyMaterialError(
                f"keyring {self.keyring_file}", "is missing; restore it from the key backup (without it no case "
                "can be read), or run `vidoro init` for a new, empty instance",
                "saknas; återställ den från nyckelsäkerhetskopian (utan den kan inget ärende läsas), eller kör "
                "`vidoro init` för en ny, tom instans")
        self._local = threading.local()
        self._kek_stamp = _stamp(self.kek_file)
        self._check_fingerprints()
        self._forget_retired()

    # --- creating and opening -------------------------------------------------------------------------

    @classmethod
    def create(cls, folder: str | Path) -> FileKeyStore:
        """Create the key material if there is none (owner-only); an existing store is opened, never replaced."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        kek_file = folder / "kek.json"
        if not kek_file.exists():
            if (folder / "keyring.db").exists():
                raise KeyMaterialError(
                    f"key file {kek_file}", "is missing but the keyring exists; restore kek.json from the key "
                    "backup — a new key would make every case unreadable",
                    "saknas men nyckelringen finns; återställ kek.json från nyckelsäkerhetskopian — en ny nyckel "
                    "skulle göra alla ärenden oläsbara")
            body = {"format": _FORMAT, "current": 1, "keks": {"1": _b64(secrets.token_bytes(KEY_BYTES))},
                    "index_key": _b64(secrets.token_bytes(KEY_BYTES)), "created": datetime.now(UTC).isoformat()}
            write_private(kek_file, json.dumps(body, indent=1))
        keyring = folder / "keyring.db"
        with closing(_connect(keyring)) as connection, connection:
            connection.execute(
                "CREATE TABLE IF NOT EXISTS data_keys (case_id TEXT PRIMARY KEY, kek_version INTEGER NOT NULL, "
                "wrapped BLOB NOT NULL, created_at TEXT NOT NULL)")
            connection.execute("CREATE INDEX IF NOT EXISTS ix_data_keys_version ON data_keys (kek_version)")
            connection.execute("CREATE TABLE IF NOT EXISTS fingerprints (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
            connection.execute(_RETIRED_TABLE)
        _private(keyring)
        store = cls(folder)  # validates kek.json, and checks it against fingerprints already recorded
        with store._db() as connection:
            for name, key in (*((f"kek{v}", k) for v, k in store._keks.items()), ("index", store._index)):
                connection.execute("INSERT OR IGNORE INTO fingerprints VALUES (?, ?)", (name, _fingerprint(key)))
        return store

    def _check_fingerprints(self) -> None:
        """Every key in kek.json must be the one this keyring was made with: another instance's valid key file
        would otherwise wrap new data keys under a key that opens none of the old ones."""
        try:
            stored = dict(self._db().execute("SELECT name, value FROM fingerprints"))
        except sqlite3.DatabaseError:
            raise KeyMaterialError(f"keyring {self.keyring_file}", "is not a vidoro keyring or is damaged; restore "
                                   "it from the key backup", "är ingen vidoro-nyckelring eller är skadad; återställ "
                                   "den från nyckelsäkerhetskopian") from None
        keys = {**{f"kek{v}": k for v, k in self._keks.items()}, "index": self._index}
        for name, key in keys.items():
            if name in stored and stored[name] != _fingerprint(key):
                raise KeyMaterialError(
                    f"key file {self.kek_file}", f"does not belong to this keyring ({name} differs); restore "
                    "kek.json from the key backup",
                    f"hör inte till denna nyckelring ({name} skiljer sig); återställ instansens kek.json från "
                    "nyckelsäkerhetskopian")

    def _read_kek_file(self) -> tuple[dict[int, bytes], int, bytes]:
        what = f"key file {self.kek_file}"
        try:
            body = json.loads(self.kek_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise KeyMaterialError(what, "is missing; run `vidoro init` for a new instance, or restore it from "
                                   "the key backup", "saknas; kör `vidoro init` för en ny instans, eller återställ "
                                   "den från nyckelsäkerhetskopian") from None
        except (OSError, ValueError):
            raise KeyMaterialError(what, "cannot be read or is not valid JSON; restore it from the key backup",
                                   "kan inte läsas eller är inte giltig JSON; återställ den från "
                                   "nyckelsäkerhetskopian") from None
        try:
            keks = {int(v): base64.b64decode(k, validate=True) for v, k in body["keks"].items()}
            current, index = int(body["current"]), base64.b64decode(body["index_key"], validate=True)
            if body.get("format") != _FORMAT or current not in keks or any(
                    len(k) != KEY_BYTES for k in (*keks.values(), index)):
                raise ValueError
        except (KeyError, TypeError, ValueError):
            raise KeyMaterialError(what, "is corrupted (a key is missing or has the wrong length); restore it "
                                   "from the key backup", "är skadad (en nyckel saknas eller har fel längd); "
                                   "återställ den från nyckelsäkerhetskopian") from None
        return keks, current, index

    def _db(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = _connect(self.keyring_file)
            self._local.connection = connection
        return connection

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    # --- data keys ------------------------------------------------------------------------------------

    def create_data_key(self, case_id: str) -> bytes:
        self._reload_if_changed()  # a rotation elsewhere made a new KEK current: wrap new keys under it
        dek = secrets.token_bytes(KEY_BYTES)
        wrapped = _wrap(self._keks[self._current], dek, case_id, self._current)
        with self._db() as connection:
            connection.execute("INSERT INTO data_keys VALUES (?, ?, ?, ?)",
                               (case_id, self._current, wrapped, datetime.now(UTC).isoformat()))
        return dek

    def data_key(self, case_id: str) -> bytes:
        self._reload_if_changed()  # a retirement elsewhere: forget the retired keys here too
        row = self._db().execute("SELECT kek_version, wrapped FROM data_keys WHERE case_id = ?",
                                 (case_id,)).fetchone()
        if row is None:
            raise KeyDestroyed(case_id)
        version, wrapped = row
        kek = self._keks.get(version)
        if kek is None:
            self._reload()
            kek = self._keks.get(version)
        if kek is None and version in self.retired_keks():
            raise KeyDestroyed(case_id)  # a wrapping restored from a copy, under a key destroyed since
        if kek is None:
            raise KeyMaterialError(f"key-encryption key {version} in {self.kek_file}",
                                   "is missing; restore kek.json from the key backup",
                                   "saknas; återställ kek.json från nyckelsäkerhetskopian")
        try:
            return _unwrap(kek, wrapped, case_id, version)
        except InvalidTag:
            raise KeyMaterialError(f"key-encryption key {version} in {self.kek_file}",
                                   "does not open the data keys (wrong or replaced key file); restore kek.json "
                                   "from the key backup", "öppnar inte datanycklarna (fel eller utbytt nyckelfil); "
                                   "återställ kek.json från nyckelsäkerhetskopian") from None

    def destroy_data_key(self, case_id: str) -> None:
        """Delete the wrapped key and overwrite its bytes (secure_delete), then drop it from the WAL too."""
        connection = self._db()
        with connection:
            connection.execute("DELETE FROM data_keys WHERE case_id = ?", (case_id,))
        for _ in range(50):  # a reader may hold the WAL for a moment; the overwritten page must leave it
            busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if not busy:
                return
            time.sleep(0.05)

    def index_key(self) -> bytes:
        return self._index

    # --- rotation -------------------------------------------------------------------------------------

    def kek_versions(self) -> dict[int, int]:
        """Every KEK version and how many data keys it wraps now."""
        counts = dict(self._db().execute("SELECT kek_version, count(*) FROM data_keys GROUP BY kek_version"))
        return {version: counts.get(version, 0) for version in sorted(self._keks)}

    def add_kek(self) -> int:
        """Add a new KEK and make it current; new data keys are wrapped by it from now on."""
        with self._lock, _file_lock(self.folder / "kek.lock"):
            self._reload()
            body = json.loads(self.kek_file.read_text(encoding="utf-8"))
            version = max(int(v) for v in body["keks"]) + 1
            key = secrets.token_bytes(KEY_BYTES)
            body["keks"][str(version)] = _b64(key)
            body["current"] = version
            with self._db() as connection:  # the fingerprint first: a key file never holds an unknown key
                connection.execute("INSERT OR REPLACE INTO fingerprints VALUES (?, ?)",
                                   (f"kek{version}", _fingerprint(key)))
            write_private(self.kek_file, json.dumps(body, indent=1))
            self._reload()
        return version

    def rewrap(self, batch: int = 500, progress: Callable[[int], None] | None = None) -> int:
        """Re-wrap every data key not under the current KEK, a batch per transaction; returns how many.

        Each batch commits on its own, so an interrupted rotation loses nothing and the next run goes on where
        it stopped; readers unwrap with the version each row names, so nothing is ever unreadable.
        """
        self._reload()
        done, connection = 0, self._db()
        with connection:
            connection.execute(_RETIRED_TABLE)
        while True:
            with connection:
                rows = connection.execute(  # not under a retired KEK: nothing opens those (restored copies)
                    "SELECT case_id, kek_version, wrapped FROM data_keys WHERE kek_version != ? AND kek_version "
                    "NOT IN (SELECT version FROM retired_keks) LIMIT ?", (self._current, batch)).fetchall()
                for case_id, version, wrapped in rows:
                    dek = _unwrap(self._keks[version], wrapped, case_id, version)
                    connection.execute(
                        "UPDATE data_keys SET kek_version = ?, wrapped = ? WHERE case_id = ? AND kek_version = ?",
                        (self._current, _wrap(self._keks[self._current], dek, case_id, self._current),
                         case_id, version))
            done += len(rows)
            if progress and rows:
                progress(len(rows))
            if len(rows) < batch:
                return done

    # --- retirement ------------------------------------------------------------------------------------

    def retired_keks(self) -> list[int]:
        """The KEK versions destroyed by `retire_keks`."""
        connection = self._db()
        if not connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'retired_keks'").fetchone():
            return []  # a keyring made before retirement existed, never retired from
        return [v for (v,) in connection.execute("SELECT version FROM retired_keks ORDER BY version")]

    def retire_keks(self) -> list[int]:
        """Destroy every old KEK that wraps no data key any more; returns the versions destroyed.

        Without this, every KEK ever made stays in kek.json, and a wrapped data key copied from a backup of the
        keyring (an erased case's, say) would open with today's key file. Refuses, destroying nothing, while an
        old version still wraps data keys (`KeysStillWrapped`). The keyring records each retired version first,
        so a crash halfway is finished by the next run, and a kek.json restored from an older backup does not
        bring a retired key back into use; then kek.json is rewritten without them and the old file's bytes
        are overwritten (`keyfiles.replace_and_shred`).
        """
        with self._lock, _file_lock(self.folder / "kek.lock"):  # no rotation adds a key meanwhile
            self._reload()
            connection = self._db()
            with connection:
                connection.execute("BEGIN IMMEDIATE")  # no data key is re-wrapped while we count
                counts = dict(connection.execute(
                    "SELECT kek_version, count(*) FROM data_keys GROUP BY kek_version"))
                retired = set(self.retired_keks())  # a wrapping under one of these opens with nothing: ignore it
                wrapping = {v: n for v, n in counts.items() if v != self._current and v not in retired}
                if wrapping:
                    raise KeysStillWrapped(wrapping)
                connection.execute(_RETIRED_TABLE)
                body = json.loads(self.kek_file.read_text(encoding="utf-8"))
                doomed = sorted(int(v) for v in body["keks"] if int(v) != self._current)
                connection.executemany("INSERT OR IGNORE INTO retired_keks VALUES (?, ?)",
                                       [(v, datetime.now(UTC).isoformat()) for v in doomed if v not in retired])
            if doomed:
                body["keks"] = {v: k for v, k in body["keks"].items() if int(v) == self._current}
                replace_and_shred(self.kek_file, json.dumps(body, indent=1))
            self._reload()
        return doomed

    def _forget_retired(self) -> None:
        """Never use a retired KEK, even if a kek.json restored from an older backup holds it again."""
        retired = self.retired_keks()
        if self._current in retired:
            raise KeyMaterialError(
                f"key file {self.kek_file}", f"is older than the keyring (its current key {self._current} was "
                "retired); restore the newest kek.json from the key backup",
                f"är äldre än nyckelringen (dess aktuella nyckel {self._current} är avvecklad); återställ den "
                "senaste kek.json från nyckelsäkerhetskopian")
        for version in retired:
            self._keks.pop(version, None)

    def _reload(self) -> None:
        self._kek_stamp = _stamp(self.kek_file)
        self._keks, self._current, self._index = self._read_kek_file()
        self._forget_retired()

    def _reload_if_changed(self) -> None:
        try:
            changed = _stamp(self.kek_file) != self._kek_stamp
        except OSError:
            changed = True
        if changed:
            self._reload()
            self._check_fingerprints()


_RETIRED_TABLE = "CREATE TABLE IF NOT EXISTS retired_keks (version INTEGER PRIMARY KEY, retired_at TEXT NOT NULL)"


def _stamp(path: Path) -> tuple[int, int]:
    """Changes whenever the file is replaced (a new inode) or written."""
    status = path.stat()
    return status.st_ino, status.st_mtime_ns


class MemoryKeyStore:
    """A key store in memory, for tests and benchmarks that do not exercise the files."""

    def __init__(self) -> None:
        self._keks, self._current = {1: secrets.token_bytes(KEY_BYTES)}, 1
        self._index = secrets.token_bytes(KEY_BYTES)
        self._wrapped: dict[str, tuple[int, bytes]] = {}
        self._retired: list[int] = []

    def create_data_key(self, case_id: str) -> bytes:
        dek = secrets.token_bytes(KEY_BYTES)
        self._wrapped[case_id] = (self._current, _wrap(self._keks[self._current], dek, case_id, self._current))
        return dek

    def data_key(self, case_id: str) -> bytes:
        if case_id not in self._wrapped:
            raise KeyDestroyed(case_id)
        version, wrapped = self._wrapped[case_id]
        return _unwrap(self._keks[version], wrapped, case_id, version)

    def destroy_data_key(self, case_id: str) -> None:
        self._wrapped.pop(case_id, None)

    def index_key(self) -> bytes:
        return self._index

    def kek_versions(self) -> dict[int, int]:
        counts = {v: 0 for v in self._keks}
        for version, _ in self._wrapped.values():
            counts[version] += 1
        return counts

    def add_kek(self) -> int:
        self._current = max(self._keks) + 1
        self._keks[self._current] = secrets.token_bytes(KEY_BYTES)
        return self._current

    def rewrap(self, batch: int = 500, progress: Callable[[int], None] | None = None) -> int:
        stale = [c for c, (v, _) in self._wrapped.items() if v != self._current]
        for case_id in stale:
            dek = self.data_key(case_id)
            self._wrapped[case_id] = (self._current, _wrap(self._keks[self._current], dek, case_id, self._current))
        return len(stale)

    def retire_keks(self) -> list[int]:
        wrapping = {v: n for v, n in self.kek_versions().items() if n and v != self._current}
        if wrapping:
            raise KeysStillWrapped(wrapping)
        doomed = sorted(v for v in self._keks if v != self._current)
        for version in doomed:
            del self._keks[version]
        self._retired.extend(doomed)
        return doomed

    def retired_keks(self) -> list[int]:
        return sorted(self._retired)
