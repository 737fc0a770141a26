"""The records: cases, the person a case is about, staff, consents, deadlines, assignments, referral
packets, disclosures, flags on a case, role grants waiting for approval, and the transition, access and
administration logs.

Personal data sits only in `Sealed` columns: AES-GCM ciphertext under the case's data key, sealed and
opened by `cases.crypto.vault` with the table, row and field as associated data. The logs hold none: they name a
case by its pseudonym (`Case.ref`) and staff by id, and commit to free text by salted hashes.
"""

from cases.models.base import NO_DEADLINE, Base
from cases.models.case import (
    Assignment,
    Case,
    CaseEvent,
    Consent,
    Deadline,
    Disclosure,
    EmergencyAccess,
    EmergencyApproval,
    FlowchartVersion,
    Person,
    ReferralPacket,
)
from cases.models.deadlines import DeadlineNotice
from cases.models.flags import CaseFlag
from cases.models.interventions import Intervention
from cases.models.jobs import Job
from cases.models.logs import (
    AccessLogEntry,
    AccessLogNode,
    AdministrationLogEntry,
    AdministrationLogNode,
    Checkpoint,
    JournalLogEntry,
    JournalLogNode,
    TransitionLogEntry,
    TransitionLogNode,
)
from cases.models.notifications import MailOutbox, Notification
from cases.models.records import AssessmentRecord, CaseLink, Communication, Decision, DecisionNotification, JournalNote
from cases.models.retention import LegalHold  # issue 19 (appended)
from cases.models.staff import ApiRequestCount, ApiToken, IdempotencyRecord, RoleGrant, SignInAttempt, Staff, WebSession
from cases.models.subjects import SubjectExtract

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
    "CaseFlag",
    "CaseLink",
    "Checkpoint",
    "Communication",
    "Consent",
    "Deadline",
    "DeadlineNotice",
    "Decision",
    "DecisionNotification",
    "Disclosure",
    "EmergencyAccess",
    "EmergencyApproval",
    "FlowchartVersion",
    "IdempotencyRecord",
    "Intervention",
    "Job",
    "JournalLogEntry",
    "JournalLogNode",
    "JournalNote",
    "LegalHold",
    "MailOutbox",
    "Notification",
    "Person",
    "ReferralPacket",
    "RoleGrant",
    "SignInAttempt",
    "Staff",
    "SubjectExtract",
    "TransitionLogEntry",
    "TransitionLogNode",
    "WebSession",
]
