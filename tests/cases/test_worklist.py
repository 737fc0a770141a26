"""The work list: who sees which cases, nearest deadline first, and the deadline kept on each case."""

from __future__ import annotations

import base64
import json
import re
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, select

from cases.casework.access import assign_case
from cases.casework.worklist import MAX_CURSOR, PageKey, decode_cursor, encode_cursor, work_list
from cases.db import Database
from cases.errors import BadCursor, NotPermitted
from cases.models import NO_DEADLINE, Case, Deadline
from cases.reports.demo import demo_staff, fill_demo
from cases.staff.members import disable_staff, set_role
from policies.access import INTAKE_STATES
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
    second = work_list(db, staff["decider"], today=NOW.date(), per_page=5, cursor=first.next_cursor)
    assert first.has_next and len(first.items) == 5 and not first.has_previous and second.has_previous
    assert not {i.ref for i in first.items} & {i.ref for i in second.items}
    only = work_list(db, staff["decider"], today=NOW.date(), state="investigation", per_page=500)
    assert only.items and {i.state for i in only.items} == {"investigation"}


def _walk(db, actor, per_page: int, **asked) -> tuple[list[list[str]], list[list[str]]]:
    """Every page forwards from the first by `next_cursor`, then every page backwards from the last by
    `previous_cursor`: the refs of each page, in order."""
    forwards, listing = [], work_list(db, actor, today=NOW.date(), per_page=per_page, **asked)
    while True:
        forwards.append([i.ref for i in listing.items])
        if not listing.has_next:
            break
        listing = work_list(db, actor, today=NOW.date(), per_page=per_page, cursor=listing.next_cursor, **asked)
    backwards = [[i.ref for i in listing.items]]
    while listing.has_previous:
        listing = work_list(db, actor, today=NOW.date(), per_page=per_page, cursor=listing.previous_cursor, **asked)
        backwards.append([i.ref for i in listing.items])
    return forwards, backwards[::-1]


def test_the_pages_by_cursor_are_the_whole_list_in_order_forwards_and_backwards_ties_included(db, filled):
    """Page by page, forwards and back, the list is the one the first page would be if it held every case:
    no case twice, none left out, also where several are due the same day and arrived at the same moment
    (the ref breaks the tie)."""
    refs, staff = filled
    with db.write() as session:
        for case in session.scalars(select(Case).where(Case.ref.in_(refs[:6]))):
            case.next_due_on, case.received_at, case.next_deadline = NOW.date(), NOW, "investigation"
    assign_case(db, staff["decider"], refs[0], staff["caseworker"].id, now=NOW)
    assign_case(db, staff["decider"], refs[1], staff["caseworker"].id, now=NOW)
    for actor, asked in ((staff["decider"], {}), (staff["intake"], {}), (staff["caseworker"], {}),
                         (staff["decider"], {"state": "investigation"}), (staff["decider"], {"due_by": NOW.date()})):
        whole = [i.ref for i in work_list(db, actor, today=NOW.date(), per_page=500, **asked).items]
        assert whole, (actor.role, asked)
        for per_page in (1, 2, 5):
            forwards, backwards = _walk(db, actor, per_page, **asked)
            assert [ref for page in forwards for ref in page] == whole, (actor.role, asked, per_page)
            assert backwards == forwards, (actor.role, asked, per_page)
            assert all(len(page) == per_page for page in forwards[:-1])


def test_a_cursor_goes_on_from_where_the_last_page_ended_though_that_case_moved_on(db, filled):
    """A cursor is a place in the order, not a row: a case that left the list since does not lose the page."""
    _, staff = filled
    first = work_list(db, staff["decider"], today=NOW.date(), per_page=3)
    rest = work_list(db, staff["decider"], today=NOW.date(), per_page=500, cursor=first.next_cursor)
    with db.write() as session:
        session.execute(Case.__table__.update().where(Case.ref == first.items[-1].ref).values(state="erased"))
    again = work_list(db, staff["decider"], today=NOW.date(), per_page=500, cursor=first.next_cursor)
    assert [i.ref for i in again.items] == [i.ref for i in rest.items]


