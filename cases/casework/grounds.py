"""On what ground a member of staff may work on a case: read its personal data, or move it on.

The grounds are policy (`policies.access.GROUNDS`); this module derives from them, and only from them, both
the check on one case (`read_ground`) and the condition a query of many cases carries (`ground_clause`, and
`listed_clause` for the work list), so that what a list shows and what opens cannot drift apart
(tests/cases/test_grounds.py holds them to each other for every role, state and assignment).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, false, literal, or_, select, true
from sqlalchemy.orm import Session

from cases.models import Assignment, Case
from policies.access import GROUNDS, Ground
from workflow import Actor

__all__ = ["ground_clause", "listed_clause", "read_ground"]


def read_ground(session: Session, actor: Actor, case: Case) -> str | None:
    """The ground on which `actor` may read `case`, or None."""
    for ground in _grounds_of(actor.role):
        if ground.holds_in(case.state) and (not ground.assigned or _assigned(session, actor.id, case)):
            return ground.name
    return None


def _assigned(session: Session, staff_id: str, case: Case) -> bool:
    query = select(Assignment.id).where(Assignment.case_id == case.id, *_open_assignment(staff_id))
    return session.scalars(query).first() is not None


def ground_clause(role: str, staff_id: Any) -> ColumnElement[bool]:
    """The condition on `Case` that holds where a member of staff of `role` with id `staff_id` (a value, or a
    `bindparam` for a statement built once) has a ground: `read_ground` for many cases in one query."""
    return _any_of(role, staff_id, listed=False)


def listed_clause(role: str, staff_id: Any) -> ColumnElement[bool]:
    """`ground_clause` less the cases a ground leaves off the work list (`Ground.unlisted`)."""
    return _any_of(role, staff_id, listed=True)


def _any_of(role: str, staff_id: Any, *, listed: bool) -> ColumnElement[bool]:
    grounds = _grounds_of(role)
    if not grounds:
        return false()
    return or_(*(_clause(ground, staff_id, listed=listed) for ground in grounds))


def _clause(ground: Ground, staff_id: Any, *, listed: bool) -> ColumnElement[bool]:
    # States as a list of single bound values, not one expanding IN: the statement's text is fixed when it
    # is built, whatever the parameters of a call.
    conditions: list[ColumnElement[bool]] = []
    if ground.states is not None:
        conditions.append(Case.state.in_([literal(state) for state in sorted(ground.states)]))
    if listed and ground.unlisted:
        conditions.append(Case.state.not_in([literal(state) for state in sorted(ground.unlisted)]))
    if ground.assigned:
        conditions.append(Case.id.in_(select(Assignment.case_id).where(*_open_assignment(staff_id))))
    return and_(*conditions) if conditions else true()


def _open_assignment(staff_id: Any) -> tuple[ColumnElement[bool], ...]:
    """An assignment of `staff_id` that has not ended: the caseworker's ground, in both derivations."""
    return Assignment.staff_id == staff_id, Assignment.ended_at.is_(None)


def _grounds_of(role: str) -> tuple[Ground, ...]:
    return tuple(ground for ground in GROUNDS if ground.role == role)
