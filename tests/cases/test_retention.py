"""Thinning on both databases: six years of generated cases, the clock passed in. The dry run lists exactly the
cases past retention minus the exceptions (research sample, legal hold, the same person's later case) and changes
nothing; the real run erases them through the flowchart's step as the system, a second run erases nothing, and
the logs verify afterwards. Legal holds are placed and lifted only by the roles retention.toml names."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from cases import ConcernForm, register_concern
from cases.audit.auditing import BESIDE_THE_STEPS
from cases.audit.verify import verify
from cases.crypto.identity import generate_identity_number
from cases.errors import InvalidConcern, KeyDestroyed, NotPermitted
from cases.models import AccessLogEntry, Case, CaseEvent, LegalHold, TransitionLogEntry
from cases.reports.demo import PATHS, drive
from cases.retention import (
    LEGAL_HOLD,
    RESEARCH_SAMPLE,
    SAME_PERSON,
    Listed,
    Plan,
    case_holds,
    erase_due,
    lift_hold,
    place_hold,
    run_retention_job,
    thinning_plan,
)
from policies.routines.retention import HOLD_LIFTED, HOLD_PLACED, load_retention
from tests.conftest import NOW
from workflow import VidoroError

CLOSE = PATHS["erased"][1][:2]  # an adult's pre-assessment, closed without investigation six days on
HOLD_REASON = "Markörtext-R19 begärd av förvaltningsrätten i mål om skadestånd"  # never in a log or an answer


def _at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 9, 0, tzinfo=UTC)


def _case(db, staff, born: date, serial: int, received: datetime, *, close: bool = True) -> str:
    """A generated adult's concern received at `received`, closed six days on (or left at registration)."""
    form = ConcernForm(concern="Oro för radikalisering.", reporter_org="school",
                       identity_number=generate_identity_number(born, serial), given_name="Test", family_name="Person")
    ref = register_concern(db, staff["reporter"], form, now=received).ref
    if close:
        drive(db, staff, ref, CLOSE, received)
    return ref


@pytest.fixture
def six_years(db, staff):
    """Cases over six years up to NOW (2026-11-26): each name says what thinning must do with it."""
    refs = {
        "old": _case(db, staff, date(1990, 3, 3), 111, _at(2020, 1, 10)),
        "past": _case(db, staff, date(1991, 4, 12), 112, _at(2021, 6, 1)),
        "just_past": _case(db, staff, date(1992, 9, 28), 113, _at(2021, 11, 13)),  # closed 2021-11-19
        "not_yet": _case(db, staff, date(1993, 1, 4), 114, _at(2021, 11, 30)),  # closed 2021-12-06
        "sample_5": _case(db, staff, date(1994, 2, 5), 115, _at(2020, 5, 1)),
        "sample_25": _case(db, staff, date(1995, 12, 25), 116, _at(2021, 2, 1)),
        "held": _case(db, staff, date(1996, 6, 8), 117, _at(2020, 8, 1)),
        "open": _case(db, staff, date(1997, 7, 9), 118, _at(2020, 2, 1), close=False),
        "recent": _case(db, staff, date(1998, 8, 10), 119, _at(2024, 3, 1)),
        "earlier_of_person": _case(db, staff, date(1989, 10, 11), 121, _at(2020, 4, 1)),
        "later_of_person": _case(db, staff, date(1989, 10, 11), 121, _at(2023, 4, 1)),
        "old_person_both": _case(db, staff, date(1988, 11, 13), 122, _at(2019, 12, 1)),
        "old_person_both_2": _case(db, staff, date(1988, 11, 13), 122, _at(2020, 10, 1)),
    }
    place_hold(db, staff["decider"], refs["held"], HOLD_REASON, now=NOW - timedelta(days=30))
    return refs


DUE = {"old", "past", "just_past", "old_person_both", "old_person_both_2"}
KEPT = {"sample_5": RESEARCH_SAMPLE, "sample_25": RESEARCH_SAMPLE, "held": LEGAL_HOLD,
        "earlier_of_person": SAME_PERSON}


def _counts(db) -> dict[str, int]:
    with db.read() as session:
        return {table.__tablename__: session.scalar(select(func.count()).select_from(table)) or 0
                for table in (Case, TransitionLogEntry, AccessLogEntry, CaseEvent, LegalHold)}


def _states(db) -> dict[str, str]:
    with db.read() as session:
        return {ref: state for ref, state in session.execute(select(Case.ref, Case.state))}


