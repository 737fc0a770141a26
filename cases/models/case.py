"""Cases, the person a case is about, and what hangs on a case: consents, deadlines, assignments, referral
packets, disclosures, emergency accesses and their approvals, the flowchart versions cases run on.
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
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cases.models.base import NO_DEADLINE, Base
from cases.types import Sealed

__all__ = [
    "Assignment",
    "Case",
    "CaseEvent",
    "Consent",
    "Deadline",
    "Disclosure",
    "EmergencyAccess",
    "EmergencyApproval",
    "FlowchartVersion",
    "Person",
    "ReferralPacket",
]


class FlowchartVersion(Base):
    """A flowchart definition as it was when a case started on it; cases stay pinned to it."""

    __tablename__ = "flowchart_versions"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    source_text: Mapped[str] = mapped_column(Text)
    first_used_at: Mapped[datetime]


class Person(Base):
    """The person a case is about, one row per case (sealed under that case's key, erased with it).

    `identity_index` is a keyed hash (HMAC) of the normalised identity number: the same person's other
    cases are found by it without storing or decrypting any number.
    """

    __tablename__ = "persons"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    identity_number: Mapped[bytes | None] = mapped_column(Sealed)
    identity_index: Mapped[str | None] = mapped_column(String(64), index=True)
    identity_kind: Mapped[str | None] = mapped_column(String(20))
    birth_date: Mapped[bytes] = mapped_column(Sealed)
    given_name: Mapped[bytes | None] = mapped_column(Sealed)
    family_name: Mapped[bytes | None] = mapped_column(Sealed)
    created_at: Mapped[datetime]
    # The birth date is estimated from an approximate age until the identity is completed (`cases.sources`).
    age_approximate: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Case(Base):
    """One concern and everything done about it, in one state of its pinned flowchart version."""

    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ref: Mapped[str] = mapped_column(String(16), unique=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id"), index=True)
    flowchart_version: Mapped[str] = mapped_column(ForeignKey("flowchart_versions.version"))
    state: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime]
    registered_by: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    reporter_org: Mapped[str] = mapped_column(String(32))  # the concern's source (vocabulary reporter_orgs)
    # An anonymous reporter leaves nothing; a named one from outside the municipality may leave a name and
    # contact details, sealed (policies/rules.toml [sources]).
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    reporter_name: Mapped[bytes | None] = mapped_column(Sealed)
    reporter_contact: Mapped[bytes | None] = mapped_column(Sealed)
    acute_danger: Mapped[bool] = mapped_column(Boolean, default=False)
    police_contacted_at: Mapped[datetime | None]
    police_contacted_by: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    concern: Mapped[bytes] = mapped_column(Sealed)
    shared_with: Mapped[list[str]] = mapped_column(default=list)
    outcome: Mapped[str | None] = mapped_column(String(32))
    # The running deadline due first (kept with every transition), so the work list sorts through an index
    # without scanning every deadline: see cases.casework.worklist. NO_DEADLINE (9999-12-31) when none runs, so that
    # the plain ascending order of the index puts those last on both databases.
    next_deadline: Mapped[str | None] = mapped_column(String(40))
    next_due_on: Mapped[date] = mapped_column(Date, default=lambda: NO_DEADLINE)
    updated_at: Mapped[datetime]

    person: Mapped[Person] = relationship(lazy="raise")

    __mapper_args__ = {"version_id_col": version}
    # The work list's order, whole and within one state: a list filtered by state (and the intake officers',
    # a few states) reads its page from the index in order instead of sorting every case in those states.
    # The whole list's order carries the state, so a page deep in the list skips cases without reading them
    # (a decision maker's list leaves out erased ones; migration 0010).
    __table_args__ = (Index("ix_cases_next_due", "next_due_on", "received_at", "ref", "state"),
                      Index("ix_cases_state_next_due", "state", "next_due_on", "received_at", "ref"))


class CaseEvent(Base):
    """The whole form of a transition, with the salt its log entry's payload hash was made with."""

    __tablename__ = "case_events"

    seq: Mapped[int] = mapped_column(ForeignKey("transition_log.seq"), primary_key=True, autoincrement=False)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    payload: Mapped[bytes] = mapped_column(Sealed)


class Consent(Base):
    """A consent record (DESIGN.md §3, after ISO/IEC TS 27560): who, for what, to whom, until when."""

    __tablename__ = "consents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    given_by: Mapped[str] = mapped_column(String(16))
    purposes: Mapped[list[str]]
    recipients: Mapped[list[str]]
    data_categories: Mapped[list[str]]
    method: Mapped[str] = mapped_column(String(16))
    evidence: Mapped[bytes] = mapped_column(Sealed)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    withdrawn_at: Mapped[datetime | None]
    withdrawal_reason: Mapped[bytes | None] = mapped_column(Sealed)
    recorded_by: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    recorded_at: Mapped[datetime]


class Deadline(Base):
    """A statutory deadline of a case; running while `stopped_at` is empty."""

    __tablename__ = "deadlines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    name: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime]
    due_on: Mapped[date] = mapped_column(Date)
    stopped_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_deadlines_case_running", "case_id", "stopped_at"),
        Index("ix_deadlines_due_on", "due_on"),
    )


