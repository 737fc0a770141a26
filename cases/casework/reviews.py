"""Emergency accesses and requests to open a case, as the review page shows them: staff by username.

Reviews follow `cases.casework.emergency` (auditors and decision makers). They sit beside the casework they review,
above the audit logs, so that `cases.audit.auditing` needs nothing from the casework.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cases.actors import usernames
from cases.casework.emergency import approval_requests, emergency_accesses
from cases.db import Database
from workflow import Actor

__all__ = ["ApprovalReview", "EmergencyReview", "approval_reviews", "emergency_reviews"]


@dataclass(frozen=True)
class EmergencyReview:
    """An emergency access as the review page shows it: staff by username, the reason opened for the reviewer."""

    seq: int
    case_ref: str
    username: str
    at: datetime
    reviewed: bool
    own: bool  # made by the reviewer themselves: someone else must review it
    fields: tuple[str, ...] = ()
    reason: str | None = None  # None once the case is erased: the reason went with its key
    erased: bool = False
    verdict: str | None = None
    comment: str | None = None
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    approved_by: str | None = None  # beyond the free openings: who approved it

    def __repr__(self) -> str:  # holds the reason: never print it
        return f"EmergencyReview(seq={self.seq}, case_ref={self.case_ref!r}, verdict={self.verdict!r})"


@dataclass(frozen=True)
class ApprovalReview:
    """A request to open a case beyond the free emergency openings, as the review page shows it."""

    id: str
    case_ref: str
    username: str
    requested_at: datetime
    status: str
    reason: str | None
    own: bool  # requested by the viewer: someone else must decide it
    decided_by: str | None = None
    decided_at: datetime | None = None

    def __repr__(self) -> str:  # holds the reason: never print it
        return f"ApprovalReview(id={self.id!r}, case_ref={self.case_ref!r}, status={self.status!r})"


def emergency_reviews(db: Database, actor: Actor, *, pending_only: bool = True,
                      verdict: str | None = None) -> list[EmergencyReview]:
    """Emergency accesses for review (auditors, decision makers), newest first, with who made each; with
    `verdict`, the reviewed ones given it (the page keeps those found not justified in view)."""
    accesses = emergency_accesses(db, actor, pending_only=pending_only, verdict=verdict)
    with db.read() as session:
        names = usernames(session, {i for a in accesses for i in (a.actor_id, a.reviewed_by, a.approved_by)})
    return [EmergencyReview(a.seq, a.case_ref, names.get(a.actor_id, a.actor_id), a.at, a.reviewed,
                            own=a.actor_id == actor.id, fields=a.fields, reason=a.reason, erased=a.erased,
                            verdict=a.verdict, comment=a.comment, reviewed_by=_name(names, a.reviewed_by),
                            reviewed_at=a.reviewed_at, approved_by=_name(names, a.approved_by))
            for a in sorted(accesses, key=lambda a: -a.seq)]


def approval_reviews(db: Database, actor: Actor, *, pending_only: bool = True) -> list[ApprovalReview]:
    """Requests to open a case beyond the free emergency openings, oldest first: the ones waiting come first
    on the review page, for a decision maker other than the requester to decide."""
    requests = approval_requests(db, actor, pending_only=pending_only)
    with db.read() as session:
        names = usernames(session, {i for r in requests for i in (r.requested_by, r.decided_by)})
    return [ApprovalReview(r.id, r.case_ref, names.get(r.requested_by, r.requested_by), r.requested_at, r.status,
                           r.reason, own=r.requested_by == actor.id, decided_by=_name(names, r.decided_by),
                           decided_at=r.decided_at) for r in requests]


def _name(names: dict[str, str], staff_id: str | None) -> str | None:
    return None if staff_id is None else names.get(staff_id, staff_id)
