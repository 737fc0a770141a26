"""The records: cases, the person a case is about, staff, consents, deadlines, assignments, referral
packets, disclosures, role grants waiting for approval, and the transition, access and administration logs.

Personal data sits only in `Sealed` columns: AES-GCM ciphertext under the case's data key, sealed and
opened by `cases.crypto.vault` with the table, row and field as associated data. The logs hold none: they name a
case by its pseudonym (`Case.ref`) and staff by id, and commit to free text by salted hashes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from cases.types import Sealed, UTCDateTime

__all__ = [
    "NO_DEADLINE",
    "AccessLogEntry",
    "AccessLogNode",
    "AdministrationLogEntry",
    "AdministrationLogNode",
    "ApiRequestCount",
    "ApiToken",
    "AssessmentRecord",
    "Assignment",
    "Base",
    "Case",
    "CaseEvent",
    "Checkpoint",
    "Communication",
    "Consent",
    "Deadline",
    "Disclosure",
    "EmergencyAccess",
    "FlowchartVersion",
    "IdempotencyRecord",
    "JournalLogEntry",
    "JournalLogNode",
    "JournalNote",
    "Person",
    "ReferralPacket",
    "RoleGrant",
    "SignInAttempt",
    "Staff",
    "TransitionLogEntry",
    "TransitionLogNode",
    "WebSession",
]

NO_DEADLINE = date(9999, 12, 31)  # Case.next_due_on when no deadline runs

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[str]: JSON()}


class FlowchartVersion(Base):
    """A flowchart definition as it was when a case started on it; cases stay pinned to it."""

    __tablename__ = "flowchart_versions"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    source_text: Mapped[str] = mapped_column(Text)
    first_used_at: Mapped[datetime]


class Staff(Base):
    """A member of staff: who registers concerns and fires triggers, and in which role."""

    __tablename__ = "staff"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    password_hash: Mapped[str | None] = mapped_column(String(255))  # Argon2id, PHC string; None: cannot sign in


class WebSession(Base):
    """A signed-in browser: stored by the SHA-256 of its token, so a copy of the table signs nobody in."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"), index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class SignInAttempt(Base):
    """One password sign-in attempt, kept 30 days for rate limiting: no password, and the typed name only as a
    keyed hash (`cases.staff.accounts`), so a password typed into the name field is not kept either."""

    __tablename__ = "sign_in_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username_hash: Mapped[str] = mapped_column(String(64))  # HMAC-SHA256 of the normalised typed name
    address: Mapped[str] = mapped_column(String(64))
    device_hash: Mapped[str | None] = mapped_column(String(64))  # SHA-256 of a valid device cookie's nonce
    at: Mapped[datetime] = mapped_column(index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean)  # False until the password is verified

    __table_args__ = (
        Index("ix_sign_in_attempts_username_hash_at", "username_hash", "at"),
        Index("ix_sign_in_attempts_address_at", "address", "at"),
        Index("ix_sign_in_attempts_device_hash_at", "device_hash", "at"),
    )


class ApiToken(Base):
    """A personal API token: stored by the SHA-256 of its secret, with an expiry; it acts in its owner's role."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class IdempotencyRecord(Base):
    """The first answer to a request sent with an Idempotency-Key, written in the transaction of its change.

    Holds a keyed hash of the request, never the request, and an answer without personal data.
    """

    __tablename__ = "idempotency_keys"

    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(SmallInteger)
    answer: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(index=True)


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
    reporter_org: Mapped[str] = mapped_column(String(32))
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


class TransitionLogEntry(Base):
    """One entry of the append-only, hash-chained transition log (no personal data)."""

    __tablename__ = "transition_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    case_ref: Mapped[str] = mapped_column(String(16), index=True)
    at: Mapped[datetime]
    trigger: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    entry: Mapped[bytes] = mapped_column(LargeBinary)
    chain_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class CaseEvent(Base):
    """The whole form of a transition, with the salt its log entry's payload hash was made with."""

    __tablename__ = "case_events"

    seq: Mapped[int] = mapped_column(ForeignKey("transition_log.seq"), primary_key=True, autoincrement=False)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    payload: Mapped[bytes] = mapped_column(Sealed)


