"""The work list: who sees which cases, nearest deadline first, and the deadline kept on each case."""

from __future__ import annotations

import json
import re
import shutil
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from psycopg.sql import Literal
from sqlalchemy import select

from cases.access import assign_case
from cases.db import Database
from cases.demo import demo_staff, fill_demo
from cases.errors import NotPermitted
from cases.grounds import INTAKE_STATES
from cases.models import NO_DEADLINE, Case, Deadline
from cases.staff import disable_staff, set_role
from cases.worklist import MAX_PAGE, _page, _page_in_one_row, _page_query, _sqlite_rows, work_list
from tests.conftest import NOW
from workflow import Actor


@pytest.fixture
def filled(db):
    refs = fill_demo(db, per_state=1, now=NOW)
    return refs, demo_staff(db)


def test_every_case_keeps_its_running_deadline_due_first(db, filled):
    with db.read() as session:
        running = defaultdict(list)
        for d in session.scalars(select(Deadline).where(Deadline.stopped_at.is_(None))):
            running[d.case_id].append((d.due_on, d.name))
        cases = session.scalars(select(Case)).all()
    assert any(c.next_due_on != NO_DEADLINE for c in cases) and any(c.next_due_on == NO_DEADLINE for c in cases)
    for case in cases:
        first = min(running[case.id], default=(NO_DEADLINE, None))
        assert (case.next_due_on, case.next_deadline) == first, case.ref


def test_the_decider_sees_every_case_but_erased_ones_nearest_deadline_first(db, filled):
    _, staff = filled
    listing = work_list(db, staff["decider"], today=NOW.date(), per_page=500)
    with db.read() as session:
        expected = {c.ref for c in session.scalars(select(Case).where(Case.state != "erased"))}
    assert {i.ref for i in listing.items} == expected and not listing.has_next
    dues = [i.due_on for i in listing.items]
    with_due = [d for d in dues if d is not None]
    assert with_due == sorted(with_due) and dues[: len(with_due)] == with_due  # undated last
    for item in listing.items:
        assert item.overdue == (item.due_on is not None and item.due_on < NOW.date())


def test_intake_sees_cases_in_intake_and_a_caseworker_only_assigned_ones(db, filled, staff):
    refs, demo = filled
    intake = work_list(db, demo["intake"], today=NOW.date(), per_page=500)
    assert intake.items and all(i.state in INTAKE_STATES for i in intake.items)
    assert work_list(db, staff["caseworker"], today=NOW.date()).items == ()
    assign_case(db, demo["decider"], refs[0], staff["caseworker"].id, now=NOW)
    assert [i.ref for i in work_list(db, staff["caseworker"], today=NOW.date()).items] == [refs[0]]


def test_pages_and_state_filter(db, filled):
    _, staff = filled
    first = work_list(db, staff["decider"], today=NOW.date(), per_page=5)
    second = work_list(db, staff["decider"], today=NOW.date(), per_page=5, page=2)
    assert first.has_next and len(first.items) == 5 and second.page == 2
    assert not {i.ref for i in first.items} & {i.ref for i in second.items}
    only = work_list(db, staff["decider"], today=NOW.date(), state="investigation", per_page=500)
    assert only.items and {i.state for i in only.items} == {"investigation"}


@pytest.mark.parametrize(("asked", "given"), [(10**30, MAX_PAGE), (2**63, MAX_PAGE), (MAX_PAGE + 1, MAX_PAGE),
                                              (MAX_PAGE, MAX_PAGE), (0, 1), (-(10**30), 1)])
def test_a_page_past_the_limits_is_the_nearest_page_there_is(db, staff, asked, given):
    """Page 10**30 was an offset neither database takes (a 500 on the work list page)."""
    listing = work_list(db, staff["decider"], today=NOW.date(), page=asked)
    assert (listing.page, listing.items, listing.has_next) == (given, (), False)


def test_a_disabled_account_or_one_whose_role_changed_sees_no_list_though_cases_are_there(db, filled, staff):
    """The page query carries the staff check; the cases are there, so only that check can refuse."""
    _, demo = filled
    assert work_list(db, demo["decider"], today=NOW.date()).items
    set_role(db, "demo-decider", "intake", by=None)
    with pytest.raises(NotPermitted):
        work_list(db, demo["decider"], today=NOW.date())  # still asking as a decision maker
    assert work_list(db, Actor(demo["decider"].id, "intake"), today=NOW.date()).items
    disable_staff(db, "demo-decider", by=None)
    with pytest.raises(NotPermitted):
        work_list(db, Actor(demo["decider"].id, "intake"), today=NOW.date())
    with pytest.raises(NotPermitted):  # an id that is no account at all
        work_list(db, Actor("00000000-0000-4000-8000-000000000000", "decider"), today=NOW.date())


@pytest.mark.parametrize("role", ["reporter", "coordinator", "partner", "auditor", "admin"])
def test_other_roles_have_no_work_list(db, staff, role):
    with pytest.raises(NotPermitted):
        work_list(db, staff[role], today=NOW.date())


def test_overdue_and_due_soon_are_marked_from_the_day_given(db, filled):
    _, staff = filled
    listing = work_list(db, staff["decider"], today=NOW.date(), per_page=500)
    dated = [i for i in listing.items if i.due_on]
    later = work_list(db, staff["decider"], today=max(i.due_on for i in dated) + timedelta(days=1), per_page=500)
    assert all(i.overdue for i in later.items if i.due_on)


