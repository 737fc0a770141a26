"""The `vidoro` command: set up an instance, migrate, draw the flowchart, serve, fill with demo data.

Errors that a person can act on are printed as one line naming what to do, with exit status 2 for bad
input and 1 for everything else; never a traceback for an expected failure.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from cases import Database
from cases.audit.signing import SIGNING_FILE, LogSigner
from cases.crypto.keys import FileKeyStore
from cases.errors import KeysStillWrapped
from web.audit_cli import audit
from web.backup_cli import register as register_backup
from web.clisupport import check_ready, friendly, open_database, shown
from web.config import load_config
from web.retention_cli import retention
from web.subject_cli import subject
from web.users_cli import users
from web.worker_cli import jobs_beside_server, worker

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def main(ctx: click.Context) -> None:
    """vidoro: the vid oro flowchart as an enforced, logged case workflow."""
    try:
        ctx.obj = load_config()
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


@main.command()
@click.option("--demo", is_flag=True, help="Also fill the instance with generated demo staff and cases.")
@click.pass_obj
@friendly
def init(config, demo: bool) -> None:
    """Create the instance folder and the database, or bring them up to date (safe to run again)."""
    home: Path = config["VIDORO_HOME"]
    created = not home.exists()
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o700)  # the instance holds the database and, later, the keys: owner only
    keys_existed = (config["VIDORO_KEYS"] / "kek.json").exists()
    _refuse_new_keys_for_old_cases(config)
    with open_database(config, keys="create") as db:
        before = db.current_revision()
        db.upgrade()
        click.echo(f"instance: {home} ({'created' if created else 'exists'})")
        click.echo(f"keys: {config['VIDORO_KEYS']} ({'exist' if keys_existed else 'created, owner-only'}; "
                   "back them up apart from the database)")
        click.echo(f"database: {shown(db.url)} (schema {before or 'empty'} -> {db.current_revision()})")
        signing_existed = (config["VIDORO_KEYS"] / SIGNING_FILE).exists()
        signer = LogSigner.create(config["VIDORO_KEYS"], config["VIDORO_LOG_NAME"])
        click.echo(f"log signing key: {'exists' if signing_existed else 'created'}; verifier key for auditors: "
                   f"{signer.verifier_key}")
        from cases.audit.checkpoints import checkpoint_count

        if not signing_existed and checkpoint_count(db):
            click.echo("warning: the database holds checkpoints signed with another key; auditors need the new "
                       "verifier key above, and should be told why it changed", err=True)
        if demo:
            _fill_demo(db, per_state=2)


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@click.pass_obj
@friendly
def db_upgrade(config, revision: str) -> None:
    """Apply the schema migrations up to REVISION."""
    with open_database(config, keys="optional") as database:
        before = database.current_revision()
        database.upgrade(revision)
        click.echo(f"schema {before or 'empty'} -> {database.current_revision()}")


@db.command("current")
@click.pass_obj
@friendly
def db_current(config) -> None:
    """Show the schema revision of the database and the newest one known."""
    with open_database(config, keys="none") as database:
        click.echo(f"database: {database.current_revision() or 'empty'}; newest: {database.head_revision()}")


@main.group()
def keys() -> None:
    """Key material: status, rotation and retirement of the key-encryption keys."""


@keys.command("status")
@click.pass_obj
@friendly
def keys_status(config) -> None:
    """Show each key-encryption key version, how many case data keys it wraps, and which are retired."""
    store = FileKeyStore(config["VIDORO_KEYS"])
    try:
        versions, retired = store.kek_versions(), store.retired_keks()
        current = max(versions)
        for version in sorted({*versions, *retired}):
            if version in retired and version not in versions:
                click.echo(f"kek {version}: retired (destroyed)")
                continue
            count = versions[version]
            note = " (current)" if version == current else "" if count else " (retirable)"
            click.echo(f"kek {version}{note}: wraps {count} data keys")
        stale = sum(n for v, n in versions.items() if v != current)
        if stale:
            click.echo(f"{stale} data keys still under an older key: run `vidoro keys rotate --resume` to finish")
        elif len(versions) > 1:
            click.echo("older keys wrap no data key any more: run `vidoro keys retire` to destroy them")
    finally:
        store.close()


@keys.command("rotate")
@click.option("--resume", is_flag=True, help="Only finish re-wrapping under the current key (no new key).")
@click.pass_obj
@friendly
def keys_rotate(config, resume: bool) -> None:
    """Add a new key-encryption key and re-wrap every data key under it, while vidoro keeps running.

    Each batch commits on its own: an interrupted rotation loses nothing, and running it again (or with
    --resume) goes on where it stopped. Records are never re-encrypted and stay readable throughout.
    """
    store = FileKeyStore(config["VIDORO_KEYS"])
    try:
        if not resume:
            click.echo(f"new key-encryption key {store.add_kek()} is current")
        versions = store.kek_versions()
        todo = sum(n for v, n in versions.items() if v != max(versions))
        with click.progressbar(length=todo, label="re-wrapping data keys", file=sys.stderr) as bar:
            done = store.rewrap(progress=bar.update)
        click.echo(f"re-wrapped {done} data keys; every case is under key {max(store.kek_versions())}")
    finally:
        store.close()


@keys.command("retire")
@click.pass_obj
@friendly
def keys_retire(config) -> None:
    """Destroy every old key-encryption key that no longer wraps a data key (never the current one).

    After `vidoro keys rotate`, the old keys only serve copies: a wrapped data key from a backup of the keyring
    (an erased case's too) would still open with them. Refuses, destroying nothing, while one still wraps data
    keys. Backups of kek.json taken before keep the old keys: destroy those too.
    """
    store = FileKeyStore(config["VIDORO_KEYS"])
    try:
        try:
            retired = store.retire_keks()
        except KeysStillWrapped as exc:
            raise click.ClickException(str(exc)) from None  # a state to change first, not a mistyped command
        if retired:
            click.echo(f"retired and destroyed key-encryption key {', '.join(map(str, retired))}; "
                       f"only key {max(store.kek_versions())} remains")
        else:
            click.echo(f"nothing to retire: key {max(store.kek_versions())} is the only key-encryption key")
    finally:
        store.close()


@main.command()
@click.option("--format", "fmt", type=click.Choice(["mermaid", "svg"]), default="mermaid", show_default=True)
@click.option("--lang", type=click.Choice(["sv", "en"]), default="sv", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write to a file.")
@click.option("--name", type=click.Choice(["vid_oro", "relative_support"]), default="vid_oro", show_default=True,
              help="Which flowchart: the concern's, or a relative's own matter's.")
@friendly
def flowchart(fmt: str, lang: str, output: str | None, name: str) -> None:
    """Draw the flowchart new cases start on, as Mermaid text or an SVG picture."""
    from cases.flowcharts import current_engine
    from web.diagram import to_mermaid, to_svg

    chart = current_engine(name).chart
    text = to_mermaid(chart, lang=lang) if fmt == "mermaid" else to_svg(chart, lang=lang)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text)


@main.command()
@click.option("--per-state", default=2, show_default=True, type=click.IntRange(1, 500),
              help="Generated cases in each state of the flowchart.")
@click.pass_obj
@friendly
def demo(config, per_state: int) -> None:
    """Fill the instance with generated demo staff and cases in every state (no real people)."""
    with open_database(config, keys="optional") as database:
        check_ready(database)
        _fill_demo(database, per_state=per_state)


@main.command()
@click.option("--host", default=None, help="Address to listen on (default VIDORO_HOST or 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default VIDORO_PORT or 8000).")
@click.option("--workers", default=None, type=click.IntRange(1, 64),
              help="Worker processes (default: one per CPU core).")
@click.option("--threads", default=2, show_default=True, type=click.IntRange(1, 64), help="Threads per worker.")
@click.option("--demo", is_flag=True, help="Fill with demo data first if there are no cases yet.")
@click.pass_obj
@friendly
def serve(config, host: str | None, port: int | None, workers: int | None, threads: int, demo: bool) -> None:
    """Serve vidoro with a production WSGI server (waitress: processes with threads; slow clients take no thread)."""
    from cases.flowcharts import current_engine
    from cases.reports.statistics import case_count
    from web import serving

    current_engine()  # a broken flowchart file stops the server before it starts, not on the first request
    with open_database(config, keys="optional") as database:
        check_ready(database)
        if demo and case_count(database) == 0:
            _fill_demo(database, per_state=2)
    host, port = host or config["VIDORO_HOST"], port or config["VIDORO_PORT"]
    workers = workers or os.cpu_count() or 1
    with jobs_beside_server(config):
        click.echo(f"vidoro serving on http://{host}:{port} ({workers} × {threads} threads; Ctrl-C stops)")
        serving.serve(config, host=host, port=port, workers=workers, threads=threads)


def _refuse_new_keys_for_old_cases(config) -> None:
    """New, empty key material beside a database that holds cases would leave every case unreadable."""
    from cases.reports.statistics import case_count

    folder = config["VIDORO_KEYS"]
    if (folder / "kek.json").exists() and (folder / "keyring.db").exists():
        return
    with open_database(config, keys="none") as database:
        if database.current_revision() is None or not case_count(database):
            return
    raise click.ClickException(
        f"the database holds cases but the key material in {folder} is missing or incomplete; restore it from "
        "the key backup (new keys could not open a single case)")


def _fill_demo(database: Database, *, per_state: int) -> None:
    from cases.reports.demo import PATHS, fill_demo

    total = per_state * len(PATHS)
    with click.progressbar(length=total, label="demo cases", file=sys.stderr) as bar:
        fill_demo(database, per_state=per_state, progress=lambda done, _total: bar.update(1))
    click.echo(f"demo: {total} generated cases in {len(PATHS)} states, a relative's own matter linked to one, "
               "one account per role (demo-<role>)")
    _demo_passwords(database)


def _demo_passwords(database: Database) -> None:
    """Give each demo account without a password a generated one, shown once, so the demo can be tried."""
    import secrets

    from cases.reports.demo import without_password
    from cases.staff.administration import reset_password

    waiting = without_password(database)
    for username in waiting:
        password = secrets.token_urlsafe(12)
        reset_password(database, None, username, password)  # in the administration log, as the operator
        click.echo(f"  sign in as {username} with password {password}")
    if waiting:
        click.echo("  (shown once; demo accounts only — `vidoro users set-password` changes them)")


main.add_command(audit)
main.add_command(users)
main.add_command(worker)
register_backup(main)
main.add_command(retention)
main.add_command(subject)
