"""`vidoro retention` through Click's runner, on SQLite and PostgreSQL: the dry run lists by reference what would
go and what is kept and changes nothing, the run erases with a progress bar and a summary of counts, and a legal
hold is placed and released from the command line only by an account whose role retention.toml allows."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from cases import ConcernForm, register_concern
from cases.crypto.identity import generate_identity_number
from cases.models import Case, LegalHold
from cases.reports.demo import PATHS, drive
from web.cli import main

REASON = "Markörtext-C19 utlämnande begärt av JO"  # never printed back


@pytest.fixture
def run(tmp_path, db):
    def invoke(*args: str):
        environment = {key: None for key in os.environ if key.startswith("VIDORO_")}
        environment.update(VIDORO_HOME=str(tmp_path / "instance"), VIDORO_DATABASE_URL=db.url,
                           VIDORO_KEYS=str(tmp_path / "keys"))
        return CliRunner().invoke(main, ["retention", *args], env=environment, catch_exceptions=True)
    return invoke


@pytest.fixture
def refs(db, staff):
    """Two cases closed six years ago (one about a person born on the 15th), one closed last year; the real
    clock, since the command reads it."""
    now = datetime.now(UTC)

    def case(born: date, serial: int, received: datetime) -> str:
        form = ConcernForm(concern="Oro.", reporter_org="school", given_name="Test", family_name="Person",
                           identity_number=generate_identity_number(born, serial))
        ref = register_concern(db, staff["reporter"], form, now=received).ref
        drive(db, staff, ref, PATHS["erased"][1][:2], received)
        return ref

    return {"old": case(date(1990, 3, 3), 211, now - timedelta(days=6 * 366)),
            "sample": case(date(1991, 4, 15), 212, now - timedelta(days=6 * 366)),
            "recent": case(date(1992, 5, 6), 213, now - timedelta(days=366))}


def _states(db) -> dict[str, str]:
    with db.read() as session:
        return {ref: state for ref, state in session.execute(select(Case.ref, Case.state))}


def test_the_dry_run_lists_and_changes_nothing_and_the_run_erases(run, db, refs):
    before = _states(db)
    dry = run("run", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"would erase {refs['old']} (closed, vid_oro)" in dry.output
    assert f"keep {refs['sample']} (closed, vid_oro): research sample" in dry.output
    assert refs["recent"] not in dry.output
    assert "1 due, 1 kept (1 research sample)" in dry.output
    assert _states(db) == before
    done = run("run")
    assert done.exit_code == 0, done.output
    assert "1 erased, 0 failed, 1 kept (1 research sample)" in done.output
    assert _states(db) == {**before, refs["old"]: "erased"}
    again = run("run")
    assert "0 erased, 0 failed" in again.output and _states(db) == {**before, refs["old"]: "erased"}


def test_a_hold_from_the_command_line_needs_a_role_that_may_place_it(run, db, refs):
    refused = run("hold", refs["old"], "--reason", REASON, "--by", "caseworker-1")
    assert refused.exit_code == 2 and REASON not in refused.output
    unknown = run("hold", refs["old"], "--reason", REASON, "--by", "nobody")
    assert unknown.exit_code == 2
    with db.read() as session:
        assert session.scalars(select(LegalHold)).first() is None
    held = run("hold", refs["old"].lower(), "--reason", REASON, "--by", "decider-1")
    assert held.exit_code == 0, held.output
    assert f"{refs['old']}: held from thinning" in held.output and REASON not in held.output
    dry = run("run", "--dry-run")
    assert f"keep {refs['old']} (closed, vid_oro): legal hold" in dry.output
    released = run("release", refs["old"], "--reason", "Klart.", "--by", "decider-1")
    assert released.exit_code == 0, released.output
    assert f"would erase {refs['old']}" in run("run", "--dry-run").output
