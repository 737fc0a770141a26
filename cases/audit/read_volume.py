"""Accounts that read more case records in the last hour than their work explains, for the auditor.

Every read of a case's personal data is in the access log (`cases.casework.access`), so the count is computed from it
on demand (no job system exists yet), through `ix_access_log_at_action_actor` (the last hour's reads, counted
per account from the index alone). What an account's work explains in an hour:

- a caseworker: their open assignments (reading each of their cases once);
- intake: the cases in intake now;
- a decision maker: `DECIDER_READS_EXPLAINED`, a policy number (they may read every case);
- anyone else: nothing (they read no case records).

An account is flagged when its reads exceed `flag_threshold(explained)`: at least `MIN_FLAGGED_READS`, and
`EXPLAINED_FACTOR` times what its work explains. A flag is a question for the auditor, not a verdict: an
emergency that spans many cases looks the same as someone browsing the register.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cases.actors import require_staff, utcnow
from cases.db import Database
from cases.errors import NotPermitted
from cases.models import AccessLogEntry, Assignment, Case, Staff
from policies.access import AUDITING_ROLES, INTAKE_STATES
from workflow import Actor

__all__ = [
    "DECIDER_READS_EXPLAINED",
    "EXPLAINED_FACTOR",
    "MIN_FLAGGED_READS",
    "READ_WINDOW",
    "ReadVolumeFlag",
    "flag_threshold",
    "read_volume_flags",
]

READ_WINDOW = timedelta(hours=1)
MIN_FLAGGED_READS = 20  # below this, no account is flagged whatever its work
EXPLAINED_FACTOR = 2  # reads beyond twice what the work explains are flagged
DECIDER_READS_EXPLAINED = 30  # a decision maker's reads in an hour of ordinary work (policy)


@dataclass(frozen=True)
class ReadVolumeFlag:
    """One account's reads in the window, what its work explains, and by what (`basis`)."""

    staff_id: str
    display_name: str
    role: str
    reads: int
    explained: int
    basis: str  # "assignments", "intake_cases", "decider_policy" or "none"
    threshold: int


def flag_threshold(explained: int) -> int:
    """How many reads in the window an account may make before it is flagged."""
    return max(MIN_FLAGGED_READS, EXPLAINED_FACTOR * explained)


def read_volume_flags(db: Database, actor: Actor, *, now: datetime | None = None) -> tuple[ReadVolumeFlag, ...]:
    """The accounts flagged now, the most reads first (auditors only)."""
    now = now or utcnow()
    if actor.role not in AUDITING_ROLES:
        raise NotPermitted("see unusual read volumes", actor.role)
    with db.read() as session:
        require_staff(session, actor)
        counts = session.execute(
            select(AccessLogEntry.actor_id, func.count()).where(
                AccessLogEntry.at > now - READ_WINDOW, AccessLogEntry.at <= now, AccessLogEntry.action == "read")
            .group_by(AccessLogEntry.actor_id).having(func.count() > MIN_FLAGGED_READS)).all()
        flags = []
        for staff_id, reads in counts:  # only the few accounts over the floor: each explained on its own
            staff = session.get(Staff, staff_id)
            role = staff.role if staff is not None else "unknown"
            explained, basis = _explained(session, staff_id, role)
            threshold = flag_threshold(explained)
            if reads > threshold:
                flags.append(ReadVolumeFlag(staff_id, staff.display_name if staff else "", role, reads, explained,
                                            basis, threshold))
        return tuple(sorted(flags, key=lambda f: (-f.reads, f.staff_id)))


def _explained(session: Session, staff_id: str, role: str) -> tuple[int, str]:
    if role == "caseworker":
        return session.scalars(select(func.count()).select_from(Assignment).where(
            Assignment.staff_id == staff_id, Assignment.ended_at.is_(None))).one(), "assignments"
    if role == "intake":
        return session.scalars(select(func.count()).select_from(Case).where(
            Case.state.in_(INTAKE_STATES))).one(), "intake_cases"
    if role == "decider":
        return DECIDER_READS_EXPLAINED, "decider_policy"
    return 0, "none"
