"""Read a case's communications and structured assessments, with their sealed text opened, and log the read.

Deny by default: only staff with a ground on the case read them (`cases.casework.grounds`); emergency access
opens the case page, not these records. Each read is one entry in the access log, in the transaction that
opens the text: who, role, when, which case, which fields, on what ground.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from cases.actors import require_staff, utcnow
from cases.audit import log
from cases.casework.grounds import read_ground
from cases.casework.operations import case_key
from cases.casework.skeleton import load_case
from cases.db import Database
from cases.errors import AccessDenied
from cases.events import operation
from cases.models import AssessmentRecord, Communication, Staff
from workflow import AccessEntry, Actor

__all__ = ["AssessmentView", "CommunicationView", "HearingRecord", "read_hearing"]

FIELDS = ("communications.material", "communications.answer", "communications.exception_reason",
          "assessments.assessed", "assessments.child_view", "assessments.not_heard_detail")


@dataclass(frozen=True)
class CommunicationView:
    id: str
    kind: str
    decision: str
    recipients: tuple[str, ...]
    method: str | None
    material: str | None
    sent_on: date | None
    answer_by: date | None
    exception: str | None
    exception_reason: str | None
    recorded_by: str
    recorded_at: datetime
    answered_on: date | None
    answer: str | None

    def __repr__(self) -> str:  # holds personal text: never print it
        return f"CommunicationView(id={self.id!r}, kind={self.kind!r}, decision={self.decision!r})"


@dataclass(frozen=True)
class AssessmentView:
    id: str
    kind: str
    trigger: str
    decision: str
    assessed: str
    child_view: str | None
    not_heard_reason: str | None
    not_heard_detail: str | None
    recorded_by: str
    recorded_at: datetime

    def __repr__(self) -> str:  # holds personal text: never print it
        return f"AssessmentView(id={self.id!r}, kind={self.kind!r}, decision={self.decision!r})"


@dataclass(frozen=True)
class HearingRecord:
    ref: str
    communications: tuple[CommunicationView, ...]
    assessments: tuple[AssessmentView, ...]


@operation("hearing_read")
def read_hearing(db: Database, actor: Actor, ref: str, *, now: datetime | None = None) -> HearingRecord:
    """Open the communications and assessments of case `ref` for `actor` and log the read (a case without any,
    or an erased one, opens nothing and logs nothing); `AccessDenied` without a ground, as if not there."""
    now = now or utcnow()
    with db.write() as session:
        require_staff(session, actor)
        case = load_case(session, ref)
        ground = read_ground(session, actor, case)
        if ground is None:
            raise AccessDenied(ref, emergency_possible=False)
        key = case_key(db, case)
        if key is None:
            return HearingRecord(case.ref, (), ())
        names = {i: n for i, n in session.execute(select(Staff.id, Staff.display_name))}
        rows = session.scalars(select(Communication).where(Communication.case_id == case.id)
                               .order_by(Communication.recorded_at, Communication.seq)).all()
        communications = tuple(CommunicationView(
            id=c.id, kind=c.kind, decision=c.decision, recipients=tuple(c.recipients), method=c.method,
            material=key.open("communications", c.id, "material", c.material), sent_on=c.sent_on,
            answer_by=c.answer_by, exception=c.exception,
            exception_reason=key.open("communications", c.id, "exception_reason", c.exception_reason),
            recorded_by=names.get(c.recorded_by, ""), recorded_at=c.recorded_at, answered_on=c.answered_on,
            answer=key.open("communications", c.id, "answer", c.answer),
        ) for c in rows)
        records = session.scalars(select(AssessmentRecord).where(AssessmentRecord.case_id == case.id)
                                  .order_by(AssessmentRecord.seq)).all()
        assessments = tuple(AssessmentView(
            id=a.id, kind=a.kind, trigger=a.trigger, decision=a.decision,
            assessed=key.open("assessments", a.id, "assessed", a.assessed),
            child_view=key.open("assessments", a.id, "child_view", a.child_view),
            not_heard_reason=a.not_heard_reason,
            not_heard_detail=key.open("assessments", a.id, "not_heard_detail", a.not_heard_detail),
            recorded_by=names.get(a.recorded_by, ""), recorded_at=a.recorded_at,
        ) for a in records)
        if communications or assessments:  # nothing opened, nothing to log
            log.append(session, AccessEntry(at=now, case_ref=case.ref, actor_id=actor.id, role=actor.role,
                                            action="read", ground=ground, fields=FIELDS))
        return HearingRecord(case.ref, communications, assessments)
