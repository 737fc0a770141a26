"""Restoring a backup into an empty instance, with the key-encryption keys from where the operator keeps them.

Everything is checked before anything is put in place: the manifest and every file's hash, that the instance
is empty, that the KEKs given belong to the backup's keyring and open a data key under every KEK version it
uses, and that every case in the database that was not erased has its data key. The keys are assembled in a
folder beside the instance's key folder and the SQLite copy in a file beside the database, and each is renamed
into place only then. On PostgreSQL the database is restored first with its own tools (pg_restore); this puts
the key store beside it, and refuses a keyring copied before the database (cases without a key).

The one keyless case accepted is one the manifest names as erased while the backup was taken (thinning ran
between the database copy and the keyring copy): once the instance is in place its erasure is finished through
thinning's own step (`erase_case`), as the system, so the restored instance holds it erased as the live one
does. One that step declines (no longer due in the restored database) is reported by reference, not hidden.
"""

from __future__ import annotations

import secrets
import shutil
import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import select

from cases.audit.signing import SIGNING_FILE
from cases.backup.errors import BackupRefused
from cases.backup.manifest import INSTANCE, KEKS, MANIFEST, read_manifest
from cases.backup.take import (
    DATABASE_FILE,
    KEK_FILE,
    KEYRING_FILE,
    copy_sqlite,
    erasing_states,
    keyring_case_ids,
    sqlite_path,
)
from cases.crypto.keyfiles import sync_folder, write_private
from cases.crypto.keys import FileKeyStore
from cases.db import Database
from cases.errors import KeyDestroyed, KeyMaterialError
from cases.models import Case
from cases.retention.thinning import erase_case

__all__ = ["Restored", "restore"]


@dataclass(frozen=True)
class Restored:
    database: str  # "sqlite" (restored here) or "postgresql" (restored before, with its own tools)
    revision: str | None  # the restored database's schema
    head: str | None  # the schema this vidoro brings it to (`vidoro init`)
    cases: int
    erased: int
    data_keys: int
    # cases erased while the backup was taken, by reference: erasure finished here, or left for the operator
    finished: tuple[str, ...] = ()
    unfinished: tuple[str, ...] = ()


def restore(folder: Path, *, url: str, keys: Path, keks: Path,
            progress: Callable[[int, int], None] | None = None, now: datetime | None = None) -> Restored:
    """Restore the backup in `folder` into the empty instance at `url` and `keys`, with the KEKs in `keks`
    (a copy taken by `copy_keks`, or a `kek.json`); refuse, writing nothing, if anything does not fit. Cases
    the manifest names as erased during the backup have their erasure finished at `now`."""
    manifest = read_manifest(folder, INSTANCE)
    kek_text = _kek_file(keks)
    handle = Database(url)
    try:
        head = _check_target(handle, manifest.database, manifest.revision, keys)
        revision = manifest.revision if handle.is_sqlite else handle.current_revision()  # pg_restore's
        keys.parent.mkdir(parents=True, exist_ok=True)
        if handle.is_sqlite:
            sqlite_path(url).parent.mkdir(parents=True, exist_ok=True)
        stage = keys.parent / f".{keys.name}.restore-{secrets.token_hex(4)}"
        temp = sqlite_path(url).with_name(f".{sqlite_path(url).name}.restore-{secrets.token_hex(4)}") \
            if handle.is_sqlite else None
    finally:
        handle.dispose()
    placed = False
    try:
        data_keys = _stage_keys(folder, stage, kek_text, keks)
        if temp is not None:
            copy_sqlite(folder / DATABASE_FILE, temp, progress=progress)
        cases, erased, without = _cases(f"sqlite:///{temp}" if temp else url, stage / KEYRING_FILE)
        meanwhile = without & set(manifest.erased_meanwhile)
        keyless = len(without - meanwhile)
        if keyless:
            raise BackupRefused(
                f"key store in {folder}", f"has no data key for {keyless} of the {cases} cases in the database "
                "that were not erased: it was copied before the database. Copy the key store after the database "
                "(on PostgreSQL: `vidoro backup` after pg_dump) and restore that copy",
                f"saknar datanyckel för {keyless} av databasens {cases} ärenden som inte gallrats: den kopierades "
                "före databasen. Kopiera nyckellagret efter databasen (på PostgreSQL: `vidoro backup` efter "
                "pg_dump) och återställ den kopian")
        _put_in_place(stage, keys)  # the keys first: a database without its keys would be an instance half there
        if temp is not None:
            target = sqlite_path(url)
            temp.replace(target)
            sync_folder(target.parent)
        placed = True
    finally:
        if not placed:
            shutil.rmtree(stage, ignore_errors=True)
            if temp is not None:
                temp.unlink(missing_ok=True)
    finished, unfinished = _finish_erasures(url, keys, meanwhile, now or datetime.now(UTC)) if meanwhile \
        else ((), ())
    return Restored(database=manifest.database, revision=revision, head=head, cases=cases,
                    erased=erased + len(finished), data_keys=data_keys, finished=finished, unfinished=unfinished)


