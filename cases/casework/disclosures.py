"""Disclosures of case data outside social services: referral packets, consented disclosures and disclosures
on a legal basis. Every one goes through `workflow.disclosure.decide_disclosure`; every disclosure and every
refusal is written to the access log, a refusal too (it commits before the refusal is raised).

A disclosure on a legal basis is checked against the conditions of the provision cited
(`policies/disclosure.toml`) when it is asked for, and again when the second person decides it.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from cases.actors import require_staff, utcnow
from cases.audit import log
from cases.casework.operations import case_facts, case_key
from cases.casework.skeleton import case_write
from cases.crypto.vault import CaseKey
from cases.db import Database
from cases.errors import DisclosureRefused, InvalidConcern, NotPermitted, RecordNotFound
from cases.events import operation
from cases.flowcharts import engine_for_version
from cases.models import Case, CaseEvent, Disclosure, Intervention, ReferralPacket, Staff
from cases.text import check_text
from policies.access import DISCLOSING_ROLES
from workflow import AccessEntry, Actor, InterventionFacts, Refusal
from workflow.deadlines import local_date
from workflow.disclosure import APPROVING_ROLE, Decision, decide_disclosure
from workflow.interventions import coverage_refusals

__all__ = [
    "Packet",
    "decide_requested_disclosure",
    "disclose_with_consent",
    "read_referral",
    "referral_decision",
    "request_disclosure",
]

MAX_LAW_NAME = 300  # the name of an act or ordinance, with its SFS number
CATEGORY_FIELDS: Mapping[str, tuple[str, ...]] = {
    "identity": ("identity_number", "given_name", "family_name", "birth_date"),
    "contact": (),  # no contact details are recorded yet
    "concern": ("concern",),
    "assessment": ("protection_assessment",),
    "journal": ("journal",),
}


@dataclass(frozen=True)
class Packet:
    """What is handed to a recipient: only the fields the ground covers."""

    ref: str
    recipient: str
    purpose: str
    ground: str
    data_categories: tuple[str, ...]
    data: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Packet(ref={self.ref!r}, recipient={self.recipient!r}, categories={self.data_categories!r})"


@operation("referral_read")
def read_referral(db: Database, partner: Actor, packet_id: str, *, now: datetime | None = None) -> Packet:
    """A partner reads a referral packet shared with their organisation, only while its consent holds."""
    now = now or utcnow()
    with db.write() as session:
        staff = require_staff(session, partner)
        packet = session.get(ReferralPacket, packet_id)
        if packet is None:
            raise RecordNotFound("referral", "no such referral packet", "inget sådant remisspaket")
        case = _case(session, packet.case_id)
        recipient = staff.unit or ""
        decision, key = referral_decision(db, session, staff, partner, packet, case, now)
        result = _conclude(session, case, key, partner, decision, recipient, packet.purpose,
                           packet.data_categories, now, extra={"packet": packet.id})
    return _raise_or_return(result)


def referral_decision(db: Database, session: Session, staff: Staff, partner: Actor, packet: ReferralPacket,
                      case: Case, now: datetime) -> tuple[Decision, CaseKey | None]:
    """Whether `partner` may read `packet` now, and the case key if it had to be opened to decide.

    The one decision for reading a packet and for listing it (`cases.casework.referrals`): a listed recipient, the
    packet still open, and the consents in force covering it (or the legal basis it was released on). A packet made
    for an intervention (flowchart version 3 on) is read only while that intervention runs and a consent in force
    covers the intervention as a whole (its purpose, every recipient it shares with and its data)."""
    recipient = staff.unit or ""
    if partner.role != "partner" or recipient not in packet.recipients:
        return Decision(False, None, (Refusal("not_a_recipient", {"recipient": recipient or partner.role}),)), None
    if packet.closed_at is not None:
        return Decision(False, None, (Refusal("referral_closed", {"purpose": packet.purpose}),)), None
    key = case_key(db, case)
    if packet.intervention_id is not None:
        refused = _intervention_refusals(session, case, key, packet, now)
        if refused:
            return Decision(False, None, refused), key
    decision = _decide(session, case, key, partner, recipient, packet.purpose, packet.data_categories, now)
    return (Decision(True, "referral") if decision.allowed else decision), key


@operation("disclosure")
def disclose_with_consent(
    db: Database, actor: Actor, ref: str, recipient: str, purpose: str, data_categories: Collection[str], *,
    now: datetime | None = None,
) -> Packet:
    """Disclose to a recipient outside social services on the person's (and guardians') consent.

    Only staff who may read the case may disclose from it (a partner reads referral packets instead).
    """
    now = now or utcnow()
    if actor.role not in DISCLOSING_ROLES:
        raise NotPermitted("disclose case data", actor.role)
    with case_write(db, actor, ref, now=now, lock=False) as opened:
        session, case = opened.session, opened.case
        key = case_key(db, case)
        decision = _decide(session, case, key, actor, recipient, purpose, data_categories, now)
        result = _conclude(session, case, key, actor, decision, recipient, purpose, data_categories, now)
    return _raise_or_return(result)


@operation("disclosure_requested")
def request_disclosure(
    db: Database, actor: Actor, ref: str, recipient: str, purpose: str, data_categories: Collection[str],
    legal_basis: str, reason: str, *, named_law: str | None = None, now: datetime | None = None,
) -> str:
    """Ask for a disclosure on a legal basis; a second person decides it (`decide_requested_disclosure`).

    A request that does not meet the conditions of the basis cited is refused now, and logged as refused;
    `named_law` names the act or ordinance for a basis that rests on a duty to disclose (10 kap. 28 § OSL).
    """
    now = now or utcnow()
    if actor.role not in DISCLOSING_ROLES:
        raise NotPermitted("request a disclosure", actor.role)
    if not (reason or "").strip():
        raise InvalidConcern("reason", "a disclosure on a legal basis needs a written reason",
                             "utlämnande med stöd av lag kräver en skriftlig motivering")
    named_law = check_text("named_law", (named_law or "").strip()) or None
    if named_law is not None and len(named_law) > MAX_LAW_NAME:
        raise InvalidConcern("named_law", f"name the act or ordinance in at most {MAX_LAW_NAME} characters",
                             f"ange lagen eller förordningen med högst {MAX_LAW_NAME} tecken")
    with case_write(db, actor, ref, now=now, lock=False) as opened:
        session, case = opened.session, opened.case
        key = db.vault.case_key(case.id)
        early = _decide(session, case, key, actor, recipient, purpose, data_categories, now,
                        legal_basis=legal_basis, reason=reason, named_law=named_law)
        unmet = tuple(r for r in early.refusals if r.code != "approval_missing")
        if unmet:
            result = _conclude(session, case, key, actor, Decision(False, None, unmet), recipient, purpose,
                               data_categories, now, extra={"legal_basis": legal_basis})
        else:
            request_id = result = str(uuid.uuid4())
            session.add(Disclosure(
                id=request_id, case_id=case.id, recipient=recipient, purpose=purpose,
                data_categories=sorted(set(data_categories)), legal_basis=legal_basis,
                reason=key.seal("disclosures", request_id, "reason", reason.strip()),
                named_law=key.seal("disclosures", request_id, "named_law", named_law), requested_by=actor.id,
                requested_at=now, status="pending",
            ))
    if isinstance(result, DisclosureRefused):
        raise result
    return result


@operation("disclosure_decided")
def decide_requested_disclosure(
    db: Database, approver: Actor, request_id: str, *, approve: bool, now: datetime | None = None
) -> Packet | None:
    """The second person approves (the packet is released to them) or refuses a requested disclosure."""
    now = now or utcnow()
    if approver.role != APPROVING_ROLE:
        raise NotPermitted("decide a disclosure request", approver.role)
    with db.write() as session:
        require_staff(session, approver)
        request = session.get(Disclosure, request_id, with_for_update=True)  # two deciders: one decides
        if request is None or request.status != "pending":  # decided already: no longer there to decide
            raise RecordNotFound("disclosure request", "no such disclosure request is waiting",
                                 "ingen sådan begäran om utlämnande väntar")
        if request.requested_by == approver.id:
            raise NotPermitted("decide their own disclosure request", approver.role)
        case = _case(session, request.case_id)
        requester = session.get_one(Staff, request.requested_by)  # a foreign key: the account stays
        actor = Actor(requester.id, requester.role)
        key = db.vault.case_key(case.id)
        if approve:
            reason = key.open("disclosures", request.id, "reason", request.reason)
            named_law = key.open("disclosures", request.id, "named_law", request.named_law)
            decision = _decide(session, case, key, actor, request.recipient, request.purpose,
                               request.data_categories, now, legal_basis=request.legal_basis, reason=reason,
                               approved_by=approver, named_law=named_law)
        else:
            decision = Decision(False, None, (Refusal("approval_refused"),))
        request.status = "approved" if decision.allowed else "refused"
        request.decided_by, request.decided_at = approver.id, now
        result = _conclude(session, case, key, approver, decision, request.recipient, request.purpose,
                           request.data_categories, now, extra={"request": request.id,
                                                                "legal_basis": request.legal_basis})
    if not approve:
        return None
    return _raise_or_return(result)


def _intervention_refusals(session: Session, case: Case, key: CaseKey | None, packet: ReferralPacket,
                           now: datetime) -> tuple[Refusal, ...]:
    """Why the packet's intervention no longer lets it be read: it does not run, or no consent covers it."""
    chart = engine_for_version(session, case.flowchart_version).chart
    row = session.get(Intervention, packet.intervention_id)
    lifecycle = chart.interventions
    if row is None or lifecycle is None or row.state != lifecycle.running:
        return (Refusal("referral_closed", {"purpose": packet.purpose}),)
    facts, _ = case_facts(session, case, key)
    iv = InterventionFacts(id=row.id, kind=row.kind, state=row.state, recipients=frozenset(row.recipients),
                           data_categories=frozenset(row.data_categories))
    return tuple(coverage_refusals(lifecycle, facts, iv, local_date(now, chart.timezone)))


