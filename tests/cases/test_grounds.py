"""The grounds, checked on one case and filtered over many, agree: for every role of the flowchart, every state
of the flowchart and every kind of assignment, on both databases (`cases.casework.grounds`, `policies.access`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import bindparam, select, update

from cases import ConcernForm, add_staff, register_concern
from cases.casework.grounds import ground_clause, listed_clause, read_ground
from cases.casework.worklist import work_list
from cases.flowcharts import current_engine
from cases.models import Assignment, Case
from policies import access
from tests.conftest import NOW
from web.access import ALL_STAFF
from workflow import Actor

ROOT = Path(__file__).resolve().parents[2]
CHART = current_engine().chart
RELATIVE_CHART = current_engine("relative_support").chart
# Every state of both flowcharts: a relative's own matter runs on the second, and the grounds cover its states
# deliberately (issue 18): intake none of them, the decision maker all, a caseworker by assignment.
STATES = tuple(dict.fromkeys((*CHART.states, *RELATIVE_CHART.states)))
# Whose assignment to the case there is, seen from the caseworker under test (`staff["caseworker"]`).
ASSIGNMENTS = ("none", "open", "ended", "a colleague's")


@pytest.fixture
def every_case(db, staff, adult_number):
    """One case for each state of the flowchart and each kind of assignment; returns their refs by
    (state, assignment) and the colleague whose assignments they are in "a colleague's"."""
    colleague = add_staff(db, "caseworker-2", "Colleague", "caseworker")
    form = ConcernForm(concern="Oro för en elev.", reporter_org="school", identity_number=adult_number,
                       given_name="Test", family_name="Person")
    refs = {(state, kind): register_concern(db, staff["reporter"], form, now=NOW).ref
            for state in STATES for kind in ASSIGNMENTS}
    holder = {"open": staff["caseworker"], "ended": staff["caseworker"], "a colleague's": colleague}
    with db.write() as session:
        for (state, kind), ref in refs.items():
            # The grounds look at the state and the assignments only: a case is put in each state directly.
            session.execute(update(Case).where(Case.ref == ref).values(state=state))
            if kind != "none":
                case_id = session.scalar(select(Case.id).where(Case.ref == ref))
                session.add(Assignment(case_id=case_id, staff_id=holder[kind].id, assigned_by=staff["decider"].id,
                                       assigned_at=NOW, ended_at=NOW if kind == "ended" else None))
    return refs, colleague


def _actors(staff, colleague) -> list[Actor]:
    return [*(staff[role] for role in CHART.roles), colleague]


def test_the_check_on_one_case_and_the_filter_over_all_agree(db, staff, every_case):
    refs, colleague = every_case
    seen: dict[str, set[str]] = {}
    for actor in _actors(staff, colleague):
        with db.read() as session:
            cases = session.scalars(select(Case).where(Case.ref.in_(refs.values()))).all()
            checked = {case.ref for case in cases if read_ground(session, actor, case) is not None}
            filtered = set(session.scalars(select(Case.ref).where(ground_clause(actor.role, actor.id))))
        assert filtered == checked, (actor.role, sorted(filtered ^ checked))
        seen[actor.id] = checked
    # And what they agree on is the policy (DESIGN.md §1): intake the cases in intake, the decision maker every
    # case, a caseworker those of their open assignments, anyone else none.
    intake = {refs[state, kind] for state in ("registered", "protection_assessment", "pre_assessment")
              for kind in ASSIGNMENTS}
    assert seen[staff["intake"].id] == intake
    assert seen[staff["decider"].id] == set(refs.values())
    assert seen[staff["caseworker"].id] == {refs[state, "open"] for state in STATES}
    assert seen[colleague.id] == {refs[state, "a colleague's"] for state in STATES}
    for role in set(CHART.roles) - {"intake", "decider", "caseworker"}:
        assert seen[staff[role].id] == set(), role


def test_the_work_list_shows_what_the_grounds_give_less_what_they_leave_off(db, staff, every_case):
    """The work list's statement (bound `staff_id`, as it is built once) and `work_list` itself."""
    refs, colleague = every_case
    for actor in _actors(staff, colleague):
        if actor.role not in access.CASE_READING_ROLES:
            continue
        with db.read() as session:
            cases = session.scalars(select(Case).where(Case.ref.in_(refs.values()))).all()
            expected = {case.ref for case in cases if read_ground(session, actor, case) is not None
                        and not any(case.state in g.unlisted for g in access.GROUNDS if g.role == actor.role)}
            statement = select(Case.ref).where(listed_clause(actor.role, bindparam("staff_id")))
            filtered = set(session.scalars(statement, {"staff_id": actor.id}))
        listed = {item.ref for item in work_list(db, actor, today=NOW.date(), per_page=500).items}
        assert filtered == listed == expected, (actor.role, sorted(filtered ^ expected), sorted(listed ^ expected))


def test_the_policy_names_only_roles_and_states_of_the_flowchart():
    named_roles = {g.role for g in access.GROUNDS} | {access.SYSTEM_ROLE} | access.ASSIGNING_ROLES \
        | access.CONSENT_ROLES | access.REVIEWING_ROLES | access.AUDITING_ROLES | access.STATISTICS_ROLES
    assert named_roles <= set(CHART.roles)
    assert set(CHART.roles) - {access.SYSTEM_ROLE} == ALL_STAFF  # the pages' roles: everyone who signs in
    named_states = access.INTAKE_STATES.union(*(g.states or () for g in access.GROUNDS),
                                              *(g.unlisted for g in access.GROUNDS))
    assert named_states <= set(CHART.states)
    assert not access.INTAKE_STATES & set(RELATIVE_CHART.states)  # intake never sees a relative's matter
    assert set(RELATIVE_CHART.roles) <= set(CHART.roles) and set(RELATIVE_CHART.roles) >= access.INFORMING_ROLES
    # The states intake moves a case through from its arrival: the cases intake works on.
    moved_by_intake = {t.dest for t in CHART.transitions if t.source in access.INTAKE_STATES and "intake" in t.roles}
    assert {CHART.initial_state} | moved_by_intake == access.INTAKE_STATES


def test_the_time_zone_is_named_only_by_the_flowchart():
    """`timezone` in the flowchart is the one place: the code reads it there (the pages' today, their times,
    Babel's formatting)."""
    named = [str(path.relative_to(ROOT)) for folder in ("cases", "web", "workflow", "policies")
             for path in sorted((ROOT / folder).rglob("*")) if path.suffix in (".py", ".html", ".toml", ".cfg")
             and CHART.timezone in path.read_text(encoding="utf-8")]
    # the two flowcharts (a relative's own matter runs on the second) each name it, and name the same one
    assert named == ["policies/relative_support.toml", "policies/vid_oro.toml"]
    assert current_engine("relative_support").chart.timezone == CHART.timezone
