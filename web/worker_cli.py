"""`vidoro worker`: run the scheduled and queued jobs (`cases.jobs`); and the same runner beside `vidoro serve`.

Any number of workers, on any number of machines, share one database: each occurrence of a job is one row
there and is run by one worker (README: Jobs; docs/operations.md: Workers and several servers).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import click

from cases import Database
from cases.audit.signing import LogSigner
from cases.jobs import JobSettings, Runner, make_runner
from web.clisupport import check_ready, friendly, open_database
from web.clisupport import targets as _targets

__all__ = ["jobs_beside_server", "worker"]

WORKER_CHOICES = ("on", "off")


@click.command()
@click.option("--once", is_flag=True, help="Run what is due now, then exit (for cron, or a test).")
@click.pass_obj
@friendly
def worker(config, once: bool) -> None:
    """Run the scheduled and queued jobs (checkpoints, lapsed consents …) until stopped (SIGTERM or Ctrl-C).

    Several workers share the work through the database: each job runs once, and a job whose worker died is
    taken over when its lease (VIDORO_JOB_LEASE seconds) runs out.
    """
    from web import logs

    logs.configure(config)
    with open_database(config, keys="optional") as database:
        check_ready(database)
        runner = _runner(config, database)
        if once:
            ran = runner.run_due()
            for run in ran:
                click.echo(f"{run.name}: {run.state or 'lease lost'}" + (f" ({run.summary})" if run.summary else ""))
            click.echo(f"{len(ran)} job{'' if len(ran) == 1 else 's'} run")
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        click.echo(f"vidoro worker {runner.owner}: {', '.join(runner.schedules) or 'no scheduled jobs'} "
                   "(Ctrl-C stops)", err=True)
        runner.run_forever(stop)


def _runner(config: dict[str, Any], database: Database) -> Runner:
    interval = config["VIDORO_CHECKPOINT_INTERVAL"]
    signer = LogSigner.open(config["VIDORO_KEYS"]) if interval else None  # missing key: stops before it starts
    return make_runner(database, signer=signer, targets=_targets(config["VIDORO_CHECKPOINT_TARGETS"]),
                       checkpoint_interval=interval, lease=timedelta(seconds=config["VIDORO_JOB_LEASE"]),
                       report=lambda text: click.echo(text, err=True), settings=job_settings(config))


def job_settings(config: dict[str, Any]) -> JobSettings:
    """What the jobs take from the configuration: the sessions' lifetimes and where mail goes."""
    from web.notifications import mail_settings

    return JobSettings(session_idle=timedelta(seconds=config["VIDORO_SESSION_IDLE"]),
                       session_max=timedelta(seconds=config["VIDORO_SESSION_MAX"]), mail=mail_settings(config))


@contextmanager
def jobs_beside_server(config: dict[str, Any]) -> Iterator[None]:
    """While `vidoro serve` runs, run the jobs from a process of its own (`web.serving.checkpoint_process`),
    unless VIDORO_WORKER=off (then `vidoro worker` processes run them)."""
    from web import logs
    from web.serving import checkpoint_process

    if config["VIDORO_WORKER"] == "off":
        click.echo("jobs are not run by this server (VIDORO_WORKER=off): run `vidoro worker`", err=True)
        yield
        return
    with open_database(config, keys="optional") as database:
        runner = _runner(config, database)  # a broken schedule or a missing key stops serve before it starts
        names = ", ".join(runner.schedules) or "no scheduled jobs"
    if not config["VIDORO_CHECKPOINT_INTERVAL"]:
        click.echo("automatic checkpoints are off (VIDORO_CHECKPOINT_INTERVAL=0)", err=True)

    def work(stop: threading.Event) -> None:
        with open_database(config, keys="optional") as database:
            _runner(config, database).run_forever(stop)

    logs.configure(config)  # before the process is forked: its runs and deliveries are logged too
    with checkpoint_process(work):
        targets = _targets(config["VIDORO_CHECKPOINT_TARGETS"])
        click.echo(f"jobs run beside the server: {names}"
                   + (f"; checkpoints every {config['VIDORO_CHECKPOINT_INTERVAL']:g} s to the database"
                      f"{' and ' + ', '.join(targets) if targets else ' (no VIDORO_CHECKPOINT_TARGETS)'}"
                      if config["VIDORO_CHECKPOINT_INTERVAL"] else ""), err=True)
        yield