def test_a_cursor_past_the_last_case_is_an_empty_last_page(db, filled):
    _, staff = filled
    last = encode_cursor(PageKey(NO_DEADLINE, datetime(9999, 1, 1, tzinfo=UTC), "\uffff"))
    listing = work_list(db, staff["decider"], today=NOW.date(), cursor=last)
    assert (listing.items, listing.has_next, listing.next_cursor) == ((), False, None)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize("cursor", [
    "", "abc", "!!!", "a" * (MAX_CURSOR + 1), _b64(b"\xff\xfe"), _b64(b"[]"), _b64(b"{}"), _b64(b"7"),
    _b64(b'["x","2026-01-01","2026-01-01T00:00:00+00:00","VO-1"]'),
    _b64(b'["a","2026-13-01","2026-01-01T00:00:00+00:00","VO-1"]'),
    _b64(b'["a","2026-01-01","2026-01-01T00:00:00","VO-1"]'),  # a time without its offset
    _b64(b'["a","2026-01-01","2026-01-01T00:00:00+00:00",""]'),
    _b64(b'["a","2026-01-01","2026-01-01T00:00:00+00:00",7]'),
    _b64(b'["a",20260101,"2026-01-01T00:00:00+00:00","VO-1"]'),
    _b64(b'["a","2026-01-01","2026-01-01T00:00:00+00:00","VO-1","more"]'),
    _b64(json.dumps(["a", "2026-01-01", "2026-01-01T00:00:00+00:00", "VO-1"]).encode()) + "=%",
])
def test_a_cursor_this_system_did_not_make_is_refused(db, staff, cursor):
    with pytest.raises(BadCursor):
        decode_cursor(cursor)
    with pytest.raises(BadCursor):
        work_list(db, staff["decider"], today=NOW.date(), cursor=cursor)


def test_a_cursor_carries_its_key_and_direction_and_reads_as_utc():
    key = PageKey(date(2026, 7, 3), datetime(2026, 7, 1, 22, 30, 0, 5, tzinfo=UTC), "VO-2026-ABC")
    for backwards in (False, True):
        cursor = encode_cursor(key, backwards=backwards)
        assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        assert decode_cursor(cursor) == (key, backwards)
    stockholm = _b64(b'["a","2026-07-03","2026-07-02T00:30:00.000005+02:00","VO-2026-ABC"]')
    found, _ = decode_cursor(stockholm)
    assert found == key and found.received_at.utcoffset() == timedelta(0)


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


def _plan(db: Database, actor, **asked) -> str:
    """The database's plan for the statement `work_list` really runs (caught on its way to the driver through
    SQLAlchemy's execution events, with the values it sends). On PostgreSQL with sequential scans and sorts
    priced out, as on a table of 100,000 cases (on a handful, reading all and sorting is cheapest and says
    nothing about the indexes)."""
    seen = []

    def catch(conn, cursor, statement, parameters, context, executemany) -> None:
        if "FROM cases" in statement and "ORDER BY" in statement:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", catch)
    try:
        work_list(db, actor, today=NOW.date(), **asked)
    finally:
        event.remove(db.engine, "before_cursor_execute", catch)
    [(statement, parameters)] = seen
    with db.engine.connect() as connection:
        if db.is_sqlite:
            rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            return "\n".join(row[-1] for row in rows)
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        connection.exec_driver_sql("SET LOCAL enable_sort = off")
        return "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters))


@pytest.mark.parametrize("role,state", [("decider", "investigation"), ("decider", "closed"), ("intake", None)])
def test_a_page_within_some_states_is_read_through_the_state_and_deadline_index(db, filled, role, state):
    """With 100,000 cases a page filtered by state, and the intake officers' list, sorted every case in those
    states (20–70 ms a page) until the index on (state, deadline, arrival, ref): the plan names that index."""
    _, staff = filled
    plan = _plan(db, staff[role], state=state)
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
    plan = _plan(db, staff["caseworker"])
    assert "ix_assignments_staff_open" in plan, plan


DEEP = PageKey(date(2026, 12, 1), datetime(2026, 11, 1, 8, tzinfo=UTC), "VO-2026-M")  # somewhere mid-list


@pytest.mark.parametrize("backwards", [False, True])
@pytest.mark.parametrize("role,state", [("decider", None), ("decider", "investigation"), ("intake", None)])
def test_a_deep_page_seeks_to_its_cursor_in_the_index_instead_of_reading_the_pages_before(db, filled, role, state,
                                                                                         backwards):
    """Page 2,000 costs what page 1 does: the cursor's key is where the index scan starts (an index
    condition), in the index's order (no sort), whichever way the page is read."""
    _, staff = filled
    plan = _plan(db, staff[role], state=state, cursor=encode_cursor(DEEP, backwards=backwards))
    seek = "(next_due_on,received_at,ref)" if db.is_sqlite else "ROW(next_due_on, received_at, (ref)::text)"
    if db.is_sqlite:
        found = re.search(r"USING (?:COVERING )?INDEX (ix_cases_\w+) \((.*)\)", plan)
    else:
        found = re.search(r"Index Scan (?:Backward )?using (ix_cases_\w+) on cases.*\n\s*Index Cond: (.*)", plan)
    assert found and seek in found.group(2), plan
    if role == "intake" and db.is_sqlite:  # several states: each one's range from the cursor on, as page 1
        assert found.group(1) == "ix_cases_state_next_due", plan
    else:
        assert found.group(1) == ("ix_cases_state_next_due" if state else "ix_cases_next_due"), plan
        assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
