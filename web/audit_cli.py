"""`vidoro audit`: the verifier key, checkpoints, proofs, full verification and the export for auditors.

Everything here reads the logs; nothing changes a case. `checkpoint` stores and sends a signed tree head,
the only thing these commands write.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from importlib import resources
from pathlib import Path

import click

from cases.audit.checkpoints import deliver, issue_checkpoint
from cases.audit.export import export_logs
from cases.audit.log import LOGS
from cases.audit.proofs import operator_consistency, operator_inclusion
from cases.audit.signing import LogSigner
from cases.audit.tree import entry_count
from cases.audit.verify import verify
from web.clisupport import check_ready, friendly, open_database
from web.clisupport import targets as _targets
from workflow.checkpoint import check_verifier_key
from workflow.errors import CheckpointError

__all__ = ["audit"]

LOG_CHOICE = click.Choice([*LOGS, "all"])


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@click.group()
def audit() -> None:
    """The logs for auditors: checkpoints, proofs, verification and export."""


@audit.command("key")
@click.pass_obj
@friendly
def audit_key(config) -> None:
    """Print the verifier key auditors check checkpoints with (give it to them once, out of band)."""
    signer = LogSigner.open(config["VIDORO_KEYS"])
    click.echo(signer.verifier_key)


@audit.command("checkpoint")
@click.option("--log", "which", type=LOG_CHOICE, default="all", show_default=True)
@click.option("--to", "extra", multiple=True, metavar="TARGET",
              help="Also send to this folder or http(s) address (besides VIDORO_CHECKPOINT_TARGETS).")
@click.option("--publish/--no-publish", default=True, show_default=True,
              help="Send the checkpoints to the configured targets.")
@click.pass_obj
@friendly
def audit_checkpoint(config, which: str, extra: tuple[str, ...], publish: bool) -> None:
    """Sign, store and print the current checkpoint of each log (C2SP signed note, Ed25519)."""
    targets = _targets(config["VIDORO_CHECKPOINT_TARGETS"], extra) if publish else []
    signer = LogSigner.open(config["VIDORO_KEYS"])
    failed = False
    with open_database(config, keys="none") as database:
        check_ready(database, keys=False)
        for number, name in enumerate(LOGS if which == "all" else [which]):
            checkpoint = issue_checkpoint(database, signer, name)
            if number:
                click.echo()
            click.echo(checkpoint.note, nl=False)
            for delivery in deliver(checkpoint, targets):
                failed |= not delivery.ok
                click.echo(f"{name}@{checkpoint.size} -> {delivery.target}: "
                           f"{'ok' if delivery.ok else 'FAILED'} ({delivery.detail})", err=True)
    if failed:
        raise click.ClickException("a checkpoint could not be delivered everywhere; it is stored, and the "
                                   "next checkpoint will be sent again")


@audit.group("proof")
def proof() -> None:
    """Inclusion and consistency proofs (RFC 9162), as JSON."""


@proof.command("inclusion")
@click.option("--log", "name", type=click.Choice(list(LOGS)), default="transitions", show_default=True)
@click.option("--entry", "seq", type=click.IntRange(min=1), required=True, help="The entry's number (from 1).")
@click.option("--size", type=click.IntRange(min=1), help="The tree size to prove against (default: now).")
@click.pass_obj
@friendly
def proof_inclusion(config, name: str, seq: int, size: int | None) -> None:
    """Prove that an entry is in the log's tree of SIZE entries."""
    with open_database(config, keys="none") as database:
        check_ready(database, keys=False)
        found, note = _proof_args(lambda: operator_inclusion(database, name, seq, size))
    click.echo(json.dumps({
        "log": name, "entry": seq, "leaf_index": found.index, "tree_size": found.size,
        "entry_text": found.entry.decode("utf-8"), "leaf_hash": _b64(found.leaf_hash),
        "path": [_b64(h) for h in found.path], "root": _b64(found.root), "checkpoint": note}, indent=1))


@proof.command("consistency")
@click.option("--log", "name", type=click.Choice(list(LOGS)), default="transitions", show_default=True)
@click.option("--from", "old", type=click.IntRange(min=1), required=True, help="The older tree size.")
@click.option("--to", "new", type=click.IntRange(min=1), help="The newer tree size (default: now).")
@click.pass_obj
@friendly
def proof_consistency(config, name: str, old: int, new: int | None) -> None:
    """Prove that the log's first FROM entries are unchanged in its tree of TO entries."""
    with open_database(config, keys="none") as database:
        check_ready(database, keys=False)
        found, *notes = _proof_args(lambda: operator_consistency(database, name, old, new))
    click.echo(json.dumps({
        "log": name, "old_size": found.old_size, "new_size": found.new_size, "old_root": _b64(found.old_root),
        "new_root": _b64(found.new_root), "path": [_b64(h) for h in found.path],
        "old_checkpoint": notes[0], "new_checkpoint": notes[1]}, indent=1))


