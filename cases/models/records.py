"""The casework records beside the transitions (issue 17): links between cases about the same person, journal
notes, decisions and their notification, kommunicering and structured assessments.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from cases.models.base import Base
from cases.types import Sealed

__all__ = [
    "AssessmentRecord",
    "CaseLink",
    "Communication",
    "Decision",
    "DecisionNotification",
    "JournalNote",
]


class CaseLink(Base):
    """A new case about the same person as an earlier one, found by the identity index at registration; or a
    relative's own matter linked to the subject's case it was opened from (`kind`).

    A closed case is not reopened: a new concern is a new case with its own protection assessment and
    pre-assessment, linked to the earlier case (LAW.md). The link holds no personal data, only the two case
    ids; who may see it is decided when it is read (a ground on both cases).
    """

    __tablename__ = "case_links"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    earlier_case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True, index=True)
    created_at: Mapped[datetime]
    # 'earlier': the same person's earlier case; 'relative': `case_id` is a relative's own matter opened from
    # the subject's case `earlier_case_id` (cases.relatives). A code, never a name (migration 0020).
    kind: Mapped[str] = mapped_column(String(16), default="earlier", server_default="earlier")


class JournalNote(Base):
    """A journal note on a case: what happened (its kind and date) and the text, sealed with the case's key.

    A draft until its author signs it; a signed note never changes (`cases.journal`). A correction is a new
    signed note that names the one it corrects (`corrects_id`); the corrected note stays as it was. Every
    change to a note is an entry of the journal log whose content hash `vidoro audit verify` compares with the
    row (`cases.audit.notes`): a signed note changed in the database is found.
    """

    __tablename__ = "journal_notes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    author_id: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    author_role: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))  # a code of policies/journal.toml
    occurred_on: Mapped[date] = mapped_column(Date)  # the date of what happened
    text: Mapped[bytes] = mapped_column(Sealed)
    corrects_id: Mapped[str | None] = mapped_column(ForeignKey("journal_notes.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    signed_at: Mapped[datetime | None]

    # A case's journal in order; the corrections of a note.
    __table_args__ = (Index("ix_journal_notes_case_occurred", "case_id", "occurred_on", "created_at"),
                      Index("ix_journal_notes_corrects_id", "corrects_id"))


class Decision(Base):
    """A formal decision, written in the transaction of the transition that took it (one each, never apart).

    Its kind, provision and delegation are `policies/decisions.toml` codes; the reasons are the transition's
    reason, sealed under the case's key like every personal text (förvaltningslagen (2017:900), the provision on
    reasons for decisions, law.toml `fl_32`).
    """

    __tablename__ = "decisions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    transition_seq: Mapped[int] = mapped_column(ForeignKey("transition_log.seq"), unique=True)
    trigger: Mapped[str] = mapped_column(String(48))
    kind: Mapped[str] = mapped_column(String(48))
    provision: Mapped[str] = mapped_column(String(48))
    appealable: Mapped[bool] = mapped_column(Boolean)
    decided_by: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    role: Mapped[str] = mapped_column(String(32))
    delegation: Mapped[str] = mapped_column(String(48))
    decided_at: Mapped[datetime]
    reasons: Mapped[bytes | None] = mapped_column(Sealed)


class DecisionNotification(Base):
    """That the person (or, for a child, the guardians) was told of a decision: when, how and by whom."""

    __tablename__ = "decision_notifications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    decision_id: Mapped[str] = mapped_column(ForeignKey("decisions.id"), index=True)
    transition_seq: Mapped[int] = mapped_column(ForeignKey("transition_log.seq"), unique=True)
    recipient: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(16))
    notified_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    recorded_at: Mapped[datetime]


class Communication(Base):
    """Material communicated to a party before a decision that goes against the person (förvaltningslagen
    (2017:900) 25 §), and the answer once it comes; or, with `kind` "exception", why it was not communicated.

    What was sent, the answer and an exception's reason are sealed; `decision` (the trigger it prepares), the
    recipients, the method and the dates are codes the engine decides on (`workflow.hearing`). Each record and
    each answer has its entry in the transition log (`seq`, `answer_seq`): codes and a salted hash, no text.
    """

    __tablename__ = "communications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # sent, exception
    decision: Mapped[str] = mapped_column(String(40))
    recipients: Mapped[list[str]]
    method: Mapped[str | None] = mapped_column(String(16))
    material: Mapped[bytes | None] = mapped_column(Sealed)
    sent_on: Mapped[date | None] = mapped_column(Date)
    answer_by: Mapped[date | None] = mapped_column(Date)
    exception: Mapped[str | None] = mapped_column(String(32))
    exception_reason: Mapped[bytes | None] = mapped_column(Sealed)
    salt: Mapped[bytes] = mapped_column(LargeBinary(16))  # re-derives the log entries' hashes of the text
    recorded_by: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    recorded_at: Mapped[datetime]
    seq: Mapped[int] = mapped_column(Integer)
    answered_on: Mapped[date | None] = mapped_column(Date)
    answer: Mapped[bytes | None] = mapped_column(Sealed)
    answer_recorded_by: Mapped[str | None] = mapped_column(String(36))
    answer_recorded_at: Mapped[datetime | None]
    answer_seq: Mapped[int | None] = mapped_column(Integer)


class AssessmentRecord(Base):
    """A protection assessment or pre-assessment as what it is, written with the step that decided it.

    What was assessed, the child's own view and the detail of why a child was not heard are sealed; the kind,
    the decision and the reason code are codes, also in the step's log entry (`seq`) with a salted hash of all.
    """

    __tablename__ = "assessments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    kind: Mapped[str] = mapped_column(String(24))
    trigger: Mapped[str] = mapped_column(String(40))
    decision: Mapped[str] = mapped_column(String(32))
    assessed: Mapped[bytes] = mapped_column(Sealed)
    child_view: Mapped[bytes | None] = mapped_column(Sealed)
    not_heard_reason: Mapped[str | None] = mapped_column(String(32))
    not_heard_detail: Mapped[bytes | None] = mapped_column(Sealed)
    recorded_by: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    recorded_at: Mapped[datetime]
