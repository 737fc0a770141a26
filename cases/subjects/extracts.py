"""A register extract (GDPR article 15): registered, screened, decided by a decision maker, delivered as PDF.

1. `request_extract`: a member of staff of a requesting role (`policies/subjects.toml`, deny by default)
   registers the person's request by identity number. The person is found through the blind index of the
   number, as at registration, so every case is found in which they are the person: their own cases and the
   relatives' matters they asked for support in. The screening runs at once and its hold-backs are kept with
   the request (codes only): automatic ones, and every free text until a decision maker releases it. Each
   case's reads are logged in the access log, ground `register_extract`, and every lookup in the
   administration log, one that finds nothing too (`extract_request`, codes {cases: 0}). The requester is told
   how many cases were found, never which.
2. `extract_pdf(draft=True)`: the requester or a decision maker reads the screened draft (each item with its
   key); a decision maker's read is recorded with a keyed hash of what the draft said.
3. `decide_extract`: a decision maker other than the one who registered it, who has read the draft as it
   stands, releases the extract (releasing free texts by key, holding back any further item with a reason;
   only keys of the screened items are accepted) or refuses release with a reason (an appealable decision, the
   appeal text of `decisions.toml`). The keys of the items the decision covers are stored with a keyed hash of
   their content. The decision is in the administration log; a decision is never changed.
4. `extract_pdf()`: only a released extract is made for the person (`ExtractNotDecided` before), of the items
   the decision covered only, and only while their content is as it was then (`ExtractChanged`); by the
   requester or a decision maker, its reads logged again and its delivery in the administration log.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Mapping, Sequence
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
from cases.models import Case, Person, SubjectExtract
from cases.subjects.contents import EXTRACT_FIELDS, Section, collect
from cases.subjects.document import ExtractDocument, render_extract
from cases.subjects.errors import (
    DraftNotRead,
    ExtractAlreadyDecided,
    ExtractChanged,
    ExtractNotDecided,
    ExtractNotFound,
    NoRecordsFound,
)
from policies.subjects import Subjects, load_subjects
from workflow import AccessEntry, Actor
from workflow.deadlines import local_date

if TYPE_CHECKING:
    from cases.casework.idempotency import Claim

__all__ = ["GROUND", "ExtractSummary", "decide_extract", "extract_pdf", "request_extract"]

GROUND = "register_extract"  # the access log's ground for the reads an extract makes
SCREENED, RELEASED, REFUSED = "screened", "released", "refused"


@dataclass(frozen=True)
class ExtractSummary:
    """A request as it stands: counts, nothing personal (not even which cases: the draft says that)."""

    id: str
    status: str
    cases: int
    held_back: Mapping[str, str]  # item key -> reason code


@operation("extract_requested")
def request_extract(db: Database, actor: Actor, identity_number: str, *, now: datetime | None = None,
                    claim: Claim | None = None) -> ExtractSummary:
    """Register a person's request for a register extract and screen it; `NoRecordsFound` if nothing is held."""
    now = now or utcnow()
    policy = load_subjects()
    if actor.role not in policy.requesting_roles:
        raise NotPermitted("register a register-extract request", actor.role)
    index = db.vault.blind_index(parse_identity_number(identity_number).normalised)
    with staff_write(db, actor, now=now) as acting:  # a lookup that finds nothing is logged all the same
        found = bool(_case_ids(acting.session, index))
        if not found:
            trail.record(acting.session, actor, str(uuid.uuid4()), "extract_request", now, cases=0)
    if not found:
        raise NoRecordsFound()
    with staff_write(db, actor, now=now, claim=claim) as acting:
        session = acting.session
        case_ids = _case_ids(session, index)
        extract = SubjectExtract(id=str(uuid.uuid4()), identity_index=index, requested_by=actor.id,
                                 requested_at=now, case_ids=case_ids, held_back={}, status=SCREENED)
        sections = collect(session, db.vault, case_ids, {}, policy)
        extract.held_back = {i.key: i.reason if i.reason is not None else policy.free_text_reason
                             for s in sections for i in s.items if i.reason is not None or i.free}
        session.add(extract)
        session.flush()
        _log_reads(session, actor, extract, sections, now)
        trail.record(session, actor, extract.id, "extract_request", now, cases=len(case_ids),
                     held_back=len(extract.held_back))
        return acting.settled(ExtractSummary(extract.id, extract.status, len(case_ids), dict(extract.held_back)))


@operation("extract_decided")
def decide_extract(db: Database, actor: Actor, extract_id: str, *, release: bool,
                   hold_back: Mapping[str, str] | None = None, release_items: Collection[str] = (),
                   refusal_reason: str | None = None,
                   now: datetime | None = None, claim: Claim | None = None) -> ExtractSummary:
    """Release the extract (releasing the free texts in `release_items`, holding back the items in `hold_back`,
    key -> reason code) or refuse release. Only keys of the screened items are accepted, and only by a decision
    maker who has read the draft as it stands (`DraftNotRead`)."""
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
        draft = collect(acting.session, db.vault, extract.case_ids, extract.held_back, policy, draft=True)
        if (extract.draft_read or {}).get(actor.id) != _digest(db, draft):
            raise DraftNotRead(extract.id)
        if release:
            held = _decided(extract.held_back, {i.key for s in draft for i in s.items}, dict(hold_back or {}),
                            set(release_items), policy)
            sections = collect(acting.session, db.vault, extract.case_ids, held, policy)
            extract.held_back, extract.status = held, RELEASED
            extract.released_items = {"keys": sorted(i.key for s in sections for i in s.items),
                                      "digest": _digest(db, sections)}
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
        return acting.settled(ExtractSummary(extract.id, extract.status, len(extract.case_ids),
                                             dict(extract.held_back)))


