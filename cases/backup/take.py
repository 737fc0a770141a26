"""Taking a backup while vidoro runs: the database, then the keyring, then the log signing key, then the manifest.

The SQLite files are copied through SQLite's online backup API inside one read transaction on the source, so
the copy is the database as it was at one moment however much is written meanwhile (in WAL mode the writers
are never blocked, and a held snapshot never makes the copy restart). The keyring is copied AFTER the database:
every case in the copied database then has its data key in the copied keyring (a key added later is one too
many, and harmless), except a case thinning erased in between: it is live in the copied database and keyless
in the copied keyring. Those are found once both are copied, checked erased in the live database, and named (by
id) in the manifest, for restore to finish their erasure (`erased_meanwhile`). On PostgreSQL the database is
the operator's to copy with its own tools (pg_dump, pg_basebackup) BEFORE this runs, for the same reason.

The key-encryption keys (`kek.json`) are never in an instance backup: `copy_keks` copies them on their own,
for a separate, offline medium. Without them the copied keyring opens nothing; once they are rotated and the
old ones retired, an older backup's keyring opens nothing either, which is how an erasure reaches backups.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import make_url, select
from sqlalchemy.orm import Session

from cases.audit.signing import SIGNING_FILE, LogSigner
from cases.backup.errors import BackupRefused
from cases.backup.manifest import INSTANCE, KEKS, Manifest, vidoro_version, write_manifest
from cases.crypto.keyfiles import file_lock, fingerprint, write_private
from cases.crypto.keys import FileKeyStore
from cases.db import Database
from cases.flowcharts import every_state, known_charts
from cases.models import Case

__all__ = ["DATABASE_FILE", "KEK_FILE", "KEYRING_FILE", "Progress", "copy_keks", "copy_sqlite", "erasing_states",
           "keyring_case_ids", "keyring_counts", "sqlite_path", "take_backup"]

DATABASE_FILE = "vidoro.db"
KEYRING_FILE = "keyring.db"
KEK_FILE = "kek.json"
PAGES_PER_STEP = 256

Progress = Callable[[int, int], None]
"""Called as pages are copied: (pages copied so far, pages in all), over every file of the backup."""


def take_backup(database: Database, keys: Path, out: Path, *, pages: int = PAGES_PER_STEP,
                progress: Progress | None = None) -> Manifest:
    """Copy the instance into the empty (or new) folder `out`, the KEKs excepted; returns the manifest."""
    FileKeyStore(keys).close()  # broken or mismatched key files stop the backup here, naming them
    LogSigner.open(keys)
    revision = database.current_revision()
    if revision is None:
        raise BackupRefused(f"database {_shown(database.url)}", "is empty: there is nothing to back up; run "
                            "`vidoro init` first", "är tom: det finns inget att säkerhetskopiera; kör `vidoro "
                            "init` först")
    created = _empty_folder(out)
    names: list[str] = []
    try:
        source = sqlite_path(database.url) if database.is_sqlite else None
        # the keyring after the database: every case copied has its key in the copy
        files = [*([(source, DATABASE_FILE)] if source else []), (keys / KEYRING_FILE, KEYRING_FILE)]
        for name in _copy_in_turn(files, out, pages, progress):
            names.append(name)
        if source is not None:
            revision = _revision(out / DATABASE_FILE)
        names.append(SIGNING_FILE)
        write_private(out / SIGNING_FILE, (keys / SIGNING_FILE).read_text(encoding="utf-8"))
        counts, retired = keyring_counts(out / KEYRING_FILE)
        meanwhile = _erased_meanwhile(database, out / DATABASE_FILE, out / KEYRING_FILE) if source else []
        manifest = Manifest(kind=INSTANCE, created=datetime.now(UTC).isoformat(), vidoro=vidoro_version(),
                            database="sqlite" if source else "postgresql", revision=revision,
                            data_keys=counts, retired=retired, erased_meanwhile=meanwhile)
        return write_manifest(out, manifest, names)
    except BaseException:
        _remove(out, names, created)
        raise


def copy_keks(keys: Path, out: Path) -> Manifest:
    """Copy the key-encryption keys (and the blind-index key beside them in `kek.json`) into `out`, alone."""
    FileKeyStore(keys).close()  # a broken or foreign kek.json is not worth keeping: stop here
    created = _empty_folder(out)
    try:
        with file_lock(keys / "kek.lock"):  # no rotation or retirement rewrites it meanwhile
            text = (keys / KEK_FILE).read_text(encoding="utf-8")
        body = json.loads(text)
        keks = {int(v): fingerprint(base64.b64decode(k)) for v, k in body["keks"].items()}
        write_private(out / KEK_FILE, text)
        manifest = Manifest(kind=KEKS, created=datetime.now(UTC).isoformat(), vidoro=vidoro_version(),
                            database="", revision=None, keks=keks)
        return write_manifest(out, manifest, [KEK_FILE])
    except BaseException:
        _remove(out, [KEK_FILE], created)
        raise


def copy_sqlite(source: Path, target: Path, *, pages: int = PAGES_PER_STEP,
                progress: Callable[[int, int], None] | None = None) -> int:
    """Copy the SQLite database `source` to the new, owner-only file `target` as it is at one moment; returns
    how many pages it copied.

    The read transaction held on the source across every step fixes the snapshot the copy is made from;
    without it each step would see the writers' latest pages and the copy would start over after every write.
    The copy is one self-contained file (no -wal beside it), checked with `PRAGMA quick_check`.
    """
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    with closing(sqlite3.connect(source, isolation_level=None, timeout=30)) as src, \
            closing(sqlite3.connect(target, isolation_level=None)) as dst:
        src.execute("BEGIN")
        src.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the snapshot starts with this read
        try:
            src.backup(dst, pages=pages, sleep=0,
                       progress=None if progress is None else lambda _s, left, count: progress(count - left, count))
        finally:
            src.execute("COMMIT")
        dst.execute("PRAGMA journal_mode=DELETE")
        (check,) = dst.execute("PRAGMA quick_check").fetchone()
        (copied,) = dst.execute("PRAGMA page_count").fetchone()
    if check != "ok":
        raise BackupRefused(f"copy of {source.name}", "failed its integrity check; take the backup again",
                            "klarade inte integritetskontrollen; ta säkerhetskopian igen")
    return int(copied)


def keyring_counts(ring: Path) -> tuple[dict[int, int], list[int]]:
    """How many data keys each KEK version wraps in a keyring file, and the versions retired in it."""
    with closing(sqlite3.connect(f"file:{ring}?mode=ro", uri=True)) as connection:
        counts = dict(connection.execute("SELECT kek_version, count(*) FROM data_keys GROUP BY kek_version"))
        has_retired = connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'retired_keks'").fetchone()
        retired = [v for (v,) in connection.execute("SELECT version FROM retired_keks ORDER BY version")] \
            if has_retired else []
    return counts, retired


def keyring_case_ids(ring: Path) -> set[str]:
    """The cases a keyring file holds a data key for."""
    with closing(sqlite3.connect(f"file:{ring}?mode=ro", uri=True)) as connection:
        return {case_id for (case_id,) in connection.execute("SELECT case_id FROM data_keys")}


def erasing_states(session: Session) -> set[str]:
    """The states, of every flowchart a case may run on, that erase the case."""
    return {name for name, state in every_state(known_charts(session)).items() if state.erases}


def _erased_meanwhile(database: Database, copy: Path, ring: Path) -> list[str]:
    """The cases live in the database copy without a key in the keyring copy that the live database shows
    erased now: thinning erased them between the two copies. A keyless case not erased live is not named, so
    restore refuses the backup as it should."""
    with closing(sqlite3.connect(f"file:{copy}?mode=ro", uri=True)) as connection:
        copied = connection.execute("SELECT id, state FROM cases").fetchall()
    with database.read() as session:
        erasing = erasing_states(session)
        keyless = [case_id for case_id, state in copied if state not in erasing]
        keyed = keyring_case_ids(ring)
        keyless = [case_id for case_id in keyless if case_id not in keyed]
        if not keyless:
            return []
        live = {i: s for i, s in session.execute(select(Case.id, Case.state).where(Case.id.in_(keyless)))}
    return sorted(case_id for case_id in keyless if live.get(case_id) in erasing)


def sqlite_path(url: str) -> Path:
    name = make_url(url).database
    if not name or name == ":memory:" or name.startswith("file:"):
        raise BackupRefused(f"database {_shown(url)}", "is not a SQLite file vidoro can copy; set "
                            "VIDORO_DATABASE_URL to the instance's file", "är ingen SQLite-fil som vidoro kan "
                            "kopiera; ange instansens fil i VIDORO_DATABASE_URL")
    return Path(name)


def _copy_in_turn(files: list[tuple[Path, str]], out: Path, pages: int,
                  progress: Progress | None) -> Iterator[str]:
    """Copy each SQLite file in turn, reporting progress over them all; yields each name as it is begun."""
    estimates = [_page_count(source) for source, _ in files]
    finished = 0
    for index, (source, name) in enumerate(files):
        later = sum(estimates[index + 1:])

        def step(copied: int, count: int, finished: int = finished, later: int = later) -> None:
            if progress is not None:
                progress(finished + copied, finished + count + later)

        yield name
        finished += copy_sqlite(source, out / name, pages=pages, progress=step)


def _page_count(path: Path) -> int:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        return int(connection.execute("PRAGMA page_count").fetchone()[0])


def _revision(path: Path) -> str | None:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        if not connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'alembic_version'").fetchone():
            return None
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        return row[0] if row else None


def _empty_folder(out: Path) -> bool:
    """Make `out` (owner-only) if it is not there; refuse one that holds anything. True if it was made here."""
    if out.exists():
        if not out.is_dir() or any(out.iterdir()):
            raise BackupRefused(f"folder {out}", "is not empty; give a new or empty folder for the backup",
                                "är inte tom; ange en ny eller tom mapp för säkerhetskopian")
        return False
    out.mkdir(parents=True, mode=0o700)
    os.chmod(out, 0o700)
    return True


def _remove(out: Path, names: list[str], created: bool) -> None:
    """Leave nothing half-written under a backup's name."""
    for name in names:
        (out / name).unlink(missing_ok=True)
    if created:
        shutil.rmtree(out, ignore_errors=True)


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
