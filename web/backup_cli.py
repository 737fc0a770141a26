"""`vidoro backup` and `vidoro restore`: a consistent copy of the instance while it runs, and its return into
an empty instance. The work is in `cases.backup`; this prints what was done and what the operator keeps apart."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import click

from cases.backup import BackupRefused, Progress, copy_keks, restore, take_backup
from web.clisupport import friendly, open_database

__all__ = ["backup", "register", "restore_command"]

OUT = click.Path(file_okay=False, path_type=Path)
STEPS = 1000  # the progress bar's length: thousandths of the copy


@click.command()
@click.option("-o", "--output", "out", type=OUT, required=True, help="A new or empty folder for the copy.")
@click.option("--keks-only", is_flag=True,
              help="Copy only the key-encryption keys, for a separate, offline medium (never beside the backups).")
@click.pass_obj
@friendly
def backup(config, out: Path, keks_only: bool) -> None:
    """Copy the instance into FOLDER while vidoro runs: the SQLite database, the keyring of wrapped data keys
    and the log signing key, with a manifest; never the key-encryption keys (copy them with --keks-only).

    On PostgreSQL the database is copied with its own tools (pg_dump) BEFORE this command, which then copies
    the key store: a data key made after the key-store copy would be missing for a case in the dump.
    """
    keys: Path = config["VIDORO_KEYS"]
    if keks_only:
        with _refusals():
            manifest = copy_keks(keys, out)
        click.echo(f"key-encryption keys {', '.join(map(str, sorted(manifest.keks)))} copied to {out}")
        click.echo("keep this copy offline and apart from every backup; after `vidoro keys rotate` and `vidoro keys "
                   "retire`, take a new one and destroy this one, so that older backups stay shut", err=True)
        return
    with open_database(config, keys="none") as database, _progress("copying") as progress, _refusals():
        manifest = take_backup(database, keys, out, progress=progress)
    under = ", ".join(f"{n} under key-encryption key {v}" for v, n in sorted(manifest.data_keys.items())) or "none"
    if manifest.database == "sqlite":
        click.echo(f"database: copied (schema {manifest.revision})")
    else:
        click.echo(f"database: PostgreSQL (schema {manifest.revision}) is not in this copy: copy it with pg_dump "
                   "before this command (docs/operations.md, Backup and restore)")
    click.echo(f"keyring: copied after the database; data keys: {under}")
    click.echo("log signing key: copied")
    click.echo(f"backup written to {out} (manifest.json last); the key-encryption keys are not in it: keep them "
               "apart (`vidoro backup --keks-only -o OTHER`)")


@click.command("restore")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--keks", type=click.Path(exists=True, path_type=Path), required=True,
              help="The key-encryption keys kept apart: a folder from `backup --keks-only`, or a kek.json.")
@click.pass_obj
@friendly
def restore_command(config, folder: Path, keks: Path) -> None:
    """Restore the backup in FOLDER into this EMPTY instance (VIDORO_HOME, VIDORO_KEYS, VIDORO_DATABASE_URL).

    On PostgreSQL, restore the database's dump first (pg_restore); this then puts the key store beside it.
    """
    home: Path = config["VIDORO_HOME"]
    if not home.exists():
        home.mkdir(parents=True)
        os.chmod(home, 0o700)  # as `vidoro init` makes it: the instance holds the database and the keys
    with _progress("restoring") as progress, _refusals():
        restored = restore(folder, url=config["VIDORO_DATABASE_URL"], keys=config["VIDORO_KEYS"], keks=keks,
                           progress=progress)
    where = "restored" if restored.database == "sqlite" else "restored before (PostgreSQL)"
    click.echo(f"database: {where}, schema {restored.revision}; {restored.cases} cases, {restored.erased} of "
               "them erased")
    if restored.finished:
        click.echo(f"erased while the backup was taken, erasure finished now: {', '.join(restored.finished)}")
    if restored.unfinished:
        click.echo(f"erased while the backup was taken but not erased here (no longer due in the restored "
                   f"database; their data keys are gone): {', '.join(restored.unfinished)}; check them with "
                   "`vidoro retention run --dry-run`", err=True)
    click.echo(f"key store: {restored.data_keys} data keys, the log signing key, and the key-encryption keys "
               f"from {keks}")
    if restored.revision != restored.head:
        click.echo(f"the schema is older than this vidoro's ({restored.head}): run `vidoro init` to bring it up "
                   "to date")
    click.echo("check it: `vidoro audit verify --key <the verifier key you hold>`")


@contextmanager
def _refusals() -> Iterator[None]:
    """A refused backup or restore is a state to change first (exit 1), not a mistyped command; nothing was
    written."""
    try:
        yield
    except BackupRefused as exc:
        raise click.ClickException(str(exc)) from None


@contextmanager
def _progress(label: str) -> Iterator[Progress]:
    """A progress bar on stderr, shown from the first page copied: a refusal before it stays one line. The bar
    counts thousandths of the whole, as the total (pages over every file) may grow while the copy runs."""
    with ExitStack() as stack:
        bars: list[Any] = []  # click.progressbar's bar, once entered
        shown = [0]

        def progress(done: int, total: int) -> None:
            if not bars:
                bars.append(stack.enter_context(click.progressbar(length=STEPS, label=label, file=sys.stderr)))
            now = min(STEPS, done * STEPS // total) if total else STEPS
            if now > shown[0]:
                bars[0].update(now - shown[0])
                shown[0] = now

        yield progress


def register(group: click.Group) -> None:
    """Add `backup` and `restore` to the `vidoro` command group."""
    group.add_command(backup)
    group.add_command(restore_command)
