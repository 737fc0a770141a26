"""`vidoro subject`: a person's register extract (GDPR article 15) from the server's command line.

How a municipality answers a request: the member of staff who takes it registers it (`extract`), which finds
every case about the person, screens it for secrecy and writes the draft; a decision maker reads the draft
(`draft`) and then decides in a separate command (`decide`: release, releasing free texts by key and holding
back more items with a reason, or refuse with a reason, an appealable decision); then the extract is made for
the person (`deliver`). Each command acts as the named account, which the logs record; the decision maker must
be someone other than the one who registered the request, and must have read the draft (there is no one-shot
release).

The identity number is asked for without echo when `--identity-number` is left out (a number on the command
line stays in the shell's history). Nothing personal is printed: the request's id and counts.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from cases.staff.members import terminal_actor as account
from cases.subjects import decide_extract, extract_pdf, request_extract
from web.clisupport import check_ready, friendly, open_database
from web.errors import BadInput

__all__ = ["subject"]


@click.group()
def subject() -> None:
    """A person's register extract (GDPR article 15): register, screen, decide, deliver."""


@subject.command("extract")
@click.option("--identity-number", prompt="Personnummer", hide_input=True,
              help="The person's personnummer or samordningsnummer (asked for without echo if left out).")
@click.option("--requested-by", required=True, metavar="USERNAME", help="Who registers the request.")
@click.option("--draft", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Write the screened draft here.")
@click.pass_obj
@friendly
def subject_extract(config, identity_number: str, requested_by: str, draft: Path) -> None:
    """Register a person's request for a register extract, screen it and write the draft."""
    with open_database(config) as database:
        check_ready(database)
        requester = account(database, requested_by)
        summary = request_extract(database, requester, identity_number)
        click.echo(f"request {summary.id}: {summary.cases} cases, "
                   f"{len(summary.held_back)} items held back by the screening")
        _write(draft, extract_pdf(database, requester, summary.id, municipality=config["VIDORO_MUNICIPALITY"],
                                  draft=True))
    click.echo(f"draft written: {draft}")
    click.echo(f"next: a decision maker reads it (vidoro subject draft {summary.id} --by USERNAME -o FILE), "
               f"then decides (vidoro subject decide {summary.id} --decided-by USERNAME --release)")


@subject.command("draft")
@click.argument("request_id")
@click.option("--by", "by", required=True, metavar="USERNAME", help="Who reads the draft.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
@friendly
def subject_draft(config, request_id: str, by: str, output: Path) -> None:
    """Write the screened draft, each item with the key `decide --hold-back`/`--release-item` names it by; a
    decision maker's read is recorded (they decide on the draft they read)."""
    with open_database(config) as database:
        check_ready(database)
        _write(output, extract_pdf(database, account(database, by), request_id,
                                   municipality=config["VIDORO_MUNICIPALITY"], draft=True))
    click.echo(f"draft written: {output}")


@subject.command("decide")
@click.argument("request_id")
@click.option("--decided-by", required=True, metavar="USERNAME", help="The decision maker.")
@click.option("--release/--refuse", required=True, help="Release the extract, or refuse release.")
@click.option("--hold-back", multiple=True, metavar="KEY=REASON",
              help="Hold back one more item of the draft (its key) for a reason of policies/subjects.toml.")
@click.option("--release-item", "release_items", multiple=True, metavar="KEY",
              help="Release one free text of the draft (its key); free text is held back unless released.")
@click.option("--reason", metavar="REASON", help="With --refuse: the reason's code (policies/subjects.toml).")
@click.pass_obj
@friendly
def subject_decide(config, request_id: str, decided_by: str, release: bool, hold_back: tuple[str, ...],
                   release_items: tuple[str, ...], reason: str | None) -> None:
    """Decide on releasing a screened extract, once the decision maker has read its draft; a refusal is an
    appealable decision."""
    items = {}
    for given in hold_back:
        key, sep, why = given.partition("=")
        if not sep:
            raise BadInput("--hold-back: write KEY=REASON")
        items[key.strip()] = why.strip()
    with open_database(config) as database:
        check_ready(database)
        summary = decide_extract(database, account(database, decided_by), request_id, release=release,
                                 hold_back=items, release_items=[k.strip() for k in release_items],
                                 refusal_reason=reason)
    click.echo(f"request {summary.id}: {summary.status}, {len(summary.held_back)} items held back")


@subject.command("deliver")
@click.argument("request_id")
@click.option("--by", "by", required=True, metavar="USERNAME", help="Who makes the extract for the person.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
@friendly
def subject_deliver(config, request_id: str, by: str, output: Path) -> None:
    """Write the released extract as PDF (refused before a decision maker has released it)."""
    with open_database(config) as database:
        check_ready(database)
        _write(output, extract_pdf(database, account(database, by), request_id,
                                   municipality=config["VIDORO_MUNICIPALITY"]))
    click.echo(f"extract written: {output}")


def _write(path: Path, pdf: bytes) -> None:
    """Write the PDF readable by its owner alone: it holds the person's data."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(pdf)
