"""Emergency access: the reason it needs, how often one person may use it, approvals, and its review.

Emergency access opens a case nobody assigned to the reader, so it must stay rare and be answered for: the
reason has to say what the emergency is (`policies.limits`); beyond the free openings per person and day, a
decision maker other than the requester approves each further one first; and every opening is reviewed by
someone else (a decision maker or an auditor), who sees the reason, what was read, by whom and when, and
records whether it was justified. The reason and the review's comment stay sealed under the case's key:
the review is the ground for opening them, and an erased case's reason is gone with its key.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cases.actors import require_staff, utcnow
from cases.audit import log
from cases.casework.forms import says_enough
from cases.crypto.vault import CaseKey
from cases.db import Database
from cases.errors import (
    EmergencyReasonTooShort,
    InvalidConcern,
    KeyDestroyed,
    NotPermitted,
    RecordNotFound,
)
from cases.events import operation
from cases.models import AccessLogEntry, Case, EmergencyAccess, EmergencyApproval, Staff
from policies.access import REVIEWING_ROLES
from policies.limits import (
    EMERGENCY_APPROVAL_VALID,
    EMERGENCY_APPROVING_ROLES,
    EMERGENCY_FREE_PER_WINDOW,
    EMERGENCY_REASON_MIN_CHARS,
    EMERGENCY_REASON_MIN_WORDS,
    EMERGENCY_WINDOW,
    REVIEW_COMMENT_MIN_CHARS,
)
from workflow import AccessEntry, Actor

__all__ = [
    "APPROVED",
    "JUSTIFIED",
    "NOT_JUSTIFIED",
    "PENDING",
    "REFUSED",
    "REVIEWING_ROLES",
    "USED",
    "VERDICTS",
    "ApprovalRequest",
    "EmergencyAccessSummary",
    "Gate",
    "admit",
    "approval_requests",
    "check_reason",
    "decide_approval",
    "emergency_accesses",
    "mark_reviewed",
]

JUSTIFIED, NOT_JUSTIFIED = "justified", "not_justified"
VERDICTS = (JUSTIFIED, NOT_JUSTIFIED)
PENDING, APPROVED, REFUSED, USED = "pending", "approved", "refused", "used"


def check_reason(ref: str, reason: str) -> None:
    """A reason that says what the emergency is, or `EmergencyReasonTooShort` (nothing opened)."""
    if not says_enough(reason, EMERGENCY_REASON_MIN_WORDS, EMERGENCY_REASON_MIN_CHARS):
        raise EmergencyReasonTooShort(ref, EMERGENCY_REASON_MIN_WORDS, EMERGENCY_REASON_MIN_CHARS)


@dataclass(frozen=True)
class Gate:
    """What `admit` decided: the approval an opening uses (None: a free one), or the request it waits for."""

    approval_id: str | None = None
    waiting_for: str | None = None


def admit(session: Session, actor: Actor, case: Case, key: CaseKey, reason: str, now: datetime) -> Gate:
    """Within the read's transaction: may `actor` open `case` through emergency access now?

    The actor's row is locked first, so two openings at once by one person are counted one after the other.
    Beyond the free openings in the window, an approval for this case by someone else is used up; without
    one, a request for approval is written (once per person and case) and the opening waits for it.
    """
    session.execute(select(Staff.id).where(Staff.id == actor.id).with_for_update())
    recent = session.scalars(
        select(func.count()).select_from(EmergencyAccess)
        .join(AccessLogEntry, AccessLogEntry.seq == EmergencyAccess.seq)
        .where(AccessLogEntry.actor_id == actor.id, AccessLogEntry.at > now - EMERGENCY_WINDOW)
    ).one()
    if recent < EMERGENCY_FREE_PER_WINDOW:
        return Gate()
    mine = select(EmergencyApproval).where(EmergencyApproval.requested_by == actor.id,
                                           EmergencyApproval.case_id == case.id)
    approved = session.scalars(mine.where(EmergencyApproval.status == APPROVED,
                                          EmergencyApproval.decided_at > now - EMERGENCY_APPROVAL_VALID)
                               .order_by(EmergencyApproval.decided_at).limit(1)).first()
    if approved is not None:
        approved.status = USED
        return Gate(approval_id=approved.id)
    waiting = session.scalars(mine.where(EmergencyApproval.status == PENDING).limit(1)).first()
    if waiting is None:
        request_id = str(uuid.uuid4())
        session.add(EmergencyApproval(
            id=request_id, case_id=case.id, requested_by=actor.id, requested_at=now, status=PENDING,
            reason=key.seal("emergency_approvals", request_id, "reason", reason)))
        return Gate(waiting_for=request_id)
    return Gate(waiting_for=waiting.id)


@dataclass(frozen=True)
class ApprovalRequest:
    """A request for approval of an emergency opening, with its reason opened for the decision maker."""

    id: str
    case_ref: str
    requested_by: str
    requested_at: datetime
    status: str
    reason: str | None  # None once the case is erased: the reason went with its key
    decided_by: str | None
    decided_at: datetime | None

    def __repr__(self) -> str:  # the reason is personal-ish free text: never print it
        return f"ApprovalRequest(id={self.id!r}, case_ref={self.case_ref!r}, status={self.status!r})"


def approval_requests(db: Database, actor: Actor, *, pending_only: bool = True,
                      now: datetime | None = None) -> list[ApprovalRequest]:
    """Requests for approval, oldest first: for the reviewers (decision makers decide, auditors see them).

    Each reason opened is a read of sealed case text, so it is logged (`_log_review`) in this transaction."""
    if actor.role not in REVIEWING_ROLES:
        raise NotPermitted("review emergency accesses", actor.role)
    with db.write() as session:
        require_staff(session, actor)
        query = select(EmergencyApproval, Case.ref).join(Case, Case.id == EmergencyApproval.case_id)
        if pending_only:
            query = query.where(EmergencyApproval.status == PENDING)
        rows = session.execute(query.order_by(EmergencyApproval.requested_at, EmergencyApproval.id)).all()
        found = [ApprovalRequest(r.id, ref, r.requested_by, r.requested_at, r.status,
                                 _opened(db, r.case_id, "emergency_approvals", r.id, "reason", r.reason),
                                 r.decided_by, r.decided_at) for r, ref in rows]
        _log_review(session, actor, {r.case_ref: ("emergency_approvals.reason",) for r in found
                                     if r.reason is not None}, now or utcnow())
        return found


@operation("emergency_approval")
def decide_approval(db: Database, actor: Actor, request_id: str, *, approve: bool,
                    now: datetime | None = None) -> None:
    """A decision maker other than the requester approves (or refuses) a pending request."""
    if actor.role not in EMERGENCY_APPROVING_ROLES:
        raise NotPermitted("approve emergency access", actor.role)
    with db.write() as session:
        require_staff(session, actor)
        request = session.get(EmergencyApproval, request_id, with_for_update=True)
        if request is None:
            raise RecordNotFound("emergency approval", "no such request for approval",
                                 "ingen sådan begäran om godkännande")
        if request.requested_by == actor.id:
            raise NotPermitted("approve their own emergency access", actor.role)
        if request.status != PENDING:
            raise InvalidConcern("request", "this request has already been decided", "begäran är redan avgjord")
        request.status = APPROVED if approve else REFUSED
        request.decided_by, request.decided_at = actor.id, now or utcnow()


@dataclass(frozen=True)
class EmergencyAccessSummary:
    """One emergency opening as its reviewer sees it: who, when, which case and fields, the reason, the review."""

    seq: int
    case_ref: str
    actor_id: str
    at: datetime
    reviewed: bool
    fields: tuple[str, ...] = ()
    reason: str | None = None  # None once the case is erased
    erased: bool = False
    verdict: str | None = None
    comment: str | None = None
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    approved_by: str | None = None  # an opening beyond the free ones: who approved it

    def __repr__(self) -> str:  # the reason and comment are personal-ish free text: never print them
        return f"EmergencyAccessSummary(seq={self.seq}, case_ref={self.case_ref!r}, verdict={self.verdict!r})"


def emergency_accesses(db: Database, actor: Actor, *, pending_only: bool = True,
                       verdict: str | None = None, now: datetime | None = None) -> list[EmergencyAccessSummary]:
    """Emergency accesses for review, with their reasons opened (the review is the ground to open them);
    with `verdict`, only the reviewed ones that were given it.

    Each reason and comment opened is a read of sealed case text, so it is logged (`_log_review`) in this
    transaction: the access log shows who looked at which case's emergency reasons, and when."""
    if actor.role not in REVIEWING_ROLES:
        raise NotPermitted("review emergency accesses", actor.role)
    with db.write() as session:
        require_staff(session, actor)
        query = (select(EmergencyAccess, AccessLogEntry, EmergencyApproval.decided_by)
                 .join(AccessLogEntry, AccessLogEntry.seq == EmergencyAccess.seq)
                 .outerjoin(EmergencyApproval, EmergencyApproval.id == EmergencyAccess.approval_id))
        if verdict is not None:
            query = query.where(EmergencyAccess.verdict == verdict)
        elif pending_only:
            query = query.where(EmergencyAccess.reviewed_at.is_(None))
        result = []
        opened: dict[str, set[str]] = {}
        for a, e, approver in session.execute(query.order_by(EmergencyAccess.seq)).all():
            key = _key(db, a.case_id)
            seq = str(a.seq)
            comment = None
            if key is not None:
                opened.setdefault(e.case_ref, set()).add("emergency_accesses.reason")
                if a.review_comment is not None:
                    comment = key.open("emergency_accesses", seq, "review_comment", a.review_comment)
                    opened[e.case_ref].add("emergency_accesses.review_comment")
            result.append(EmergencyAccessSummary(
                a.seq, e.case_ref, e.actor_id, e.at, a.reviewed_at is not None,
                fields=tuple(json.loads(e.entry).get("fields") or ()),
                reason=key.open("emergency_accesses", seq, "reason", a.reason) if key else None,
                erased=key is None, verdict=a.verdict, comment=comment,
                reviewed_by=a.reviewed_by, reviewed_at=a.reviewed_at, approved_by=approver))
        _log_review(session, actor, {ref: tuple(sorted(fields)) for ref, fields in opened.items()}, now or utcnow())
        return result


