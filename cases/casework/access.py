"""Who may read a case's personal data, and the access log entry every such read leaves behind.

Deny by default. Intake officers read cases in intake, decision makers the cases of their unit (for now
the whole municipality: units arrive with single sign-on), caseworkers the cases assigned to them.
Anyone else of those roles opens a case only through emergency access, which asks for a reason that says
what the emergency is, is limited per person and day, and is reviewed (`cases.casework.emergency`). Reporters,
coordinators, partners, auditors and administrators never read case content here (partners read referral
packets, `cases.casework.disclosures`). Each read is logged in the same
transaction as the decryption: who, role, when, which case, which fields, on what ground.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.actors import require_staff, utcnow
from cases.audit import log
from cases.casework.emergency import (
    REVIEWING_ROLES,
    EmergencyAccessSummary,
    Gate,
    admit,
    check_reason,
    emergency_accesses,
    mark_reviewed,
)
from cases.casework.grounds import read_ground
from cases.casework.operations import end_assignments
from cases.casework.skeleton import case_write, load_case
from cases.crypto.vault import CaseKey
from cases.db import Database
from cases.errors import AccessDenied, CaseNotFound, EmergencyApprovalNeeded, InvalidConcern, KeyDestroyed, NotPermitted
from cases.events import operation
from cases.models import (
    Assignment,
    Case,
    CaseEvent,
    Consent,
    EmergencyAccess,
    Staff,
    TransitionLogEntry,
)
from policies.access import ASSIGNING_ROLES, EMERGENCY_ROLES
from policies.limits import EMERGENCY_FREE_PER_WINDOW, EMERGENCY_WINDOW
from workflow import AccessEntry, Actor

__all__ = [
    "REVIEWING_ROLES",
    "AccessDenied",
    "CaseRecord",
    "EmergencyAccessSummary",
    "assign_case",
    "emergency_accesses",
    "mark_reviewed",
    "read_case",
    "read_ground",
]

PERSON_FIELDS = ("identity_number", "given_name", "family_name", "birth_date")
REPORTER_FIELDS = ("reporter_name", "reporter_contact")  # a named outside reporter's, opened only where left


@dataclass(frozen=True)
class CaseRecord:
    """A case with its personal data opened, for one reader, on one ground."""

    ref: str
    state: str
    version: int
    ground: str
    received_at: datetime
    reporter_org: str
    acute_danger: bool
    flowchart_version: str = ""
    erased: bool = False
    anonymous: bool = False  # nothing about the reporter was recorded
    age_approximate: bool = False  # the birth date is estimated from an approximate age
    person: Mapping[str, str | None] = field(default_factory=dict)
    reporter: Mapping[str, str | None] = field(default_factory=dict)  # a named outside reporter's name, contact
    concern: str | None = None
    consents: tuple[Mapping[str, Any], ...] = ()
    journal: tuple[Mapping[str, Any], ...] = ()

    def __repr__(self) -> str:  # holds personal data: never print it
        return f"CaseRecord(ref={self.ref!r}, state={self.state!r}, ground={self.ground!r})"


@operation("case_read")
def read_case(
    db: Database, actor: Actor, ref: str, *, emergency_reason: str | None = None, now: datetime | None = None
) -> CaseRecord:
    """Open case `ref` for `actor` and log the read, or raise `AccessDenied` (nothing opened, nothing logged).

    Emergency access needs a reason that says what the emergency is, and beyond the free openings per person
    and day an approval (`cases.casework.emergency`): without one, the request for it is kept and the read refused.
    """
    now = now or utcnow()
    with db.write() as session:
        require_staff(session, actor)
        reason = " ".join((emergency_reason or "").split())
        try:
            case = load_case(session, ref)
        except CaseNotFound:
            if reason and actor.role in EMERGENCY_ROLES:
                check_reason(ref, reason)  # the same refusal whether the case exists or not
            raise
        ground = read_ground(session, actor, case)
        if ground is None:
            if actor.role not in EMERGENCY_ROLES:
                raise AccessDenied(ref, emergency_possible=False)
            if not reason:
                raise AccessDenied(ref, emergency_possible=True)
            check_reason(ref, reason)
            ground = "emergency"
        plain: dict[str, Any] = {"ref": case.ref, "state": case.state, "version": case.version, "ground": ground,
                 "received_at": case.received_at, "reporter_org": case.reporter_org,
                 "acute_danger": case.acute_danger, "flowchart_version": case.flowchart_version,
                 "anonymous": case.anonymous, "age_approximate": case.person.age_approximate}
        try:
            key = db.vault.case_key(case.id)
        except KeyDestroyed:
            return CaseRecord(**plain, erased=True)  # nothing personal is left to read, so nothing is logged
        gate = admit(session, actor, case, key, reason, now) if ground == "emergency" else Gate()
        if gate.waiting_for is None:
            return _read(session, key, case, actor, plain, reason, gate, now)
    # The request for approval is committed with the transaction above; the case stays closed.
    raise EmergencyApprovalNeeded(ref, gate.waiting_for, EMERGENCY_FREE_PER_WINDOW,
                                  int(EMERGENCY_WINDOW.total_seconds() // 3600))


def _read(session: Session, key: CaseKey, case: Case, actor: Actor, plain: dict[str, Any], reason: str,
          gate: Gate, now: datetime) -> CaseRecord:
    """Open the case and log the read in the caller's transaction; an emergency read keeps its sealed reason."""
    ground = plain["ground"]
    record = CaseRecord(**plain, **_open(session, key, case))
    fields = (*(f"persons.{f}" for f in PERSON_FIELDS), "cases.concern", "consents.evidence",
              "consents.withdrawal_reason", "case_events.payload",
              *(f"cases.{f}" for f in REPORTER_FIELDS if getattr(case, f) is not None))
    salt = secrets.token_bytes(16)
    entry = AccessEntry(at=now, case_ref=case.ref, actor_id=actor.id, role=actor.role, action="read",
                        ground=ground, fields=fields,
                        reason_hash=_hash(reason, salt) if ground == "emergency" else "")
    row = log.append(session, entry)
    if ground == "emergency":
        session.flush()
        session.add(EmergencyAccess(seq=row.seq, case_id=case.id, reason_salt=salt, approval_id=gate.approval_id,
                                    reason=key.seal("emergency_accesses", str(row.seq), "reason", reason)))
    return record