@operation("extract_read")
def extract_pdf(db: Database, actor: Actor, extract_id: str, *, municipality: str, draft: bool = False,
                now: datetime | None = None) -> bytes:
    """The extract as PDF: a draft for the screening (any time), the extract itself only once released; read by
    the member of staff who registered the request or a decision maker, nobody else (deny by default)."""
    now = now or utcnow()
    policy = load_subjects()
    if actor.role not in policy.requesting_roles | policy.deciding_roles:
        raise NotPermitted("read a register extract", actor.role)
    with staff_write(db, actor, now=now) as acting:
        extract = _extract(acting, extract_id, lock=True)
        if actor.id != extract.requested_by and actor.role not in policy.deciding_roles:
            raise NotPermitted("read a register extract someone else registered", actor.role)
        if not draft and extract.status != RELEASED:
            raise ExtractNotDecided(extract.id, extract.status)
        sections = collect(acting.session, db.vault, extract.case_ids, extract.held_back, policy, draft=draft)
        if draft:
            if actor.role in policy.deciding_roles and actor.id != extract.requested_by:
                extract.draft_read = {**(extract.draft_read or {}), actor.id: _digest(db, sections)}
            sections = tuple(_keyed(s) for s in sections)
        else:
            sections = _released(db, extract, sections)
        _log_reads(acting.session, actor, extract, sections, now)
        if not draft:
            extract.delivered_by, extract.delivered_at = actor.id, now
            trail.record(acting.session, actor, extract.id, "extract_deliver", now, cases=len(sections))
        document = ExtractDocument(municipality=municipality, extract_id=extract.id,
                                   made_on=local_date(now, current_engine().chart.timezone), sections=sections,
                                   reasons=policy.reasons, draft=draft, readers_named=policy.show_reader_names)
    return render_extract(document)



def _extract(acting: Acting, extract_id: str, *, lock: bool) -> SubjectExtract:
    query = select(SubjectExtract).where(SubjectExtract.id == extract_id)
    extract = acting.session.scalars(query.with_for_update() if lock else query).first()
    if extract is None:
        raise ExtractNotFound(extract_id)
    return extract


def _case_ids(session: Session, index: str) -> list[str]:
    return list(session.scalars(select(Case.id).join(Person, Person.id == Case.person_id)
                                .where(Person.identity_index == index).order_by(Case.received_at)))


def _decided(held_back: Mapping[str, str], screened: set[str], hold: Mapping[str, str], release: set[str],
             policy: Subjects) -> dict[str, str]:
    """What stays held back after the decision: the screening's, less the free texts released, plus `hold`.
    A key that is not an item of the screened draft is refused (how many, never which: a mistyped key may be
    anything), and so is releasing what the screening holds back on codes."""
    unknown = len((set(hold) | release) - screened)
    if unknown:
        raise InvalidConcern("hold_back", f"{unknown} key(s) are not items of this extract's draft; copy the key "
                                          "from the draft", f"{unknown} nyckel/nycklar är inte uppgifter i detta "
                                                            "utkast; kopiera nyckeln från utkastet")
    if any(reason not in policy.reasons for reason in hold.values()):
        raise InvalidConcern("hold_back", "choose a reason from the list", "välj ett skäl i listan")
    if set(hold) & release:
        raise InvalidConcern("release_items", "an item is either released or held back",
                             "en uppgift lämnas antingen ut eller hålls inne")
    fixed = {k for k, reason in held_back.items() if reason != policy.free_text_reason}
    if release & fixed:
        raise InvalidConcern("release_items", "the screening holds this item back on its own; it is not released",
                             "granskningen håller själv inne uppgiften; den lämnas inte ut")
    kept = {k: reason for k, reason in held_back.items() if k not in release}
    return {**kept, **{k: reason for k, reason in hold.items() if k not in fixed}}


def _digest(db: Database, sections: Sequence[Section]) -> str:
    """A keyed hash of what the sections say (facts and items, not the reads, which grow with every read)."""
    content = [[s.ref, s.erased, list(s.facts), [[i.key, i.heading, i.text, i.reason] for i in s.items]]
               for s in sections]
    return db.vault.keyed_hash("register_extract", json.dumps(content, ensure_ascii=False).encode())


def _released(db: Database, extract: SubjectExtract, sections: tuple[Section, ...]) -> tuple[Section, ...]:
    """The sections with the items the decision covered only, refused if any of them changed since."""
    decided = extract.released_items or {}
    keys = set(decided.get("keys", ()))
    kept = tuple(replace(s, items=tuple(i for i in s.items if i.key in keys)) for s in sections)
    if not decided or {i.key for s in kept for i in s.items} != keys or _digest(db, kept) != decided["digest"]:
        raise ExtractChanged(extract.id)
    return kept


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