def _log_review(session: Session, actor: Actor, opened: dict[str, tuple[str, ...]], now: datetime) -> None:
    """One access-log entry per case whose emergency reasons a reviewer was shown (action and ground
    `review`), so that looking at a reason is accounted for like any other read of sealed case text."""
    for ref, fields in sorted(opened.items()):
        log.append(session, AccessEntry(at=now, case_ref=ref, actor_id=actor.id, role=actor.role, action="review",
                                        ground="review", fields=fields))


@operation("emergency_reviewed")
def mark_reviewed(db: Database, actor: Actor, seq: int, *, verdict: str, comment: str | None = None,
                  now: datetime | None = None) -> None:
    """Record the review of an emergency access: its verdict, why when not justified, by whom and when
    (never by the person who made it)."""
    if actor.role not in REVIEWING_ROLES:
        raise NotPermitted("review emergency accesses", actor.role)
    if verdict not in VERDICTS:
        raise InvalidConcern("verdict", "choose justified or not justified", "välj befogad eller inte befogad")
    comment = " ".join((comment or "").split()) or None
    with db.write() as session:
        require_staff(session, actor)
        access = session.get(EmergencyAccess, seq, with_for_update=True)
        if access is None:
            raise RecordNotFound("emergency access", f"no emergency access {seq}", f"ingen nödåtkomst {seq}")
        logged = session.get(AccessLogEntry, seq)  # always there: the access row's key is its log entry's
        if logged is None or logged.actor_id == actor.id:
            raise NotPermitted("review their own emergency access", actor.role)
        if access.reviewed_at is not None:
            raise InvalidConcern("seq", "this emergency access has already been reviewed",
                                 "denna nödåtkomst är redan granskad")
        key = _key(db, access.case_id)
        if verdict == NOT_JUSTIFIED and key is not None and len(comment or "") < REVIEW_COMMENT_MIN_CHARS:
            # An erased case has no key to seal a comment with: its verdict stands alone.
            raise InvalidConcern("comment", f"say why it was not justified (at least {REVIEW_COMMENT_MIN_CHARS} "
                                 "characters)", f"skriv varför den inte var befogad (minst "
                                 f"{REVIEW_COMMENT_MIN_CHARS} tecken)")
        access.verdict = verdict
        if comment is not None and key is not None:
            access.review_comment = key.seal("emergency_accesses", str(seq), "review_comment", comment)
        access.reviewed_by, access.reviewed_at = actor.id, now or utcnow()


def _key(db: Database, case_id: str) -> CaseKey | None:
    try:
        return db.vault.case_key(case_id)
    except KeyDestroyed:
        return None


def _opened(db: Database, case_id: str, table: str, row: str, field: str, value: bytes) -> str | None:
    key = _key(db, case_id)
    return key.open(table, row, field, value) if key else None
