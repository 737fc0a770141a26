"""Assignments end (issue 15): several caseworkers may work on a case together, reassigning it ends the
others' assignments, and a closed case is nobody's work. A former caseworker's ground ends with their
assignment: they can no longer read the case, move it on or see it on their work list. On both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from cases import add_staff, available_triggers, fire_trigger
from cases.casework.access import AccessDenied, assign_case, read_case
from cases.casework.worklist import work_list
from cases.models import Assignment, Case
from tests.cases.test_access import open_case


@pytest.fixture
def staff(staff, db):
    """The `staff` fixture, the caseworker `open_case` assigns on the way, and a second caseworker."""
    return {**staff, "driver": add_staff(db, "caseworker-driver", "Caseworker on the way", "caseworker"),
            "colleague": add_staff(db, "caseworker-2", "Second caseworker", "caseworker")}


@pytest.fixture
def numbers(child_number, adult_number):
    return {"child": child_number, "adult": adult_number}


def assignments(db, ref: str) -> dict[str, object]:
    """staff id -> ended_at of each of the case's assignments."""
    with db.read() as session:
        return dict(session.execute(select(Assignment.staff_id, Assignment.ended_at).join(
            Case, Case.id == Assignment.case_id).where(Case.ref == ref)).all())


def listed(db, actor, later) -> set[str]:
    return {item.ref for item in work_list(db, actor, today=later.date(), per_page=100).items}


def shut_out(db, actor, ref: str, later) -> None:
    """The caseworker has no ground on the case: no read, no steps, no transition, not on their list."""
    with pytest.raises(AccessDenied):
        read_case(db, actor, ref, now=later)
    with pytest.raises(AccessDenied):
        available_triggers(db, actor, ref, now=later)
    with pytest.raises(AccessDenied):
        fire_trigger(db, actor, ref, "request_consent", {"proposed_intervention": "sig"}, now=later)
    assert ref not in listed(db, actor, later)


@pytest.mark.usefixtures("flowchart_v2")
def test_reassigning_ends_the_former_caseworkers_ground(db, staff, numbers):
    ref, _, later = open_case(db, staff, numbers, "investigation")
    first, second, driver = staff["caseworker"], staff["colleague"], staff["driver"]
    assert assignments(db, ref) == {driver.id: None}  # recorded the consent on the way
    assign_case(db, staff["decider"], ref, first.id, now=later)  # a second caseworker joins
    assert assignments(db, ref) == {driver.id: None, first.id: None}
    assert read_case(db, first, ref, now=later).ground == "assignment" and ref in listed(db, first, later)
    assert read_case(db, driver, ref, now=later).ground == "assignment"
    moved = later + timedelta(minutes=5)
    assign_case(db, staff["decider"], ref, second.id, replace=True, now=moved)
    assert assignments(db, ref) == {driver.id: moved, first.id: moved, second.id: None}
    shut_out(db, first, ref, moved)
    shut_out(db, driver, ref, moved)
    assert read_case(db, second, ref, now=moved).ground == "assignment" and ref in listed(db, second, moved)
    assign_case(db, staff["decider"], ref, second.id, replace=True, now=moved + timedelta(minutes=1))  # again
    assert assignments(db, ref) == {driver.id: moved, first.id: moved, second.id: None}


def test_reassigning_to_one_already_on_the_case_ends_only_the_others(db, staff, numbers):
    ref, _, later = open_case(db, staff, numbers, "pre_assessment")
    assign_case(db, staff["intake"], ref, staff["caseworker"].id, now=later)
    assign_case(db, staff["intake"], ref, staff["colleague"].id, now=later)
    assign_case(db, staff["intake"], ref, staff["colleague"].id, replace=True, now=later)
    assert assignments(db, ref) == {staff["caseworker"].id: later, staff["colleague"].id: None}
    assert assignments(db, ref)[staff["caseworker"].id] == later
    with pytest.raises(AccessDenied):
        read_case(db, staff["caseworker"], ref, now=later)


@pytest.mark.parametrize(("state", "trigger", "fields"), [
    ("follow_up", "close_case", {"reason": "Insatsen är avslutad.", "outcome": "no_need"}),
    ("pre_assessment", "close_without_investigation", {"reason": "Ej aktuellt.", "outcome": "not_opened"}),
])
@pytest.mark.usefixtures("flowchart_v2")
def test_closing_a_case_ends_its_assignments_in_the_same_transaction(db, staff, numbers, state, trigger, fields):
    ref, _, later = open_case(db, staff, numbers, state)
    if state == "pre_assessment":
        assign_case(db, staff["intake"], ref, staff["driver"].id, now=later)
    worker = staff["driver"]
    assert assignments(db, ref) == {worker.id: None}
    options = {o.trigger: o for o in available_triggers(db, staff["decider"], ref, now=later)}
    assert options[trigger].allowed, [r.text("en") for r in options[trigger].refusals]
    fired = fire_trigger(db, staff["decider"], ref, trigger, fields, now=later)
    assert fired.state == "closed"
    assert assignments(db, ref) == {worker.id: later}
    with pytest.raises(AccessDenied):
        read_case(db, worker, ref, now=later)
    assert ref not in listed(db, worker, later)
    assert read_case(db, staff["decider"], ref, now=later).ground == "role"  # the decision maker still reads it
