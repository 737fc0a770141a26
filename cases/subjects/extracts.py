"""A register extract (GDPR article 15): registered, screened, decided by a decision maker, delivered as PDF.

1. `request_extract`: a member of staff of a requesting role (`policies/subjects.toml`, deny by default)
   registers the person's request by identity number. The person is found through the blind index of the
   number, as at registration, so every case is found in which they are the person: their own cases and the
   relatives' matters they asked for support in. The screening runs at once and its automatic hold-backs are
   kept with the request (codes only); each case's reads are logged in the access log, ground
   `register_extract`, and the request in the administration log.
2. `extract_pdf(draft=True)`: the decision maker reads the screened draft (each item with its key).
3. `decide_extract`: a decision maker other than the one who registered it releases the extract, holding back
   any further item with a reason, or refuses release with a reason (an appealable decision, the appeal text of
   `decisions.toml`). The decision is in the administration log; a decision is never changed.
4. `extract_pdf()`: only a released extract is made for the person (`ExtractNotDecided` before), its reads
   logged again and its delivery in the administration log.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.actors import utcnow
from cases.audit import log, trail
from cases.casework.skeleton import Acting, staff_write
from cases.crypto.identity import parse_identity_number
from cases.db import Database
from cases.errors import InvalidConcern, NotPermitted
from cases.events import operation
from cases.flowcharts import current_engine
from cases.models import Case, Person, Staff, SubjectExtract
from cases.subjects.contents import EXTRACT_FIELDS, Section, collect
from cases.subjects.document import ExtractDocument, render_extract
from cases.subjects.errors import ExtractAlreadyDecided, ExtractNotDecided, ExtractNotFound, NoRecordsFound
from policies.subjects import load_subjects
from workflow import AccessEntry, Actor
from workflow.deadlines import local_date

if TYPE_CHECKING:
    from cases.casework.idempotency import Claim

__all__ = ["GROUND", "ExtractSummary", "account", "decide_extract", "extract_pdf", "request_extract"]

GROUND = "register_extract"  # the access log's ground for the reads an extract makes
SCREENED, RELEASED, REFUSED = "screened", "released", "refused"


@dataclass(frozen=True)
class ExtractSummary:
    """A request as it stands: counts and case references, nothing personal."""

    id: str
    status: str
    refs: tuple[str, ...]
    held_back: Mapping[str, str]  # item key -> reason code

    @property
    def cases(self) -> int:
        return len(self.refs)


@operation("extract_requested")
def request_extract(db: Database, actor: Actor, identity_number: str, *, now: datetime | None = None,
                    claim: Claim | None = None) -> ExtractSummary:
    """Register a person's request for a register extract and screen it; `NoRecordsFound` if nothing is held."""
    now = now or utcnow()
    policy = load_subjects()
    if actor.role not in policy.requesting_roles:
        raise NotPermitted("register a register-extract request", actor.role)
    index = db.vault.blind_index(parse_identity_number(identity_number).normalised)
    with staff_write(db, actor, now=now, claim=claim) as acting:
        session = acting.session
        case_ids = list(session.scalars(select(Case.id).join(Person, Person.id == Case.person_id)
                                        .where(Person.identity_index == index).order_by(Case.received_at)))
        if not case_ids:
            raise NoRecordsFound()
        extract = SubjectExtract(id=str(uuid.uuid4()), identity_index=index, requested_by=actor.id,
                                 requested_at=now, case_ids=case_ids, held_back={}, status=SCREENED)
        sections = collect(session, db.vault, case_ids, {}, policy)
        extract.held_back = {i.key: i.reason for s in sections for i in s.items if i.reason is not None}
        session.add(extract)
        session.flush()
        _log_reads(session, actor, extract, sections, now)
        trail.record(session, actor, extract.id, "extract_request", now, cases=len(case_ids),
                     held_back=len(extract.held_back))
        return acting.settled(_summary(extract, sections))