def _case(session: Session, case_id: str) -> Case:
    return session.scalars(select(Case).options(joinedload(Case.person)).where(Case.id == case_id)).one()


def _decide(session, case, key: CaseKey | None, actor, recipient, purpose, categories, now, **legal) -> Decision:
    engine = engine_for_version(session, case.flowchart_version)
    facts, _ = case_facts(session, case, key)
    if facts.birth_date is None:
        return Decision(False, None, (Refusal("consent_missing", {"given_by": "subject", "purpose": purpose}),))
    return decide_disclosure(facts, actor, recipient=recipient, purpose=purpose, data_categories=categories,
                             today=local_date(now, engine.chart.timezone), vocabularies=engine.chart.vocabularies,
                             **legal)


def _conclude(session: Session, case: Case, key: CaseKey | None, actor: Actor, decision: Decision, recipient: str,
              purpose: str, categories: Collection[str], now: datetime, extra: Mapping[str, Any] | None = None):
    """Log the decision; on allow, open exactly the covered fields. Returns a Packet or a DisclosureRefused."""
    categories = tuple(sorted(set(categories)))
    fields = tuple(f for c in categories for f in CATEGORY_FIELDS.get(c, ()))
    codes = {"recipient": recipient, "purpose": purpose, "data_categories": list(categories), **(extra or {})}
    if not decision.allowed:
        codes["refusals"] = [r.code for r in decision.refusals]
    log.append(session, AccessEntry(
        at=now, case_ref=case.ref, actor_id=actor.id, role=actor.role,
        action="disclose" if decision.allowed else "disclosure_refused", ground=decision.ground or "none",
        fields=fields if decision.allowed else (), codes=codes))
    if not decision.allowed:
        return DisclosureRefused(case.ref, decision.refusals)
    if key is None or decision.ground is None:  # allowed implies both: an erased case is always refused
        raise RuntimeError(f"a disclosure from {case.ref} was allowed without a key or a ground")
    data = _open_fields(session, key, case, fields)
    return Packet(case.ref, recipient, purpose, decision.ground, categories, data)


def _open_fields(session: Session, key: CaseKey, case: Case, fields: tuple[str, ...]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    person = case.person
    for name in fields:
        if name in CATEGORY_FIELDS["identity"]:
            data[name] = key.open("persons", person.id, name, getattr(person, name))
        elif name == "concern":
            data[name] = key.open("cases", case.id, "concern", case.concern)
    wanted = {"protection_assessment"} & set(fields)
    if wanted or "journal" in fields:
        forms = [key.open_json("case_events", str(e.seq), "payload", e.payload)["fields"] for e in session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq))]
        if wanted:
            data["protection_assessment"] = [f["protection_assessment"] for f in forms if "protection_assessment" in f]
        if "journal" in fields:
            data["journal"] = forms
    return data


def _raise_or_return(result):
    if isinstance(result, DisclosureRefused):
        raise result
    return result
