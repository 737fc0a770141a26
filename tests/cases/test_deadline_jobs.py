"""The deadline job on both databases, on a fixed clock (issue 19 item 2): a reminder before a statutory deadline to
the people who hold the case, never twice; escalation to the decision makers once it has passed; a stopped deadline
silent; a concern marked as acute danger alerted to intake by the next run. The notifications go through a
recording fake with exactly the signature of `cases.notifications.notify`."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from cases import ConcernForm, add_staff, fire_trigger, register_concern
from cases.casework.access import assign_case
from cases.casework.worklist import work_list
from cases.deadlines import Notify, run_deadline_jobs
from cases.models import Case, Deadline, DeadlineNotice, Staff
from tests.conftest import NOW
from workflow.hearing import Assessment

CONCERN = "Oro för radikalisering."  # a generated concern: no real person


class Recorder:
    """A fake `notify`: records each call, and counts its recipients as new (the real one dedups on the key)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, tuple[str, ...], str | None]] = []

    def __call__(self, session: Session, *, recipients: Iterable[str], kind: str, key: str, now: datetime,
                 case_ref: str | None = None) -> int:
        assert isinstance(session, Session) and now.tzinfo is not None
        who = tuple(recipients)
        self.calls.append((kind, key, who, case_ref))
        return len(who)

    def of(self, kind: str) -> list[tuple[str, str, tuple[str, ...], str | None]]:
        return [call for call in self.calls if call[0] == kind]


def at(day: str, hour: int = 7) -> datetime:
    """A moment on a Stockholm working morning (UTC), `day` as YYYY-MM-DD."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


@pytest.fixture
def staff(staff, db):
    return {**staff, "intake2": add_staff(db, "intake-2", "Second intake", "intake"),
            "decider2": add_staff(db, "decider-2", "Second decider", "decider")}


def register(db, staff, number, *, acute=False, when=NOW) -> str:
    form = ConcernForm(concern=CONCERN, reporter_org="school", identity_number=number, acute_danger=acute)
    return register_concern(db, staff["reporter"], form, now=when).ref


def protect(db, staff, ref, when=NOW) -> None:
    """Intake's protection assessment, which stops its deadline."""
    fire_trigger(db, staff["intake"], ref, "assess_protection", {}, now=when)
    fire_trigger(db, staff["intake"], ref, "start_pre_assessment", {"protection_assessment": "Ingen akut fara"},
                 now=when + timedelta(minutes=5),
                 assessment=Assessment("Skolan och hemmet.", "no_protection_needed", child_view="Känner sig trygg."))


def running(db) -> dict[str, tuple[int, object]]:
    with db.read() as session:
        return {name: (deadline_id, due) for deadline_id, name, due in session.execute(
            select(Deadline.id, Deadline.name, Deadline.due_on).where(Deadline.stopped_at.is_(None)))}


def test_the_fake_has_exactly_the_contracts_signature():
    fake, contract = inspect.signature(Recorder.__call__), inspect.signature(Notify.__call__)
    assert list(fake.parameters) == list(contract.parameters)
    for name, parameter in contract.parameters.items():
        assert (parameter.kind, parameter.default) == (fake.parameters[name].kind, fake.parameters[name].default)


def test_a_reminder_before_the_pre_assessment_once_to_intake_while_nobody_holds_it(db, staff, child_number):
    """Pre-assessment due 10 December 2026 (received 26 November + 14 days), reminded three working days before:
    Monday 7 December. Not on Friday the 4th, once on the 7th, not again that day or the next."""
    ref = register(db, staff, child_number)
    deadlines = running(db)
    pre_id, due = deadlines["pre_assessment"]
    assert str(due) == "2026-12-10"
    notify = Recorder()
    protect(db, staff, ref)
    assert "protection_assessment" not in running(db)  # stopped by the step
    run_deadline_jobs(db, now=at("2026-12-04"), notify=notify)
    assert notify.of("deadline_reminder") == []
    summary = run_deadline_jobs(db, now=at("2026-12-07"), notify=notify)
    intake = tuple(sorted((staff["intake"].id, staff["intake2"].id)))
    assert notify.of("deadline_reminder") == [("deadline_reminder", f"deadline:{pre_id}:reminder", intake, ref)]
    assert summary == "1 reminder, 0 escalations, 0 acute alerts (2 notifications)"
    assert run_deadline_jobs(db, now=at("2026-12-07", 12), notify=notify) == (
        "0 reminders, 0 escalations, 0 acute alerts (0 notifications)")
    run_deadline_jobs(db, now=at("2026-12-08"), notify=notify)
    assert len(notify.calls) == 1


