"""On what ground a member of staff may work on a case: read its personal data, or move it on.

Deny by default. Intake works on cases in intake, the decision maker on every case (units arrive with
single sign-on), a caseworker on the cases assigned to them. Emergency access (`cases.access`) lets those
roles read another case with a written reason; it never lets them move it on.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.models import Assignment, Case
from workflow import Actor

__all__ = ["CASE_READING_ROLES", "INTAKE_STATES", "SYSTEM_ROLE", "read_ground"]

INTAKE_STATES = frozenset({"registered", "protection_assessment", "pre_assessment"})
# The roles `read_ground` gives a ground to: granting one of them needs a second administrator (`cases.roles`).
CASE_READING_ROLES = frozenset({"intake", "caseworker", "decider"})
# The retention job's role: it moves cases on without a ground and is nobody's to sign in with or manage.
SYSTEM_ROLE = "system"


def read_ground(session: Session, actor: Actor, case: Case) -> str | None:
    """The ground on which `actor` may read `case`, or None."""
    if actor.role == "intake" and case.state in INTAKE_STATES:
        return "role"
    if actor.role == "decider":
        return "role"
    if actor.role == "caseworker" and session.scalars(select(Assignment.id).where(
            Assignment.case_id == case.id, Assignment.staff_id == actor.id, Assignment.ended_at.is_(None))).first():
        return "assignment"
    return None