class EmergencyAccess(Base):
    """An emergency opening of a case by someone not assigned to it: the reason, and its review."""

    __tablename__ = "emergency_accesses"

    seq: Mapped[int] = mapped_column(ForeignKey("access_log.seq"), primary_key=True, autoincrement=False)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    reason: Mapped[bytes] = mapped_column(Sealed)
    reason_salt: Mapped[bytes] = mapped_column(LargeBinary(16))
    reviewed_by: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    reviewed_at: Mapped[datetime | None]
    # The review's verdict (`cases.casework.emergency.VERDICTS`), and why when not justified (sealed like the reason).
    verdict: Mapped[str | None] = mapped_column(String(16))
    review_comment: Mapped[bytes | None] = mapped_column(Sealed)
    # The approval that let an opening beyond the free ones through (`cases.casework.emergency`), if one was needed.
    approval_id: Mapped[str | None] = mapped_column(ForeignKey("emergency_approvals.id"))


class EmergencyApproval(Base):
    """A request to open a case through emergency access beyond the free ones, and its approval.

    Made by the read it holds back; decided by a decision maker other than the requester; used by one read.
    """

    __tablename__ = "emergency_approvals"
    __table_args__ = (Index("ix_emergency_approvals_requester", "requested_by", "case_id", "status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    requested_by: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    requested_at: Mapped[datetime]
    reason: Mapped[bytes] = mapped_column(Sealed)
    status: Mapped[str] = mapped_column(String(16), index=True)
    decided_by: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    decided_at: Mapped[datetime | None]


class Assignment(Base):
    """A member of staff assigned to a case; a caseworker reads only the cases assigned to them."""

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    assigned_by: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    assigned_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]

    # By case (who may read it); by member of staff, open ones first (a caseworker's work list).
    __table_args__ = (Index("ix_assignments_case_staff", "case_id", "staff_id"),
                      Index("ix_assignments_staff_open", "staff_id", "ended_at", "case_id"))


class ReferralPacket(Base):
    """What a referral shares: recipients, purpose and data categories; readable while its consent holds."""

    __tablename__ = "referral_packets"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    transition_seq: Mapped[int] = mapped_column(ForeignKey("transition_log.seq"))
    purpose: Mapped[str] = mapped_column(String(32))
    recipients: Mapped[list[str]]
    data_categories: Mapped[list[str]]
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    # the intervention it was made for (flowchart version 3 on): it closes when that intervention ends
    intervention_id: Mapped[str | None] = mapped_column(ForeignKey("interventions.id"), index=True)


class Disclosure(Base):
    """A disclosure outside social services on a legal basis: requested, then approved by a second person."""

    __tablename__ = "disclosures"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(32))
    data_categories: Mapped[list[str]]
    legal_basis: Mapped[str] = mapped_column(String(32))
    reason: Mapped[bytes] = mapped_column(Sealed)
    # the act or ordinance a duty to disclose rests on (10 kap. 28 § OSL), sealed like the reason (issue 17)
    named_law: Mapped[bytes | None] = mapped_column(Sealed)
    requested_by: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    requested_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    decided_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16))