def _kek_file(keks: Path) -> str:
    """The text of the KEK file the operator keeps: a folder copied by `copy_keks` (checked against its
    manifest), a folder holding a `kek.json`, or the file itself."""
    if keks.is_dir():
        if (keks / MANIFEST).exists():
            read_manifest(keks, KEKS)
        keks = keks / KEK_FILE
    try:
        return keks.read_text(encoding="utf-8")
    except OSError:
        raise BackupRefused(f"key-encryption keys {keks}", "cannot be read; give --keks the folder copied with "
                            "`vidoro backup --keks-only` or the kek.json kept apart",
                            "kan inte läsas; ange med --keks mappen kopierad med `vidoro backup --keks-only` "
                            "eller den kek.json som förvaras separat") from None


def _check_target(handle: Database, kind: str, revision: str | None, keys: Path) -> str | None:
    """Refuse an instance that is not empty, or a backup of another kind or a newer schema; the head."""
    if keys.exists() and (not keys.is_dir() or any(keys.iterdir())):
        raise BackupRefused(f"key folder {keys}", "is not empty: a backup is restored into an empty instance "
                            "only; set VIDORO_HOME (or VIDORO_KEYS) to a new folder", "är inte tom: en "
                            "säkerhetskopia återställs bara till en tom instans; ange en ny mapp i VIDORO_HOME "
                            "(eller VIDORO_KEYS)")
    script = ScriptDirectory.from_config(handle.alembic_config())
    try:
        known = revision is not None and script.get_revision(revision) is not None
    except CommandError:
        known = False
    if not known:
        raise BackupRefused(f"backup of schema {revision}", "was taken by another (newer) vidoro; restore it "
                            "with that version", "togs med en annan (nyare) vidoro; återställ den med den "
                            "versionen")
    if kind == "sqlite":
        if not handle.is_sqlite:
            raise BackupRefused("VIDORO_DATABASE_URL", "names PostgreSQL, but this backup holds a SQLite "
                                "database; restore it into an instance on SQLite", "anger PostgreSQL, men "
                                "säkerhetskopian innehåller en SQLite-databas; återställ den till en instans "
                                "med SQLite")
        target = sqlite_path(handle.url)
        if any(target.with_name(target.name + side).exists() for side in ("", "-wal", "-journal")):
            raise BackupRefused(f"database {target}", "exists: a backup is restored into an empty instance only; "
                                "set VIDORO_HOME to a new folder", "finns redan: en säkerhetskopia återställs "
                                "bara till en tom instans; ange en ny mapp i VIDORO_HOME")
    elif handle.is_sqlite:
        raise BackupRefused("VIDORO_DATABASE_URL", "names a SQLite file, but this backup was taken on PostgreSQL "
                            "and holds no database; restore the database's dump into PostgreSQL first",
                            "anger en SQLite-fil, men säkerhetskopian togs på PostgreSQL och innehåller ingen "
                            "databas; återställ först databasens dump till PostgreSQL")
    elif handle.current_revision() is None:
        raise BackupRefused("the PostgreSQL database", "is empty: restore its dump first (pg_restore, taken "
                            "before this key-store backup), then run `vidoro restore`", "är tom: återställ "
                            "först dess dump (pg_restore, tagen före denna nyckelkopia) och kör sedan `vidoro "
                            "restore`")
    return script.get_current_head()