def test_the_reminder_goes_to_the_assigned_staff_and_the_escalation_to_the_decision_makers(db, staff, child_number):
    ref = register(db, staff, child_number)
    assign_case(db, staff["intake"], ref, staff["caseworker"].id, now=NOW)
    pre_id, _ = running(db)["pre_assessment"]
    notify = Recorder()
    run_deadline_jobs(db, now=at("2026-12-07"), notify=notify)
    reminders = {key: who for _, key, who, _ in notify.of("deadline_reminder")}
    assert reminders[f"deadline:{pre_id}:reminder"] == (staff["caseworker"].id,)
    # the protection assessment (due the day it came) was reminded too, and has passed since: escalated
    passed = notify.of("deadline_passed")
    deciders = tuple(sorted((staff["decider"].id, staff["decider2"].id)))
    assert [(key, who) for _, key, who, _ in passed] == [
        (f"deadline:{running(db)['protection_assessment'][0]}:passed", deciders)]
    assert run_deadline_jobs(db, now=at("2026-12-10", 20), notify=notify).startswith("0 reminders, 0 escalations")
    # 11 December: the pre-assessment's due day is over and it still runs
    assert run_deadline_jobs(db, now=at("2026-12-11"), notify=notify).startswith("0 reminders, 1 escalation,")
    assert notify.of("deadline_passed")[-1] == ("deadline_passed", f"deadline:{pre_id}:passed", deciders, ref)
    assert run_deadline_jobs(db, now=at("2026-12-14"), notify=notify).startswith("0 reminders, 0 escalations")


def test_a_stopped_deadline_is_silent(db, staff, child_number):
    """The protection assessment's deadline, stopped by the step on the day it was due, is never reminded nor
    escalated, however late the job runs; the pre-assessment's, still running, is."""
    ref = register(db, staff, child_number, when=NOW - timedelta(hours=2))
    with db.read() as session:
        protection_id = session.scalar(select(Deadline.id).where(Deadline.name == "protection_assessment"))
    protect(db, staff, ref)
    notify = Recorder()
    for day in ("2026-11-26", "2026-11-27", "2026-12-07", "2026-12-11", "2027-04-01"):
        run_deadline_jobs(db, now=at(day), notify=notify)
    assert [key for _, key, _, _ in notify.calls] == [
        f"deadline:{running(db)['pre_assessment'][0]}:{kind}" for kind in ("reminder", "passed")]
    assert str(protection_id) not in " ".join(key for _, key, _, _ in notify.calls)


def test_an_acute_concern_alerts_intake_at_the_next_run_once(db, staff, child_number, adult_number):
    plain = register(db, staff, adult_number)
    acute = register(db, staff, child_number, acute=True, when=NOW + timedelta(minutes=1))
    notify = Recorder()
    assert ", 0 acute alerts (" in run_deadline_jobs(db, now=NOW + timedelta(seconds=30), notify=notify)
    run_deadline_jobs(db, now=NOW + timedelta(minutes=2), notify=notify)
    intake = tuple(sorted((staff["intake"].id, staff["intake2"].id)))
    alerts = notify.of("acute_concern")
    assert len(alerts) == 1 and alerts[0][2:] == (intake, acute) and alerts[0][3] != plain
    assert alerts[0][1].startswith("case:") and alerts[0][1].endswith(":acute")
    run_deadline_jobs(db, now=NOW + timedelta(minutes=7), notify=notify)
    assert len(notify.of("acute_concern")) == 1


def test_an_acute_concern_older_than_the_window_is_no_news(db, staff, child_number):
    register(db, staff, child_number, acute=True)
    notify = Recorder()
    assert ", 0 acute alerts (" in run_deadline_jobs(db, now=NOW + timedelta(hours=49), notify=notify)
    assert ", 1 acute alert (" in run_deadline_jobs(db, now=NOW + timedelta(hours=47), notify=Recorder())