def test_the_dry_run_lists_exactly_the_cases_past_retention_minus_the_exceptions_and_changes_nothing(db, six_years):
    before, states = _counts(db), _states(db)
    plan = thinning_plan(db, now=NOW)
    names = {ref: name for name, ref in six_years.items()}
    assert {names[i.ref] for i in plan.due} == DUE
    assert {names[i.ref]: i.kept_because for i in plan.kept} == KEPT
    assert all(i.state == "closed" and i.flowchart == "vid_oro" for i in (*plan.due, *plan.kept))
    assert _counts(db) == before and _states(db) == states
    for ref in six_years.values():  # no key was destroyed
        with db.read() as session:
            case_id = session.scalar(select(Case.id).where(Case.ref == ref))
        db.vault.case_key(case_id)


def test_the_run_erases_them_as_the_system_and_a_second_run_erases_nothing(db, six_years):
    names = {ref: name for name, ref in six_years.items()}
    first = run_retention_job(db, now=NOW)
    assert first.startswith(f"{len(DUE)} erased, 0 failed, {len(KEPT)} kept")
    states = _states(db)
    assert {names[ref] for ref, state in states.items() if state == "erased"} == DUE
    with db.read() as session:
        rows = session.execute(select(TransitionLogEntry.case_ref, TransitionLogEntry.entry)
                               .where(TransitionLogEntry.trigger == "erase")).all()
        erased_ids = session.scalars(select(Case.id).where(Case.state == "erased")).all()
    assert {names[r] for r, _ in rows} == DUE
    assert {json.loads(bytes(e))["role"] for _, e in rows} == {"system"}
    for case_id in erased_ids:
        with pytest.raises(KeyDestroyed):
            db.vault.case_key(case_id)
    before = _counts(db)
    second = run_retention_job(db, now=NOW)
    assert second.startswith(f"0 erased, 0 failed, {len(KEPT)} kept")
    assert _counts(db) == before and _states(db) == states
    assert verify(db, "unused").ok
    assert HOLD_REASON not in first + second


def test_a_year_on_the_later_case_of_the_same_person_still_keeps_the_earlier_one_until_it_is_past(db, six_years):
    run_retention_job(db, now=NOW)
    names = {ref: name for name, ref in six_years.items()}
    later = thinning_plan(db, now=_at(2028, 5, 1))  # "later_of_person" closed 2023-04-07: past on 2028-04-07
    assert {names[i.ref] for i in later.due} == {"earlier_of_person", "later_of_person", "not_yet"}


def test_a_lifted_hold_lets_the_case_go_and_a_case_that_fails_does_not_stop_the_others(db, staff, six_years,
                                                                                     monkeypatch):
    lift_hold(db, staff["decider"], six_years["held"], "Målet är avgjort.", now=NOW - timedelta(days=1))
    plan = thinning_plan(db, now=NOW)
    assert six_years["held"] in {i.ref for i in plan.due}
    from cases.retention import thinning

    real = thinning.erase_case

    def failing(db_, ref, *, now):
        if ref == six_years["old"]:
            raise RuntimeError("disk full")
        return real(db_, ref, now=now)

    monkeypatch.setattr(thinning, "erase_case", failing)
    done = erase_due(db, now=NOW, plan=plan)
    assert done.failed == ((six_years["old"], "RuntimeError"),)
    assert set(done.erased) == {i.ref for i in plan.due} - {six_years["old"]}
    assert _states(db)[six_years["old"]] == "closed"


def test_a_hold_placed_after_the_plan_is_respected_under_the_lock(db, staff, six_years):
    plan = thinning_plan(db, now=NOW)
    place_hold(db, staff["decider"], six_years["past"], "Tillsynsärende pågår.", now=NOW)
    done = erase_due(db, now=NOW, plan=plan)
    assert six_years["past"] in done.skipped and _states(db)[six_years["past"]] == "closed"


@pytest.mark.parametrize("role", ["reporter", "coordinator", "intake", "caseworker", "partner", "auditor", "admin",
                                  "system"])
def test_only_the_roles_of_retention_toml_place_lift_or_read_a_hold(db, staff, six_years, role):
    assert role not in load_retention().place_roles | load_retention().lift_roles
    before = _counts(db)
    with pytest.raises(NotPermitted):
        place_hold(db, staff[role], six_years["past"], "Skäl.", now=NOW)
    with pytest.raises(NotPermitted):
        lift_hold(db, staff[role], six_years["held"], "Skäl.", now=NOW)
    with pytest.raises(NotPermitted):
        case_holds(db, staff[role], six_years["held"], now=NOW)
    assert _counts(db) == before