def _open(session: Session, key: CaseKey, case: Case) -> dict[str, Any]:
    person = {f: key.open("persons", case.person.id, f, getattr(case.person, f)) for f in PERSON_FIELDS}
    consents = tuple(
        {"id": c.id, "given_by": c.given_by, "purposes": c.purposes, "recipients": c.recipients,
         "data_categories": c.data_categories, "method": c.method, "valid_from": c.valid_from,
         "valid_until": c.valid_until, "status": c.status, "withdrawn_at": c.withdrawn_at,
         "evidence": key.open("consents", c.id, "evidence", c.evidence),
         "withdrawal_reason": key.open("consents", c.id, "withdrawal_reason", c.withdrawal_reason)}
        for c in session.scalars(select(Consent).where(Consent.case_id == case.id).order_by(Consent.recorded_at))
    )
    rows = session.execute(
        select(TransitionLogEntry, CaseEvent.payload).join(CaseEvent, CaseEvent.seq == TransitionLogEntry.seq)
        .where(CaseEvent.case_id == case.id).order_by(TransitionLogEntry.seq)
    ).all()
    journal = tuple(
        {"seq": e.seq, "at": e.at, "trigger": e.trigger, "from": e.from_state, "to": e.to_state,
         "fields": key.open_json("case_events", str(e.seq), "payload", payload)["fields"]}
        for e, payload in rows
    )
    reporter = {f: key.open("cases", case.id, f, getattr(case, f)) for f in REPORTER_FIELDS
                if getattr(case, f) is not None}
    return {"person": person, "reporter": reporter, "concern": key.open("cases", case.id, "concern", case.concern),
            "consents": consents, "journal": journal}


def _hash(reason: str, salt: bytes) -> str:
    return hashlib.sha256(salt + reason.encode()).hexdigest()


@operation("case_assigned")
def assign_case(db: Database, actor: Actor, ref: str, caseworker_id: str, *, replace: bool = False,
                now: datetime | None = None) -> None:
    """Assign a caseworker to a case (by intake or a decision maker); `replace` reassigns it to them alone.

    Several caseworkers may work on a case together (a child's investigation is often done in pairs).
    Reassigning ends every other open assignment (`ended_at`), and with it those caseworkers' ground to read
    or move the case and its place on their work lists; closing the case ends them all
    (`cases.casework.operations.apply_outcome`)."""
    now = now or utcnow()
    if actor.role not in ASSIGNING_ROLES:
        raise NotPermitted("assign a case", actor.role)
    # Locked: two assigners at once, one replaces the other. The ground refuses intake a case out of intake.
    with case_write(db, actor, ref, now=now) as opened:
        session, case = opened.session, opened.case
        target = session.get(Staff, caseworker_id)
        if target is None or not target.active or target.role != "caseworker":
            raise InvalidConcern("caseworker", "choose an active caseworker", "välj en aktiv handläggare")
        if replace:
            end_assignments(session, case, now, keep=target.id)
        if session.scalars(select(Assignment.id).where(Assignment.case_id == case.id, Assignment.staff_id == target.id,
                                                       Assignment.ended_at.is_(None))).first():
            return  # already assigned: assigning again changes nothing
        session.add(Assignment(case_id=case.id, staff_id=target.id, assigned_by=actor.id, assigned_at=now))