def test_an_acute_concern_that_arrived_days_before_it_was_registered_alerts_at_the_next_run(db, staff,
                                                                                           child_number):
    """Intake recorded an arrival three days back (by phone): the window runs from the registration."""
    form = ConcernForm(concern=CONCERN, reporter_org="school", identity_number=child_number, acute_danger=True,
                       received_at=NOW - timedelta(days=3), arrival_reason="Kom in per telefon till mottagningen.")
    ref = register_concern(db, staff["intake"], form, now=NOW).ref
    notify = Recorder()
    assert ", 1 acute alert (" in run_deadline_jobs(db, now=NOW + timedelta(minutes=1), notify=notify)
    assert [call[3] for call in notify.of("acute_concern")] == [ref]
    assert ", 0 acute alerts (" in run_deadline_jobs(db, now=NOW + timedelta(minutes=2), notify=Recorder())


def set_active(db, role: str, active: bool) -> None:
    with db.write() as session:
        session.execute(update(Staff).where(Staff.role == role).values(active=active))


def test_a_reminder_nobody_would_hear_goes_to_the_decision_makers_and_is_never_lost(db, staff, child_number):
    """An unassigned case held by intake while no intake officer is active: the reminder goes to the decision
    makers; with no decision maker active either, nobody is told and nothing is claimed, and the next run after
    one is active again tells them."""
    ref = register(db, staff, child_number)
    protect(db, staff, ref)
    pre_id, _ = running(db)["pre_assessment"]
    set_active(db, "intake", False)
    set_active(db, "decider", False)
    notify = Recorder()
    summary = run_deadline_jobs(db, now=at("2026-12-07"), notify=notify)
    assert summary.startswith("0 reminders,") and "1 with nobody to tell" in summary
    assert notify.calls == []
    with db.read() as session:
        assert session.scalars(select(DeadlineNotice)).all() == []
    set_active(db, "decider", True)
    assert run_deadline_jobs(db, now=at("2026-12-07", 9), notify=notify).startswith("1 reminder,")
    deciders = tuple(sorted((staff["decider"].id, staff["decider2"].id)))
    assert notify.of("deadline_reminder") == [("deadline_reminder", f"deadline:{pre_id}:reminder", deciders, ref)]


def test_a_case_whose_assignees_are_all_disabled_is_reminded_to_its_holding_role(db, staff, child_number):
    ref = register(db, staff, child_number)
    protect(db, staff, ref)
    assign_case(db, staff["intake"], ref, staff["caseworker"].id, now=NOW)
    set_active(db, "caseworker", False)
    notify = Recorder()
    assert run_deadline_jobs(db, now=at("2026-12-07"), notify=notify).startswith("1 reminder,")
    intake = tuple(sorted((staff["intake"].id, staff["intake2"].id)))
    assert [who for _, _, who, _ in notify.of("deadline_reminder")] == [intake]


def test_more_untellable_notices_than_a_batch_do_not_stop_the_run(db, staff, child_number, monkeypatch):
    """Passed over, not read again forever: a run with more notices nobody can hear than a batch ends, and tells
    the ones behind them."""
    import cases.deadlines.jobs as jobs

    monkeypatch.setattr(jobs, "BATCH", 2)
    first = register(db, staff, child_number)
    protect(db, staff, first)
    with db.write() as session:
        case_id = session.scalar(select(Case.id).where(Case.ref == first))
        session.add_all(Deadline(case_id=case_id, name="pre_assessment", started_at=NOW,
                                 due_on=datetime(2026, 12, 8).date()) for _ in range(5))
    set_active(db, "intake", False)
    set_active(db, "decider", False)
    summary = run_deadline_jobs(db, now=at("2026-12-07"), notify=Recorder())
    assert summary.startswith("0 reminders,") and "6 with nobody to tell" in summary
    set_active(db, "decider", True)
    assert run_deadline_jobs(db, now=at("2026-12-07", 9), notify=Recorder()).startswith("6 reminders,")


def test_what_a_failed_batch_claimed_is_claimed_again(db, staff, child_number):
    """The notices and the notifications are one transaction: a notify that fails leaves nothing claimed."""
    register(db, staff, child_number)

    def failing(session, *, recipients, kind, key, now, case_ref=None) -> int:
        raise RuntimeError("mail queue down")

    with pytest.raises(RuntimeError):
        run_deadline_jobs(db, now=at("2026-11-26", 8), notify=failing)
    with db.read() as session:
        assert session.scalars(select(DeadlineNotice)).all() == []
    notify = Recorder()
    assert run_deadline_jobs(db, now=at("2026-11-26", 8), notify=notify).startswith("1 reminder,")


def test_a_naive_now_is_refused(db):
    with pytest.raises(ValueError, match="timezone-aware"):
        run_deadline_jobs(db, now=datetime(2026, 12, 7, 7), notify=Recorder())


