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
import fcntl
import hashlib
import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from workflow.errors import VidoroError

__all__ = ["FileKeyStore", "KeyDestroyed", "KeyMaterialError", "KeyStore", "MemoryKeyStore"]

KEY_BYTES = 32
_FORMAT = 1


class KeyMaterialError(VidoroError):
    """A key file is missing, unreadable or wrong; the message names it and what to do."""

    code = "key_material"

    def __init__(self, what: str, todo: str, todo_sv: str) -> None:
        super().__init__(f"{what}: {todo}", message_sv=f"{what}: {todo_sv}")


class KeyDestroyed(VidoroError):
    """The case's data key was destroyed at erasure: its personal data can no longer be read by anyone."""

    code = "key_destroyed"

    def __init__(self, case_id: str) -> None:
        super().__init__(f"the data key of case {case_id} has been destroyed (erased)",
                         message_sv=f"datanyckeln för ärende {case_id} är förstörd (gallrat)")


class KeyStore(Protocol):
    """Where data keys are made, kept wrapped, found, re-wrapped and destroyed."""

    def create_data_key(self, case_id: str) -> bytes: ...
    def data_key(self, case_id: str) -> bytes: ...
    def destroy_data_key(self, case_id: str) -> None: ...
    def index_key(self) -> bytes: ...
    def kek_versions(self) -> dict[int, int]: ...
    def add_kek(self) -> int: ...
    def rewrap(self, batch: int = 500, progress: Callable[[int], None] | None = None) -> int: ...


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
        self._kek_mtime = self.kek_file.stat().st_mtime_ns
        self._check_fingerprints()

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
            _write_private(kek_file, json.dumps(body, indent=1))
        keyring = folder / "keyring.db"
        with closing(_connect(keyring)) as connection, connection:
            connection.execute(
                "CREATE TABLE IF NOT EXISTS data_keys (case_id TEXT PRIMARY KEY, kek_version INTEGER NOT NULL, "
                "wrapped BLOB NOT NULL, created_at TEXT NOT NULL)")
            connection.execute("CREATE INDEX IF NOT EXISTS ix_data_keys_version ON data_keys (kek_version)")
            connection.execute("CREATE TABLE IF NOT EXISTS fingerprints (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
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
        row = self._db().execute("SELECT kek_version, wrapped FROM data_keys WHERE case_id = ?",
                                 (case_id,)).fetchone()
        if row is None:
            raise KeyDestroyed(case_id)
        version, wrapped = row
        kek = self._keks.get(version)
        if kek is None:
            self._reload()
            kek = self._keks.get(version)
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
            _write_private(self.kek_file, json.dumps(body, indent=1))
            self._reload()
        return version

    def rewrap(self, batch: int = 500, progress: Callable[[int], None] | None = None) -> int:
        """Re-wrap every data key not under the current KEK, a batch per transaction; returns how many.

        Each batch commits on its own, so an interrupted rotation loses nothing and the next run goes on where
        it stopped; readers unwrap with the version each row names, so nothing is ever unreadable.
        """
        self._reload()
        done, connection = 0, self._db()
        while True:
            with connection:
                rows = connection.execute(
                    "SELECT case_id, kek_version, wrapped FROM data_keys WHERE kek_version != ? LIMIT ?",
                    (self._current, batch)).fetchall()
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

    def _reload(self) -> None:
        self._kek_mtime = self.kek_file.stat().st_mtime_ns
        self._keks, self._current, self._index = self._read_kek_file()

    def _reload_if_changed(self) -> None:
        try:
            changed = self.kek_file.stat().st_mtime_ns != self._kek_mtime
        except OSError:
            changed = True
        if changed:
            self._reload()
            self._check_fingerprints()


class MemoryKeyStore:
    """A key store in memory, for tests and benchmarks that do not exercise the files."""

    def __init__(self) -> None:
        self._keks, self._current = {1: secrets.token_bytes(KEY_BYTES)}, 1
        self._index = secrets.token_bytes(KEY_BYTES)
        self._wrapped: dict[str, tuple[int, bytes]] = {}

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


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=30, check_same_thread=False)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "secure_delete=ON", "busy_timeout=30000"):
        connection.execute(f"PRAGMA {pragma}")
    _private(path)
    return connection


def _private(path: Path) -> None:
    """The keyring and its WAL and shared-memory files are readable by their owner only."""
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists():
            os.chmod(file, 0o600)


def _fingerprint(key: bytes) -> str:
    """Names a key without revealing it: SHA-256 of a label and the key (keys are 32 random bytes)."""
    return hashlib.sha256(b"vidoro/key-fingerprint/1|" + key).hexdigest()[:32]


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock between processes (two rotations must not both write kek.json)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _write_private(path: Path, text: str) -> None:
    """Write a key file atomically, readable by its owner only, never half-written."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    os.chmod(path, 0o600)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
