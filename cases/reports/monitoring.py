"""What the service's metrics show of the cases: open cases and overdue deadlines, by state.

Counts only, one grouped query each, computed when the metrics are read (`web.metrics`), so that every
serving process answers the same and nothing is kept in memory between reads. No case is named.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from cases.actors import require_staff
from cases.db import Database
from cases.errors import NotPermitted
from cases.flowcharts import current_engine, every_state, known_charts
from cases.models import Case, Deadline
from policies.access import MONITORING_ROLES
from workflow import Actor
from workflow.deadlines import local_date

__all__ = ["CaseGauges", "case_gauges"]

# Who reads the service's metrics: the system administrator and internal control; counts, no case content.


@dataclass(frozen=True)
class CaseGauges:
    """Open cases (neither closed nor erased) by state, and running deadlines past their day by case state."""

    open_by_state: dict[str, int]
    overdue_by_state: dict[str, int]


def case_gauges(db: Database, actor: Actor, *, now: datetime) -> CaseGauges:
    """Count open cases and overdue deadlines by state; a deadline is overdue the day after its last day,
    in the flowchart's time zone (as the work list marks it)."""
    if actor.role not in MONITORING_ROLES:
        raise NotPermitted("read the service's metrics", actor.role)
    chart = current_engine().chart
    today = local_date(now, chart.timezone)
    with db.read() as session:
        require_staff(session, actor)
        # every stored version's states as well as the current ones: a case still running on an older version
        # (version 2's `sig`, say) is counted under its own state, and that state is never missing
        states = every_state(known_charts(session))
        done = [name for name, state in states.items() if state.terminal or state.closing]
        open_rows = session.execute(
            select(Case.state, func.count()).where(Case.state.not_in(done)).group_by(Case.state)).all()
        overdue_rows = session.execute(
            select(Case.state, func.count()).select_from(Deadline).join(Case, Case.id == Deadline.case_id)
            .where(Deadline.stopped_at.is_(None), Deadline.due_on < today).group_by(Case.state)).all()
    # Every open state is present, at 0 if need be: a series that vanishes reads as missing data.
    zero = {name: 0 for name in states if name not in done}
    return CaseGauges({**zero, **{state: count for state, count in open_rows}},
                      {**zero, **{state: count for state, count in overdue_rows}})