def test_a_hold_is_logged_beside_the_steps_with_its_reason_sealed_and_read_with_a_ground(db, staff, six_years):
    ref = six_years["held"]
    with db.read() as session:
        rows = session.execute(select(TransitionLogEntry.trigger, TransitionLogEntry.entry)
                               .where(TransitionLogEntry.case_ref == ref)).all()
        sealed = session.scalars(select(LegalHold.reason)).all()
    assert HOLD_PLACED in BESIDE_THE_STEPS and HOLD_LIFTED in BESIDE_THE_STEPS
    assert HOLD_PLACED in {t for t, _ in rows}
    assert all(HOLD_REASON.encode() not in bytes(e) for _, e in rows)
    assert all(HOLD_REASON.encode() not in bytes(s) for s in sealed)
    with pytest.raises(InvalidConcern):
        place_hold(db, staff["decider"], ref, "En till.", now=NOW)
    with pytest.raises(InvalidConcern):
        lift_hold(db, staff["decider"], six_years["past"], "Ingen.", now=NOW)
    with pytest.raises(InvalidConcern):
        place_hold(db, staff["decider"], six_years["past"], "   ", now=NOW)
    items = case_holds(db, staff["decider"], ref, now=NOW)
    assert [(i.reason, i.active) for i in items] == [(HOLD_REASON, True)]
    assert HOLD_REASON not in repr(items)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(AccessLogEntry)
                              .where(AccessLogEntry.case_ref == ref)) == 1
    assert verify(db, "unused").ok


def test_a_hold_does_not_start_the_retention_period_again(db, staff, six_years):
    with db.read() as session:
        before = session.scalar(select(Case.updated_at).where(Case.ref == six_years["past"]))
    place_hold(db, staff["decider"], six_years["past"], "Skäl.", now=NOW)
    lift_hold(db, staff["decider"], six_years["past"], "Skäl upphört.", now=NOW)
    with db.read() as session:
        assert session.scalar(select(Case.updated_at).where(Case.ref == six_years["past"])) == before
    assert six_years["past"] in {i.ref for i in thinning_plan(db, now=NOW).due}


def test_a_relatives_own_matter_is_thinned_by_the_same_rule(db, staff):
    from cases import fire_trigger
    from cases.relatives import RelativeForm, inform_relative

    form = ConcernForm(concern="Oro.", reporter_org="school", birth_date=date(1999, 6, 1), given_name="Subjekt",
                       family_name="Testsson")
    ref = register_concern(db, staff["reporter"], form, now=_at(2020, 1, 10)).ref
    last = drive(db, staff, ref, list(PATHS["investigation"][1]), _at(2020, 1, 10)) + timedelta(hours=1)
    relative = inform_relative(db, staff["caseworker"], ref, RelativeForm(
        wants_support=True, relationship="parent", identity_number=generate_identity_number(date(1978, 4, 9), 262),
        given_name="Anhörig", family_name="Testsson"), now=last).relative_ref
    fire_trigger(db, staff["decider"], relative, "decline_support", {"reason": "Vill inte.", "outcome": "not_wanted"},
                 now=last + timedelta(days=1))
    plan = thinning_plan(db, now=NOW)
    assert [(i.ref, i.state, i.flowchart) for i in plan.due] == [(relative, "closed", "relative_support")]
    assert plan.kept == ()
    assert run_retention_job(db, now=NOW).startswith("1 erased, 0 failed, 0 kept")
    assert _states(db) == {ref: "investigation", relative: "erased"}
    assert verify(db, "unused").ok


def test_two_runs_at_once_erase_each_case_exactly_once(db, six_years):
    """Two workers racing over the same plan: the case row's lock and the state checked under it decide, so
    each case is erased once and the other run passes it by (bounded: two threads, joined within a minute)."""
    import threading

    plan = thinning_plan(db, now=NOW)
    results: list = []

    def worker() -> None:
        results.append(erase_due(db, now=NOW, plan=plan))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads) and len(results) == 2
    assert [r.failed for r in results] == [(), ()]
    assert sorted(ref for r in results for ref in r.erased) == sorted(i.ref for i in plan.due)
    with db.read() as session:
        erasures = session.scalars(select(TransitionLogEntry.case_ref).where(TransitionLogEntry.trigger == "erase"))
        assert sorted(erasures) == sorted(i.ref for i in plan.due)
    assert verify(db, "unused").ok


