"""The embedded key store's files: the keyring connection, owner-only files, atomic writes, shredding.

Beneath `cases.crypto.keys`; nothing here knows what a key means.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import os
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "b64", "connect", "file_lock", "fingerprint", "private", "replace_and_shred", "sync_folder", "write_private",
]


def connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=30, check_same_thread=False)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "secure_delete=ON", "busy_timeout=30000"):
        connection.execute(f"PRAGMA {pragma}")
    private(path)
    return connection


def private(path: Path) -> None:
    """The keyring and its WAL and shared-memory files are readable by their owner only."""
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists():
            os.chmod(file, 0o600)


def fingerprint(key: bytes) -> str:
    """Names a key without revealing it: SHA-256 of a label and the key (keys are 32 random bytes)."""
    return hashlib.sha256(b"vidoro/key-fingerprint/1|" + key).hexdigest()[:32]


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock between processes (two rotations must not both write kek.json)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def write_private(path: Path, text: str) -> None:
    """Write a key file atomically, readable by its owner only, never half-written."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    os.chmod(path, 0o600)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def replace_and_shred(path: Path, text: str) -> None:
    """Replace a key file atomically and overwrite the bytes of the version it replaces.

    Readers always find a whole file by its name: the new one is written beside it and renamed over it
    (`write_private`). The old file, still held open here, then has no name; its bytes are overwritten with
    random bytes and synced before the last handle closes and its blocks are freed, and the folder is synced
    so the rename is on disk. On copy-on-write file systems and flash, overwriting in place is best effort:
    the keys' safety rests on the file never leaving the machine unencrypted, as for every key file.
    """
    old = os.open(path, os.O_RDWR)
    try:
        size = os.fstat(old).st_size
        write_private(path, text)
        os.pwrite(old, secrets.token_bytes(size), 0)
        os.fsync(old)
    finally:
        os.close(old)
    sync_folder(path.parent)


def sync_folder(folder: Path) -> None:
    """Make a rename or removal in `folder` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
