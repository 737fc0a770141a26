"""One worker of the concurrency test (tests/cases/test_concurrency.py), run as its own process.

    python -m tests.cases.concurrency_worker CONFIG INCARNATION JOURNAL

The worker opens its own `cases.Database`, then until the parent's stop file appears, the shared deadline
passes or its iteration budget is spent, picks
a case, reads its state and version, chooses a trigger the flowchart allows from that state with a valid
form and the right role, and fires it with `expected_version`. Every call is journaled, one JSON line each:

    {"k": "try", "ref", "trigger", "expected"}        before the call (flushed)
    {"k": "ok", "ref", "trigger", "seq", "version", "state"}   after it returned (flushed and fsynced:
                                                        the acknowledgement, written before the next call)
    {"k": "stale" | "refused" | "refused_stale" | "denied_stale" | "error", ...}   when it raised

A refusal (by the engine, or AccessDenied for want of a ground on the case) is expected only for the few
requests the worker makes wrong on purpose (`bad` in the try line). A valid request refused by the engine while
the case changed under it is journaled as "refused_stale" (a conflict that came back as a refusal instead of
StaleCase). A valid request of intake's denied because a concurrent change took the case out of intake is
journaled as "denied_stale": the ground is checked before the version, so whoever has lost their ground learns
nothing of the case, its version included. The same holds for a caseworker whose assignment a concurrent
closing ended (closing a case ends its assignments). Anything else that raises, StaleCase apart, is an error. The parent
may SIGKILL the worker at any moment, so a journal may end in a "try" line or a torn line.

The parent assigns each worker's caseworker to every case; intake has a ground only on cases in intake. A
closed case's assignments have ended, so before a caseworker's step on a case reopened since, the worker
assigns its caseworker again (as its decision maker: no version, no log entry).
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
import traceback
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from cases import Database, StaleCase, fire_trigger
from cases.casework.access import assign_case
from cases.crypto.keys import FileKeyStore
from cases.errors import AccessDenied
from cases.models import Assignment, Case
from workflow import Actor, TransitionRefused
from workflow.deadlines import local_date
from workflow.hearing import Assessment

TIMEZONE = "Europe/Stockholm"
OUTCOMES = ("no_need", "completed", "referred_elsewhere")
INTAKE_STATES = ("registered", "protection_assessment", "pre_assessment")  # where intake has a ground
BAD_RATE = 0.05  # this share of requests is wrong on purpose: it must be refused and write nothing


def plan(state: str, child: bool, version: int, rng: random.Random) -> tuple[str, str, dict[str, Any]]:
    """A trigger allowed from `state`, the role that may fire it, and a valid form for it."""
    reason = {"reason": "Bedömning enligt rutin."}
    if state == "registered":
        return ("assess_protection", "intake", {}) if child else ("start_pre_assessment", "intake", {})
    if state == "protection_assessment":
        return "start_pre_assessment", "intake", {"protection_assessment": "Ingen akut skyddsbrist."}
    if state == "pre_assessment":
        return "open_investigation", "decider", {**reason, "legal_basis": "sol_11_1"}
    if state == "investigation":
        pick = rng.random()
        if pick < 0.5:
            return "request_consent", "caseworker", {"proposed_intervention": "other_support"}
        if pick < 0.8:
            # Later than any date an earlier extension of this case can have set: the case's version only
            # grows, and the fire is pinned to this version.
            today = local_date(datetime.now(UTC), TIMEZONE)
            return "extend_investigation", "decider", {**reason, "new_due_on": today + timedelta(400 + version)}
        # not no_need: closing an investigation finding no need waits for kommunicering (workflow.hearing)
        return "close_case", "decider", {**reason, "outcome": rng.choice(OUTCOMES[1:])}
    if state == "awaiting_consent":
        if rng.random() < 0.6:
            return "consent_refused", "caseworker", reason
        return "start_other_support", "caseworker", reason
    if state == "other_support":
        return "start_follow_up", "caseworker", {}
    if state == "follow_up":
        return ("reopen", "decider", reason) if rng.random() < 0.7 else (
            "close_case", "decider", {**reason, "outcome": rng.choice(OUTCOMES)})
    if state == "closed":
        return "reopen", "decider", reason
    raise AssertionError(f"the workload never leads to {state!r}")


def assessment(state: str, trigger: str, child: bool) -> Assessment | None:
    """A child's structured assessment for the steps that record one (workflow.hearing)."""
    if not child or (state, trigger) not in (("protection_assessment", "start_pre_assessment"),
                                             ("pre_assessment", "open_investigation")):
        return None
    decision = "no_protection_needed" if state == "protection_assessment" else None
    return Assessment("Bedömning enligt rutin.", decision, child_view="Barnets uppfattning.")


