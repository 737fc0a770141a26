"""A backup's manifest: what the copy is, from which vidoro and schema, and each file's size and SHA-256.

It is written last, once every file is whole and synced, so a folder without one is a copy that did not
finish; restore reads it first and checks every file against it before anything is put in place.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from cases.backup.errors import BackupRefused
from cases.crypto.keyfiles import sync_folder, write_private

__all__ = ["INSTANCE", "KEKS", "MANIFEST", "FileEntry", "Manifest", "read_manifest", "vidoro_version",
           "write_manifest"]

MANIFEST = "manifest.json"
INSTANCE = "vidoro-backup"  # the database (SQLite) or not (PostgreSQL), the keyring and the log signing key
KEKS = "vidoro-keks"  # the key-encryption keys alone, kept apart from every instance backup
_FORMAT = 1
_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileEntry:
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    kind: str
    created: str
    vidoro: str
    database: str  # "sqlite" (copied here), "postgresql" (copied by its own tools) or "" (the KEKs alone)
    revision: str | None  # the schema revision of the copied database, or of the live one on PostgreSQL
    files: dict[str, FileEntry] = field(default_factory=dict)
    # how many data keys each KEK version wraps in the copied keyring, and the versions retired before it
    data_keys: dict[int, int] = field(default_factory=dict)
    retired: list[int] = field(default_factory=list)
    # the KEK copy: the versions it holds, and their fingerprints (name a key, reveal nothing of it)
    keks: dict[int, str] = field(default_factory=dict)
    # the cases (by id) thinning erased between the database copy and the keyring copy: live in the copied
    # database, keyless in the copied keyring; restore finishes their erasure instead of refusing the backup
    erased_meanwhile: list[str] = field(default_factory=list)
    format: int = _FORMAT

    def to_json(self) -> str:
        body = asdict(self)
        for name in ("data_keys", "keks"):
            body[name] = {str(k): v for k, v in body[name].items()}
        return json.dumps(body, indent=1, sort_keys=True)


def vidoro_version() -> str:
    try:
        return version("vidoro")
    except PackageNotFoundError:  # run from a source tree that was not installed
        return "unknown"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(folder: Path, manifest: Manifest, names: list[str]) -> Manifest:
    """Sync each named file, record its size and hash, and write the manifest last (owner-only)."""
    files = {}
    for name in names:
        path = folder / name
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        files[name] = FileEntry(path.stat().st_size, sha256(path))
    done = Manifest(**{**asdict(manifest), "files": files})
    write_private(folder / MANIFEST, done.to_json())
    sync_folder(folder)
    return done


def read_manifest(folder: Path, kind: str) -> Manifest:
    """The manifest of a copy of `kind`, once every file it lists has the size and hash it records."""
    path = folder / MANIFEST
    what = f"backup {folder}"
    try:
        body: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupRefused(what, f"has no {MANIFEST}: it is not a vidoro backup, or taking it did not finish; "
                            "use another backup", f"saknar {MANIFEST}: det är ingen vidoro-säkerhetskopia, eller "
                            "så blev den inte färdig; använd en annan säkerhetskopia") from None
    except (OSError, ValueError):
        raise BackupRefused(what, f"its {MANIFEST} cannot be read; use another backup",
                            f"dess {MANIFEST} kan inte läsas; använd en annan säkerhetskopia") from None
    try:
        if body.get("format") != _FORMAT:
            raise ValueError
        manifest = Manifest(
            kind=str(body["kind"]), created=str(body["created"]), vidoro=str(body["vidoro"]),
            database=str(body["database"]), revision=body["revision"],
            files={str(n): FileEntry(int(f["size"]), str(f["sha256"])) for n, f in body["files"].items()},
            data_keys={int(v): int(n) for v, n in body["data_keys"].items()},
            retired=[int(v) for v in body["retired"]], keks={int(v): str(f) for v, f in body["keks"].items()},
            erased_meanwhile=[str(c) for c in body.get("erased_meanwhile", [])])
    except (KeyError, TypeError, ValueError, AttributeError):
        raise BackupRefused(what, f"its {MANIFEST} is of another format or damaged; use another backup",
                            f"dess {MANIFEST} har ett annat format eller är skadad; använd en annan "
                            "säkerhetskopia") from None
    if manifest.kind != kind:
        wanted = "a backup taken by `vidoro backup -o`" if kind == INSTANCE else \
            "a copy of the key-encryption keys taken by `vidoro backup --keks-only -o`"
        wanted_sv = "en säkerhetskopia tagen med `vidoro backup -o`" if kind == INSTANCE else \
            "en kopia av nyckelkrypteringsnycklarna tagen med `vidoro backup --keks-only -o`"
        raise BackupRefused(what, f"is not {wanted}", f"är inte {wanted_sv}")
    for name, entry in manifest.files.items():
        file = folder / name
        if Path(name).name != name or not file.is_file():
            raise BackupRefused(f"{what}, file {name}", "is missing; the backup is incomplete, use another one",
                                "saknas; säkerhetskopian är ofullständig, använd en annan")
        if file.stat().st_size != entry.size or sha256(file) != entry.sha256:
            raise BackupRefused(f"{what}, file {name}", "does not match the manifest (changed or damaged since "
                                "the backup was taken); use another backup", "stämmer inte med manifestet "
                                "(ändrad eller skadad sedan säkerhetskopian togs); använd en annan")
    return manifest