def _note(db, staff, ref: str, at: datetime, *, sign: bool = True) -> None:
    from cases.journal import NoteForm, sign_note, write_note

    done = write_note(db, staff["decider"], ref, NoteForm("information_received", at.date(), "Uppgift inkom."), now=at)
    if sign:
        sign_note(db, staff["decider"], ref, done.note_id, now=at + timedelta(days=1))


def test_a_note_signed_recently_is_the_last_entry_so_the_case_is_kept_until_it_is_past_too(db, staff, six_years,
                                                                                          monkeypatch):
    """Notes never touch the case row: the plan, the lock's re-check and the guard count from them all the same."""
    ref = six_years["past"]  # closed 2021-06-07: past by the case row alone
    with db.read() as session:
        updated = session.scalar(select(Case.updated_at).where(Case.ref == ref))
    _note(db, staff, ref, _at(2026, 10, 1))  # written 2026-10-01, signed 2026-10-02
    with db.read() as session:
        assert session.scalar(select(Case.updated_at).where(Case.ref == ref)) == updated
    plan = thinning_plan(db, now=NOW)
    assert ref not in {i.ref for i in (*plan.due, *plan.kept)}
    stale = Plan((*plan.due, Listed(ref, "closed", "vid_oro")), plan.kept)  # a plan made before the note
    done = erase_due(db, now=NOW, plan=stale)
    assert ref in done.skipped and _states(db)[ref] == "closed"
    from cases.retention import thinning

    with monkeypatch.context() as patched:  # the thinning's own check bypassed: the guard refuses by itself
        patched.setattr(thinning, "_past", lambda *args: True)
        with pytest.raises(VidoroError):
            thinning.erase_case(db, ref, now=NOW)
    assert _states(db)[ref] == "closed"
    assert ref not in {i.ref for i in thinning_plan(db, now=_at(2031, 10, 1)).due}  # signed 2026-10-02
    later = _at(2031, 10, 2)
    assert ref in {i.ref for i in thinning_plan(db, now=later).due}
    assert thinning.erase_case(db, ref, now=later) is not None and _states(db)[ref] == "erased"


def test_a_draft_note_counts_as_an_entry_too(db, staff, six_years):
    _note(db, staff, six_years["old"], _at(2026, 1, 15), sign=False)
    assert six_years["old"] not in {i.ref for i in thinning_plan(db, now=NOW).due}
    assert run_retention_job(db, now=NOW).startswith(f"{len(DUE) - 1} erased, 0 failed")
    assert _states(db)[six_years["old"]] == "closed"


def test_a_later_case_kept_by_a_hold_keeps_the_persons_earlier_cases_too(db, staff, six_years):
    """A person's record is thinned as a whole: a case of theirs kept for any reason keeps them all."""
    both = (six_years["old_person_both"], six_years["old_person_both_2"])
    place_hold(db, staff["decider"], both[1], HOLD_REASON, now=NOW - timedelta(days=2))
    plan = thinning_plan(db, now=NOW)
    kept = {i.ref: i.kept_because for i in plan.kept}
    assert kept[both[0]] == SAME_PERSON and kept[both[1]] == LEGAL_HOLD
    assert not set(both) & {i.ref for i in plan.due}
    run_retention_job(db, now=NOW)
    assert {_states(db)[r] for r in both} == {"closed"}
    lift_hold(db, staff["decider"], both[1], "Målet är avgjort.", now=NOW - timedelta(days=1))
    assert set(both) <= {i.ref for i in thinning_plan(db, now=NOW).due}


def test_a_hold_on_the_persons_other_case_after_the_plan_is_respected_under_the_lock(db, staff, six_years):
    both = (six_years["old_person_both"], six_years["old_person_both_2"])
    plan = thinning_plan(db, now=NOW)
    assert set(both) <= {i.ref for i in plan.due}
    place_hold(db, staff["decider"], both[1], "Tillsynsärende pågår.", now=NOW)
    done = erase_due(db, now=NOW, plan=plan)
    assert set(both) <= set(done.skipped) and {_states(db)[r] for r in both} == {"closed"}


def test_the_dry_run_of_the_plan_takes_no_write_lock(db, six_years):
    """A writer holds SQLite's write lock (BEGIN IMMEDIATE) while the plan is made: the plan only reads."""
    before = {i.ref for i in thinning_plan(db, now=NOW).due}
    with db.write() as session:
        session.execute(select(func.count()).select_from(Case))  # BEGIN IMMEDIATE on SQLite: the lock is held
        assert {i.ref for i in thinning_plan(db, now=NOW).due} == before