def test_on_sqlite_the_page_in_one_row_is_the_page_query_row_for_row(sqlite_template, tmp_path, keys):
    """SQLite reads the page as one JSON row (`_page_in_one_row`); it must give what the plain query gives,
    for every role and filter, ties in deadline and arrival included."""
    shutil.copy(sqlite_template, tmp_path / "one.db")
    db = Database(f"sqlite:///{tmp_path / 'one.db'}", keys=keys)
    try:
        refs = fill_demo(db, per_state=2, now=NOW)
        staff = demo_staff(db)
        with db.write() as session:  # ties: several cases due the same day and received at the same moment
            for case in session.scalars(select(Case).where(Case.ref.in_(refs[:6]))):
                case.next_due_on, case.received_at, case.next_deadline = NOW.date(), NOW, "investigation"
        assign_case(db, staff["decider"], refs[0], staff["caseworker"].id, now=NOW)
        for actor in (staff["decider"], staff["intake"], staff["caseworker"]):
            for state, due_by, per_page, page in ((None, None, 5, 1), (None, None, 5, 2),
                                                  ("investigation", None, 50, 1), (None, NOW.date(), 50, 1),
                                                  (None, None, 500, 1)):
                params = {"staff_id": actor.id, "staff_role": actor.role, "limit": per_page + 1,
                          "offset": (page - 1) * per_page, "state": state, "due_by": due_by}
                shape = (actor.role, state is not None, due_by is not None)
                with db.engine.connect() as connection:
                    plain = [tuple(row) for row in connection.execute(_page_query(*shape), params)]
                    one = _sqlite_rows(_page_in_one_row(*shape).first(connection, params)[0])
                assert one == plain, (actor.role, state, due_by, page)
                listing = work_list(db, actor, today=NOW.date(), state=state, due_by=due_by, per_page=per_page,
                                    page=page)
                assert [i.ref for i in listing.items] == [row[0] for row in plain[:per_page]]
    finally:
        db.dispose()


def test_the_one_row_page_is_put_back_in_the_order_of_the_query_whatever_order_sqlite_gives():
    rows = [["VO-3", "investigation", "2026-03-01 10:00:00.000000", 0, "investigation", "2026-04-01"],
            ["VO-1", "investigation", "2026-03-01 10:00:00.000000", 1, "investigation", "2026-04-01"],
            ["VO-2", "registered", "2026-02-01 09:00:00.000000", 0, None, "9999-12-31"],
            ["VO-0", "sig", "2026-03-02 08:00:00.000000", 0, "investigation", "2026-04-01"]]
    found = _sqlite_rows(json.dumps(list(reversed(rows))))
    assert [r[0] for r in found] == ["VO-1", "VO-3", "VO-0", "VO-2"]
    assert found[0][2] == datetime(2026, 3, 1, 10, tzinfo=UTC) and found[0][3] is True
    assert found[-1][5] == NO_DEADLINE


def _plan(db: Database, shape: tuple, params: dict) -> str:
    """The database's plan for the page statement `work_list` runs for `shape`. On PostgreSQL the generic plan
    (one plan for every value, as the hot reads' connections run it: `cases.db._hot_reads_engine`), with
    sequential scans and sorts priced out, as on a table of 100,000 cases (on a handful, reading all and
    sorting is cheapest and says nothing about the indexes)."""
    statement = (_page_in_one_row if db.is_sqlite else _page)(*shape)
    with db.engine.connect() as connection:
        compiled = statement._compiled(connection.dialect)
        cursor = connection.connection.cursor()
        if db.is_sqlite:
            cursor.execute("EXPLAIN QUERY PLAN " + compiled.sql, compiled.values(params))
            return "\n".join(row[-1] for row in cursor.fetchall())
        values = compiled.values(params)
        names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", compiled.sql)))
        prepared = re.sub(r"%\((\w+)\)s", lambda m: f"${names.index(m.group(1)) + 1}", compiled.sql)
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute(f"PREPARE work_list_page AS {prepared}")
        try:
            raw = connection.connection.dbapi_connection
            literals = ", ".join(Literal(values[name]).as_string(raw) for name in names)
            cursor.execute(f"EXPLAIN EXECUTE work_list_page({literals})")
            plan = "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("DEALLOCATE work_list_page")
        assert "$1" in plan, plan  # a generic plan shows its parameters, a custom one their values
        return plan


@pytest.mark.parametrize("role,state", [("decider", "investigation"), ("decider", "closed"), ("intake", None)])
def test_a_page_within_some_states_is_read_through_the_state_and_deadline_index(db, filled, role, state):
    """With 100,000 cases a page filtered by state, and the intake officers' list, sorted every case in those
    states (20–70 ms a page) until the index on (state, deadline, arrival, ref): the plan names that index."""
    _, staff = filled
    actor = staff[role]
    params = {"staff_id": actor.id, "staff_role": role, "limit": 51, "offset": 0, "state": state}
    plan = _plan(db, (role, state is not None, False), params)
    if db.is_sqlite:
        assert "ix_cases_state_next_due" in plan, plan
        if state is not None:  # one state: in the index's order; several: the first 51 of the index's entries
            assert "TEMP B-TREE" not in plan, plan
    elif state is not None:  # PostgreSQL: an IN list of states is read through either index, in order
        assert "ix_cases_state_next_due" in plan and "Sort" not in plan, plan
    else:
        assert "Sort" not in plan, plan


def test_a_caseworkers_page_finds_their_cases_through_their_open_assignments(db, filled):
    """The caseworker's list keeps the cases of their open assignments: found through the index that starts
    with the member of staff, not by reading every assignment (9 ms a page on PostgreSQL with 100,000 cases)."""
    refs, staff = filled
    assign_case(db, staff["decider"], refs[0], staff["caseworker"].id, now=NOW)
    params = {"staff_id": staff["caseworker"].id, "staff_role": "caseworker", "limit": 51, "offset": 0}
    plan = _plan(db, ("caseworker", False, False), params)
    assert "ix_assignments_staff_open" in plan, plan