def plan_bad(state: str, rng: random.Random) -> tuple[str, str, dict[str, Any]]:
    """A request that must be refused: a trigger from the wrong state, the right one in the wrong role, or
    intake on a case past intake (no ground on it)."""
    if state != "closed" and rng.random() < 0.5:
        return "erase", "decider", {}  # only from closed, and only for the system role
    if state in ("investigation", "awaiting_consent", "other_support", "follow_up", "closed"):
        return "reopen" if state in ("follow_up", "closed") else "start_follow_up", "intake", {"reason": "x"}
    return "close_case", "caseworker", {"reason": "x", "outcome": "no_need"}


def assigned(db: Database, caseworker: Actor, ref: str) -> bool:
    """Whether the caseworker's assignment to the case is open (closing the case ends it)."""
    with db.read() as session:
        return session.execute(select(Assignment.id).join(Case, Case.id == Assignment.case_id).where(
            Case.ref == ref, Assignment.staff_id == caseworker.id, Assignment.ended_at.is_(None))).first() is not None


class Journal:
    def __init__(self, path: str) -> None:
        self.file = open(path, "a", encoding="utf-8")  # noqa: SIM115 -- closed in close()

    def write(self, record: dict[str, Any], *, sync: bool = False) -> None:
        self.file.write(json.dumps(record, default=str) + "\n")
        self.file.flush()
        if sync:
            os.fsync(self.file.fileno())

    def close(self) -> None:
        self.file.close()


def run(config: dict[str, Any], incarnation: int, journal: Journal) -> dict[str, int]:
    rng = random.Random(config["seed"] * 1000 + incarnation)
    cases = config["cases"]
    actors = {role: Actor(id_, role) for role, id_ in config["incarnations"][incarnation].items()}
    deadline, budget, stop_file = config["deadline"], config["max_calls"], config["stop_file"]
    counts = {"ok": 0, "stale": 0, "refused": 0, "refused_stale": 0, "denied_stale": 0, "error": 0}
    db = Database(config["url"], keys=FileKeyStore(config["keys"]))
    try:
        journal.write({"k": "start", "pid": os.getpid()}, sync=True)
        for _ in range(budget):
            if time.time() >= deadline or os.path.exists(stop_file):
                break
            case = rng.choice(cases)
            with db.read() as session:
                state, version = session.execute(
                    select(Case.state, Case.version).where(Case.ref == case["ref"])
                ).one()
            bad = rng.random() < BAD_RATE
            if bad:
                trigger, role, payload = plan_bad(state, rng)
            else:
                trigger, role, payload = plan(state, case["child"], version, rng)
            if role == "caseworker" and not bad and not assigned(db, actors["caseworker"], case["ref"]):
                assign_case(db, actors["decider"], case["ref"], actors["caseworker"].id)  # reopened since closing
            if rng.random() < 0.5:
                time.sleep(rng.uniform(0, 0.005))  # widen the window between reading and firing
            journal.write({"k": "try", "ref": case["ref"], "trigger": trigger, "expected": version, "bad": bad})
            try:
                fired = fire_trigger(db, actors[role], case["ref"], trigger, payload, expected_version=version,
                                     assessment=assessment(state, trigger, case["child"]))
            except StaleCase:
                counts["stale"] += 1
                journal.write({"k": "stale", "ref": case["ref"]})
            except (TransitionRefused, AccessDenied) as exc:
                kind = "refused" if bad else "error"
                if not bad:
                    # A valid request refused: acceptable only as a conflict (the case changed since it was
                    # read). By the engine, fire_trigger should have reported it as StaleCase (the parent
                    # decides); for want of a ground, only intake's, on a case no longer in intake.
                    with db.read() as session:
                        now_at, now_in = session.execute(
                            select(Case.version, Case.state).where(Case.ref == case["ref"])).one()
                    if now_at != version and not isinstance(exc, AccessDenied):
                        kind = "refused_stale"
                    elif now_at != version and role == "intake" and now_in not in INTAKE_STATES:
                        kind = "denied_stale"
                    elif now_at != version and role == "caseworker" and not assigned(db, actors[role], case["ref"]):
                        kind = "denied_stale"  # a concurrent closing ended the assignment
                counts[kind] += 1
                journal.write({"k": kind, "ref": case["ref"], "trigger": trigger,
                               "error": f"{type(exc).__name__}: {exc}"})
            except Exception as exc:
                counts["error"] += 1
                journal.write({"k": "error", "ref": case["ref"], "trigger": trigger,
                               "error": f"{type(exc).__name__}: {exc}"[:2000],
                               "traceback": traceback.format_exc()[-4000:]})
            else:
                counts["ok"] += 1
                if bad:
                    counts["error"] += 1
                journal.write({"k": "ok", "ref": fired.ref, "trigger": trigger, "seq": fired.seq,
                               "version": fired.version, "state": fired.state, "bad": bad}, sync=True)
        journal.write({"k": "done", **counts}, sync=True)
        return counts
    finally:
        db.dispose()


def main(argv: list[str]) -> int:
    config_path, incarnation, journal_path = argv[0], int(argv[1]), argv[2]
    with open(config_path, encoding="utf-8") as f:
        config = json.load(f)
    journal = Journal(journal_path)
    try:
        run(config, incarnation, journal)
    finally:
        journal.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