def _stage_keys(folder: Path, stage: Path, kek_text: str, keks: Path) -> int:
    """Assemble the key folder in `stage` and check that the KEKs open it; returns how many data keys it holds."""
    stage.mkdir(mode=0o700)
    copy_sqlite(folder / KEYRING_FILE, stage / KEYRING_FILE)
    write_private(stage / SIGNING_FILE, (folder / SIGNING_FILE).read_text(encoding="utf-8"))
    write_private(stage / KEK_FILE, kek_text)
    try:
        store = FileKeyStore(stage)
    except KeyMaterialError:
        raise BackupRefused(f"key-encryption keys {keks}", "do not belong to this backup (another instance's, "
                            "or damaged); give the ones kept for this instance",
                            "hör inte till denna säkerhetskopia (en annan instans, eller skadade); ange de "
                            "som förvaras för denna instans") from None
    try:
        with closing(sqlite3.connect(f"file:{stage / KEYRING_FILE}?mode=ro", uri=True)) as ring:
            samples = ring.execute("SELECT kek_version, min(case_id) FROM data_keys GROUP BY kek_version").fetchall()
            (count,) = ring.execute("SELECT count(*) FROM data_keys").fetchone()
        shut = []
        for version, case_id in samples:
            try:
                store.data_key(case_id)
            except KeyDestroyed:
                continue  # a wrapping under a KEK retired before the backup: it opened nothing then either
            except KeyMaterialError:
                shut.append(str(version))
    finally:
        store.close()
    if shut:
        raise BackupRefused(
            f"backup {folder}", f"its data keys are wrapped under key-encryption key {', '.join(shut)}, which the "
            f"keys in {keks} do not hold (rotated and retired since the backup was taken): no case in it can be "
            "opened. Restore a backup taken after the last rotation, with the keys kept since",
            f"dess datanycklar är krypterade med nyckelkrypteringsnyckel {', '.join(shut)}, som nycklarna i {keks} "
            "inte innehåller (roterad och avvecklad sedan säkerhetskopian togs): inget ärende i den kan öppnas. "
            "Återställ en säkerhetskopia tagen efter den senaste rotationen, med nycklarna som sparats sedan")
    return int(count)


def _cases(url: str, ring: Path) -> tuple[int, int, set[str]]:
    """How many cases the database holds, how many were erased, and the rest that have no data key (by id)."""
    with_key = keyring_case_ids(ring)
    database = Database(url)
    try:
        with database.read() as session:
            erasing = erasing_states(session)
            rows = session.execute(select(Case.id, Case.state)).all()
    finally:
        database.dispose()
    erased = sum(1 for _, state in rows if state in erasing)
    keyless = {case_id for case_id, state in rows if state not in erasing and case_id not in with_key}
    return len(rows), erased, keyless


def _finish_erasures(url: str, keys: Path, case_ids: set[str], now: datetime) -> tuple[tuple[str, ...],
                                                                                        tuple[str, ...]]:
    """Erase, through thinning's step, the restored cases erased while the backup was taken; the references
    erased and those the step declined or failed on (left keyless for the operator, reported by reference)."""
    store = FileKeyStore(keys)
    database = Database(url, keys=store)
    finished: list[str] = []
    unfinished: list[str] = []
    try:
        with database.read() as session:
            refs = sorted(session.scalars(select(Case.ref).where(Case.id.in_(case_ids))))
        for ref in refs:
            try:
                (finished if erase_case(database, ref, now=now) else unfinished).append(ref)
            except Exception:  # VidoroError or not: the instance is in place, the case is reported, not lost
                unfinished.append(ref)
    finally:
        database.dispose()
        store.close()
    return tuple(finished), tuple(unfinished)


def _put_in_place(stage: Path, keys: Path) -> None:
    if keys.exists():
        keys.rmdir()  # empty, as checked
    keys.parent.mkdir(parents=True, exist_ok=True)
    stage.rename(keys)
    sync_folder(keys.parent)
