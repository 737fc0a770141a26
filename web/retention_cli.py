"""`vidoro retention`: thinning (gallring) from the server's command line — the run and its dry run, legal holds.

`run` erases the cases past their retention period, minus the exceptions (the research sample, legal holds, the
same person's other kept case), and purges expired sessions, idempotency keys, sign-in attempts, request counts,
notifications and finished outbox mails; the nightly job does the same (`cases.retention.run_retention_job`).
`--dry-run` lists what would go and what is kept and why, by case reference and state only, and changes nothing.
`hold` and `release` place and lift a legal hold as a named account (`--by`), which must hold a role that
retention.toml allows: the command line is not a way around the rule.
"""

from __future__ import annotations

import functools
import sys
from datetime import UTC, datetime, timedelta

import click

from cases.errors import InvalidConcern, RecordNotFound
from cases.retention import erase_due, lift_hold, place_hold, purge_expired, summary, thinning_plan
from cases.staff.members import terminal_actor
from web.clisupport import check_ready, friendly, open_database
from web.errors import BadInput

__all__ = ["retention"]

_WHY = {"research_sample": "research sample", "legal_hold": "legal hold",
        "same_person": "the same person's other kept case"}


def _one_line(command):
    """Turn what `cases` refuses about the input into one line with exit status 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (InvalidConcern, RecordNotFound) as exc:
            raise BadInput(str(exc)) from None

    return wrapper


@click.group()
def retention() -> None:
    """Thinning (gallring): erase cases past their retention period, purge expired records, legal holds."""


@retention.command("run")
@click.option("--dry-run", is_flag=True, help="List what would be erased and what is kept, and change nothing.")
@click.pass_obj
@friendly
def retention_run(config, dry_run: bool) -> None:
    """Erase the cases past their retention period (but the exceptions) and purge expired records."""
    now = datetime.now(UTC)
    idle, longest = (timedelta(seconds=config[name]) for name in ("VIDORO_SESSION_IDLE", "VIDORO_SESSION_MAX"))
    with open_database(config) as database:
        check_ready(database)
        plan = thinning_plan(database, now=now)
        for item in plan.due:
            click.echo(f"{'would erase' if dry_run else 'erase'} {item.ref} ({item.state}, {item.flowchart})")
        for item in plan.kept:
            click.echo(f"keep {item.ref} ({item.state}, {item.flowchart}): {_WHY.get(item.kept_because or '', '')}")
        if dry_run:
            click.echo(summary(plan, None, purge_expired(database, now=now, session_idle=idle, session_max=longest,
                                                   dry_run=True)))
            return
        with click.progressbar(length=len(plan.due), label="erasing cases past retention", file=sys.stderr) as bar:
            thinned = erase_due(database, now=now, plan=plan, progress=lambda _: bar.update(1))
        purged = purge_expired(database, now=now, session_idle=idle, session_max=longest)
    for ref, code in thinned.failed:
        click.echo(f"FAILED {ref}: {code}", err=True)
    click.echo(summary(plan, thinned, purged))
    if thinned.failed:
        raise click.ClickException(f"{len(thinned.failed)} case(s) could not be erased; the others were; run again")


@retention.command("hold")
@click.argument("ref")
@click.option("--reason", required=True, help="Why the case is kept from thinning (sealed with the case).")
@click.option("--by", "username", required=True, help="The account placing the hold (a role retention.toml allows).")
@click.pass_obj
@friendly
@_one_line
def retention_hold(config, ref: str, reason: str, username: str) -> None:
    """Place a legal hold on case REF: it is kept from thinning until the hold is released."""
    with open_database(config) as database:
        check_ready(database)
        done = place_hold(database, terminal_actor(database, username), ref.strip().upper(), reason)
    click.echo(f"{done.ref}: held from thinning (log entry {done.seq})")


@retention.command("release")
@click.argument("ref")
@click.option("--reason", required=True, help="Why the hold ends (sealed with the case).")
@click.option("--by", "username", required=True, help="The account lifting the hold (a role retention.toml allows).")
@click.pass_obj
@friendly
@_one_line
def retention_release(config, ref: str, reason: str, username: str) -> None:
    """Lift the legal hold on case REF: it is thinned with the others once its retention period is over."""
    with open_database(config) as database:
        check_ready(database)
        done = lift_hold(database, terminal_actor(database, username), ref.strip().upper(), reason)
    click.echo(f"{done.ref}: hold lifted (log entry {done.seq})")