def _proof_args(make):
    try:
        return make()
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


@audit.command("verify")
@click.option("--checkpoint", "held", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A checkpoint file you hold (give the option once per file).")
@click.option("--key", help="The verifier key you trust (default: this instance's own key).")
@click.pass_obj
@friendly
def audit_verify(config, held: tuple[str, ...], key: str | None) -> None:
    """Recompute both logs' trees from the stored entries and check every checkpoint and case state.

    Exits 0 with a summary, or 1 naming the first entry, node, checkpoint or case that fails and what kind
    of tampering that indicates.
    """
    signer = None
    if key is None:
        signer = LogSigner.open(config["VIDORO_KEYS"])
        key = signer.verifier_key
    try:
        check_verifier_key(key)
    except CheckpointError as exc:
        raise click.BadParameter(str(exc), param_hint="--key") from None
    notes = [Path(path).read_bytes() for path in held]
    with open_database(config, keys="none") as database:
        check_ready(database, keys=False)
        total = entry_count(database)
        with click.progressbar(length=total, label="verifying the logs", file=sys.stderr) as bar:
            report = verify(database, key, notes, progress=bar.update,
                            origin_prefix=signer.name if signer else None)
    for log in report.logs.values():
        click.echo(f"{log.name} log: {log.entries} entries, {log.nodes} tree nodes, root {_b64(log.root)}; "
                   f"{log.checkpoints} stored and {log.held} held checkpoints checked")
    click.echo(f"cases: {report.cases} states checked against their last logged transition")
    click.echo(f"journal notes: {report.notes} checked against their last journal log entry")
    if signer is not None:
        click.echo("checked against this instance's own verifier key; pass --key with the key you hold to catch "
                   "a replaced key too", err=True)
    if report.ok:
        click.echo("OK: every entry, tree node, checkpoint and case state agrees")
        return
    first, rest = report.findings[0], report.findings[1:]
    click.echo(f"FAILED: {first.text()}")
    for finding in rest[:9]:
        click.echo(f"  also: {finding.text()}")
    if len(rest) > 9:
        click.echo(f"  … and {len(rest) - 9} more findings")
    sys.exit(1)


@audit.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write here, not to stdout.")
@click.pass_obj
@friendly
def audit_export(config, output: str | None) -> None:
    """Write the logs, checkpoints and case states as JSON Lines for the standalone verifier."""
    signer = LogSigner.open(config["VIDORO_KEYS"])
    with open_database(config, keys="none") as database:
        check_ready(database, keys=False)
        total = entry_count(database)
        # Into a temporary file beside the target, renamed when complete: never a half export under its name.
        # Owner-only whatever the umask, as the keys are: it holds every log entry and case state.
        target = Path(output) if output else None
        temp = target.with_name(f".{target.name}.partial") if target else None
        out = _owner_only(temp) if temp else sys.stdout
        try:
            with click.progressbar(length=total, label="exporting the logs", file=sys.stderr) as bar:
                counts = export_logs(database, signer, out, progress=bar.update)
            if temp and target:
                out.close()
                os.replace(temp, target)
        finally:
            if temp:
                out.close()
                temp.unlink(missing_ok=True)
    click.echo(", ".join(f"{name}: {n} entries" for name, n in counts.items())
               + (f" -> {output}" if output else ""), err=True)


@audit.command("verifier")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write here, not to stdout.")
def audit_verifier(output: str | None) -> None:
    """Write out the standalone verifier (one Python file: standard library and `cryptography`)."""
    source = resources.files("workflow").joinpath("vidoro_verify.py").read_text(encoding="utf-8")
    if output:
        Path(output).write_text(source, encoding="utf-8")
        click.echo(f"wrote {output}; run: python {output} EXPORT.jsonl --key KEY [--checkpoint FILE ...]", err=True)
    else:
        click.echo(source, nl=False)


def _owner_only(path: Path):
    """A new file open for writing text, mode 0600 whatever the umask (a leftover of a run cut short goes)."""
    path.unlink(missing_ok=True)
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8")