@operation("extract_decided")
def decide_extract(db: Database, actor: Actor, extract_id: str, *, release: bool,
                   hold_back: Mapping[str, str] | None = None, refusal_reason: str | None = None,
                   now: datetime | None = None, claim: Claim | None = None) -> ExtractSummary:
    """Release the extract (holding back the items in `hold_back`, key -> reason code) or refuse release."""
    now = now or utcnow()
    policy = load_subjects()
    if actor.role not in policy.deciding_roles:
        raise NotPermitted("decide on releasing a register extract", actor.role)
    with staff_write(db, actor, now=now, claim=claim) as acting:
        extract = _extract(acting, extract_id, lock=True)
        if extract.status != SCREENED:
            raise ExtractAlreadyDecided(extract.id)
        if extract.requested_by == actor.id:
            raise NotPermitted("decide on a register extract they registered themselves", actor.role)
        refs = _refs(acting.session, extract)
        more = dict(hold_back or {})
        for key, reason in more.items():
            if key.split(":")[0] not in refs or ":" not in key:
                raise InvalidConcern("hold_back", "name an item of this extract by its key",
                                     "ange en uppgift i detta utdrag med dess nyckel")
            if reason not in policy.reasons:
                raise InvalidConcern("hold_back", "choose a reason from the list", "välj ett skäl i listan")
        if release:
            extract.held_back = {**more, **extract.held_back}  # the screening's own reasons stay as they are
            extract.status = RELEASED
        else:
            if refusal_reason not in policy.reasons:
                raise InvalidConcern("refusal_reason", "a refusal needs a reason from the list",
                                     "ett avslag behöver ett skäl i listan")
            extract.status, extract.refusal_reason = REFUSED, refusal_reason
        extract.decided_by, extract.decided_at = actor.id, now
        acting.session.flush()
        if release:
            trail.record(acting.session, actor, extract.id, "extract_release", now, held_back=len(extract.held_back))
        else:
            trail.record(acting.session, actor, extract.id, "extract_refuse", now, reason=refusal_reason,
                         appealable=policy.refusal_appealable)
        return acting.settled(ExtractSummary(extract.id, extract.status, tuple(refs), dict(extract.held_back)))


@operation("extract_read")
def extract_pdf(db: Database, actor: Actor, extract_id: str, *, municipality: str, draft: bool = False,
                now: datetime | None = None) -> bytes:
    """The extract as PDF: a draft for the screening (any time), the extract itself only once released."""
    now = now or utcnow()
    policy = load_subjects()
    if actor.role not in policy.requesting_roles | policy.deciding_roles:
        raise NotPermitted("read a register extract", actor.role)
    with staff_write(db, actor, now=now) as acting:
        extract = _extract(acting, extract_id, lock=not draft)
        if not draft and extract.status != RELEASED:
            raise ExtractNotDecided(extract.id, extract.status)
        sections = collect(acting.session, db.vault, extract.case_ids, extract.held_back, policy)
        if draft:
            sections = tuple(_keyed(s) for s in sections)
        _log_reads(acting.session, actor, extract, sections, now)
        if not draft:
            extract.delivered_by, extract.delivered_at = actor.id, now
            trail.record(acting.session, actor, extract.id, "extract_deliver", now, cases=len(sections))
        document = ExtractDocument(municipality=municipality, extract_id=extract.id,
                                   made_on=local_date(now, current_engine().chart.timezone), sections=sections,
                                   reasons=policy.reasons, draft=draft, readers_named=policy.show_reader_names)
    return render_extract(document)


def account(db: Database, username: str) -> Actor:
    """The member of staff a command at the server's terminal acts as: an active account, by username, in its
    role (`NotPermitted` for anything else, the same answer whether the account exists or not)."""
    with db.read() as session:
        staff = session.scalars(select(Staff).where(Staff.username == username.strip().lower())).first()
        if staff is None or not staff.active:
            raise NotPermitted("act as this account", "unknown")
        return Actor(staff.id, staff.role)


def _extract(acting: Acting, extract_id: str, *, lock: bool) -> SubjectExtract:
    query = select(SubjectExtract).where(SubjectExtract.id == extract_id)
    extract = acting.session.scalars(query.with_for_update() if lock else query).first()
    if extract is None:
        raise ExtractNotFound(extract_id)
    return extract


def _refs(session: Session, extract: SubjectExtract) -> list[str]:
    return list(session.scalars(select(Case.ref).where(Case.id.in_(extract.case_ids))))


def _keyed(section: Section) -> Section:
    """The draft's items with their keys, so that the decision maker can name one to hold back."""
    return replace(section, items=tuple(replace(i, heading=f"{i.heading} [{i.key}]") for i in section.items))


def _log_reads(session: Session, actor: Actor, extract: SubjectExtract, sections: tuple[Section, ...],
               now: datetime) -> None:
    """One access-log entry per case whose personal data was opened (an erased case opens nothing)."""
    for section in sections:
        if section.erased:
            continue
        log.append(session, AccessEntry(at=now, case_ref=section.ref, actor_id=actor.id, role=actor.role,
                                        action="read", ground=GROUND, fields=EXTRACT_FIELDS,
                                        codes={"extract": extract.id, "document": "register_extract"}))


def _summary(extract: SubjectExtract, sections: tuple[Section, ...]) -> ExtractSummary:
    return ExtractSummary(extract.id, extract.status, tuple(s.ref for s in sections), dict(extract.held_back))