def test_two_runs_racing_tell_each_deadline_exactly_once(db, staff, child_number):
    """Two servers run the job at the same moment over 1,200 due reminders (more than two batches): every
    deadline is reminded by exactly one of them, and the notices say so."""
    ref = register(db, staff, child_number)
    with db.write() as session:
        case_id = session.scalar(select(Deadline.case_id))
        session.add_all(Deadline(case_id=case_id, name="pre_assessment", started_at=NOW,
                                 due_on=datetime(2026, 12, 10).date()) for _ in range(1200))
    recorders, errors = [Recorder(), Recorder()], []
    start = threading.Barrier(2, timeout=30)

    def worker(notify: Recorder) -> None:
        try:
            start.wait()
            run_deadline_jobs(db, now=at("2026-12-07"), notify=notify)
        except Exception as exc:  # reported below: a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(recorder,)) for recorder in recorders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads) and errors == []
    keys = [key for recorder in recorders for _, key, _, _ in recorder.of("deadline_reminder")]
    assert len(keys) == len(set(keys)) == 1201  # the registered case's own pre-assessment too
    assert {case_ref for recorder in recorders for *_, case_ref in recorder.calls} == {ref}
    with db.read() as session:
        assert len(session.scalars(select(DeadlineNotice).where(DeadlineNotice.kind == "reminder")).all()) == 1201


def test_the_work_list_marks_due_soon_from_the_day_the_reminder_goes(db, staff, child_number):
    """The pre-assessment due Thursday 10 December is "due soon" on the list from Monday the 7th (three working
    days before, the reminder's own day), not on Friday the 4th; overdue from the 11th."""
    ref = register(db, staff, child_number)
    protect(db, staff, ref)

    def mark(day: str) -> tuple[bool, bool]:
        [item] = [i for i in work_list(db, staff["intake"], today=datetime.fromisoformat(day).date()).items
                  if i.ref == ref]
        assert item.deadline == "pre_assessment"
        return item.soon, item.overdue

    assert mark("2026-12-04") == (False, False)
    assert mark("2026-12-07") == (True, False)
    assert mark("2026-12-10") == (True, False)
    assert mark("2026-12-11") == (False, True)


def plans(db, staff) -> list[str]:
    """The database's plan for each query the job reads through (caught on their way to the driver, with their
    values); on PostgreSQL with sequential scans priced out, as on a table of a million cases."""
    seen = []

    def catch(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().startswith("SELECT") and "LIMIT" in statement and "deadline_notices" in statement:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", catch)
    try:
        run_deadline_jobs(db, now=at("2026-12-07"), notify=Recorder())
    finally:
        event.remove(db.engine, "before_cursor_execute", catch)
    found = []
    with db.engine.connect() as connection:
        for statement, parameters in seen:
            if db.is_sqlite:
                rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                found.append("\n".join(row[-1] for row in rows))
            else:
                connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
                found.append("\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement,
                                                                                     parameters)))
    return found


def test_each_kind_is_one_query_through_its_index(db, staff, child_number):
    """Reminders, escalations and acute alerts: one query each (a batch), the running deadlines read through the
    partial index by due day and the acute concerns through theirs, what was told left out by its key."""
    register(db, staff, child_number, acute=True)
    reminders, passed, acute = plans(db, staff)
    for plan in (reminders, passed):
        assert "ix_deadlines_running_due_on" in plan, plan
    assert "ix_cases_acute_received_at" in acute, acute
    for plan in (reminders, passed, acute):
        assert "pk_deadline_notices" in plan or "sqlite_autoindex_deadline_notices" in plan, plan


def test_a_deadline_left_running_on_a_closed_or_erased_case_tells_nobody(db, staff, child_number):
    """Closing stops a case's deadlines; one left running all the same (an older version's path, a repair by
    hand) is nobody's work once the case is closed or erased."""
    first = register(db, staff, child_number)
    with db.write() as session:
        session.execute(update(Case).where(Case.ref == first).values(state="closed"))
    notify = Recorder()
    assert run_deadline_jobs(db, now=at("2026-12-11"), notify=notify).startswith("0 reminders, 0 escalations")
    with db.write() as session:
        session.execute(update(Case).where(Case.ref == first).values(state="registered"))
    assert run_deadline_jobs(db, now=at("2026-12-11"), notify=notify).startswith("0 reminders, 2 escalations")
