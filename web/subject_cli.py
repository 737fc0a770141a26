"""`vidoro subject`: a person's register extract (GDPR article 15) from the server's command line.

How a municipality answers a request: the member of staff who takes it registers it (`extract`), which finds
every case about the person and screens it for secrecy; a decision maker reads the draft (`draft`) and
decides (`decide`: release, holding back more items with a reason, or refuse with a reason, an appealable
decision); then the extract is made for the person (`deliver`). Each command acts as the named account, which
the logs record; the decision maker must be someone other than the one who registered the request. With
`--decided-by` and `-o`, `extract` does all of it in one run, for the decision maker at the terminal.

The identity number is asked for without echo when `--identity-number` is left out (a number on the command
line stays in the shell's history). Nothing personal is printed: the request's id, case references and counts.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from cases.subjects import account, decide_extract, extract_pdf, request_extract
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
@click.option("--decided-by", metavar="USERNAME", help="A decision maker who releases it at once (with -o).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the released extract here (needs --decided-by).")
@click.option("--draft", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the screened draft for the decision maker here.")
@click.pass_obj
@friendly
def subject_extract(config, identity_number: str, requested_by: str, decided_by: str | None,
                    output: Path | None, draft: Path | None) -> None:
    """Register a person's request for a register extract and screen it for secrecy."""
    if (output is None) != (decided_by is None):
        raise BadInput("-o and --decided-by go together: the extract is released by a decision maker first")
    with open_database(config) as database:
        check_ready(database)
        requester = account(database, requested_by)
        summary = request_extract(database, requester, identity_number)
        click.echo(f"request {summary.id}: {summary.cases} cases ({', '.join(summary.refs)}), "
                   f"{len(summary.held_back)} items held back by the screening")
        if draft is not None:
            _write(draft, extract_pdf(database, requester, summary.id, municipality=config["VIDORO_MUNICIPALITY"],
                                      draft=True))
            click.echo(f"draft for the decision maker: {draft}")
        if decided_by is not None and output is not None:
            decide_extract(database, account(database, decided_by), summary.id, release=True)
            _write(output, extract_pdf(database, requester, summary.id,
                                       municipality=config["VIDORO_MUNICIPALITY"]))
            click.echo(f"released and written: {output}")
        else:
            click.echo(f"next: vidoro subject decide {summary.id} --decided-by USERNAME --release")


@subject.command("draft")
@click.argument("request_id")
@click.option("--by", "by", required=True, metavar="USERNAME", help="Who reads the draft.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
@friendly
def subject_draft(config, request_id: str, by: str, output: Path) -> None:
    """Write the screened draft, each item with the key `decide --hold-back` names it by."""
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
@click.option("--reason", metavar="REASON", help="With --refuse: the reason's code (policies/subjects.toml).")
@click.pass_obj
@friendly
def subject_decide(config, request_id: str, decided_by: str, release: bool, hold_back: tuple[str, ...],
                   reason: str | None) -> None:
    """Decide on releasing a screened extract; a refusal is an appealable decision."""
    items = {}
    for given in hold_back:
        key, sep, why = given.partition("=")
        if not sep:
            raise BadInput("--hold-back: write KEY=REASON")
        items[key.strip()] = why.strip()
    with open_database(config) as database:
        check_ready(database)
        summary = decide_extract(database, account(database, decided_by), request_id, release=release,
                                 hold_back=items, refusal_reason=reason)
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