class AccessLogEntry(Base):
    """One entry of the append-only, hash-chained access log: a read of personal data or a disclosure."""

    __tablename__ = "access_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    case_ref: Mapped[str] = mapped_column(String(16), index=True)
    at: Mapped[datetime]
    actor_id: Mapped[str] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(24))
    ground: Mapped[str] = mapped_column(String(24))
    entry: Mapped[bytes] = mapped_column(LargeBinary)
    chain_hash: Mapped[bytes] = mapped_column(LargeBinary(32))

    # Each account's reads in the last hour, for the auditor (`cases.audit.read_volume`), from the index alone.
    __table_args__ = (Index("ix_access_log_at_action_actor", "at", "action", "actor_id"),)


class TransitionLogNode(Base):
    """A complete subtree's hash in the transition log's Merkle tree: level 0 are the leaves (RFC 9162)."""

    __tablename__ = "transition_log_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AccessLogNode(Base):
    """A complete subtree's hash in the access log's Merkle tree."""

    __tablename__ = "access_log_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class Checkpoint(Base):
    """A signed tree head of one log, as issued: the note text is what auditors receive and check."""

    __tablename__ = "checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    log: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(Integer)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("log", "size", name="uq_checkpoints_log_size"),)


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


class ApiRequestCount(Base):
    """How many API requests one token or one account made in one fixed window (`cases.staff.ratelimit`).

    Kept in the database so that the limits hold across `vidoro serve`'s worker processes: one upsert per
    request counts the token and the account together. Old windows are deleted as new ones start."""

    __tablename__ = "api_request_counts"

    # "token:<id>", "account:<id>", or "recheck:<id>" (wrong passwords on making a token, `cases.staff.tokens`)
    subject: Mapped[str] = mapped_column(String(48), primary_key=True)
    window: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # Unix time // its length
    count: Mapped[int] = mapped_column(Integer)


class AdministrationLogEntry(Base):
    """One entry of the append-only, hash-chained administration log: a change to an account (no names)."""

    __tablename__ = "administration_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor_id: Mapped[str] = mapped_column(String(36), index=True)  # a staff id, or "operator"
    target_id: Mapped[str] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(24))
    entry: Mapped[bytes] = mapped_column(LargeBinary)
    chain_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AdministrationLogNode(Base):
    """A complete subtree's hash in the administration log's Merkle tree."""

    __tablename__ = "administration_log_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class RoleGrant(Base):
    """A role that can read case data, asked for by one administrator and waiting for a second one's decision.

    `staff_id` is not a foreign key: refusing the role of a new account removes that account, and the
    grant stays as its record. `new_account`: approving also enables the account (created disabled).
    """

    __tablename__ = "role_grants"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    staff_id: Mapped[str] = mapped_column(String(36), index=True)
    role: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str | None] = mapped_column(String(64))
    new_account: Mapped[bool] = mapped_column(Boolean)
    requested_by: Mapped[str] = mapped_column(String(36))
    requested_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))  # pending, approved, refused, withdrawn
    decided_by: Mapped[str | None] = mapped_column(String(36))  # a staff id, or "operator"
    decided_at: Mapped[datetime | None]


# --- case links (issue 17) ---


class CaseLink(Base):
    """A new case about the same person as an earlier one, found by the identity index at registration.

    A closed case is not reopened: a new concern is a new case with its own protection assessment and
    pre-assessment, linked to the earlier case (LAW.md). The link holds no personal data, only the two case
    ids; who may see it is decided when it is read (a ground on both cases).
    """

    __tablename__ = "case_links"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    earlier_case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True, index=True)
    created_at: Mapped[datetime]


# --- journal notes (issue 17) -------------------------------------------------------------------------------


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


class JournalLogEntry(Base):
    """One entry of the append-only, hash-chained journal log: a change to a journal note (no text)."""

    __tablename__ = "journal_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    case_ref: Mapped[str] = mapped_column(String(16), index=True)
    at: Mapped[datetime]
    actor_id: Mapped[str] = mapped_column(String(36))
    action: Mapped[str] = mapped_column(String(24))
    note_id: Mapped[str] = mapped_column(String(36), index=True)
    entry: Mapped[bytes] = mapped_column(LargeBinary)
    chain_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class JournalLogNode(Base):
    """A complete subtree's hash in the journal log's Merkle tree."""

    __tablename__ = "journal_log_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))
# --- decisions and their notification (issue 17) ---


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



# --- kommunicering and structured assessments (issue 17) ---


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


__all__ += ["Decision", "DecisionNotification"]
