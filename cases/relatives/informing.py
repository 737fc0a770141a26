"""Tell a relative that support exists and, if they want it, open their own matter linked to the subject's case.

Support to a relative is the relative's own matter (LAW.md, the rules found missing): their own person record
sealed under the matter's own key, their own consent, journal and decisions, on the `relative_support`
flowchart. The subject's case records only that a relative was told, as an entry beside its steps with codes
and no name (`policies.relatives.INFORMED_CODES`); its state does not change and its investigation goes on.
The two cases are linked (`case_links.kind = 'relative'`); who sees the link is decided when it is read
(`cases.links`: a ground on both).
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.actors import utcnow
from cases.audit import log
from cases.casework.forms import identify
from cases.casework.operations import bump, case_key, log_beside, new_ref
from cases.casework.skeleton import case_read, case_write
from cases.crypto.vault import CaseKey
from cases.db import Database
from cases.errors import InvalidConcern, NotPermitted
from cases.events import operation
from cases.flowcharts import RELATIVE, engine_for_version, pin_current
from cases.models import NO_DEADLINE, Assignment, Case, CaseEvent, CaseLink, Person, Staff
from cases.text import check_text
from policies import Flowchart
from policies.access import INFORMING_ROLES
from policies.relatives import RELATIVE_INFORMED, RELATIVE_LINK, RELATIVE_OPENED_FROM
from workflow import Actor, Outcome
from workflow.deadlines import local_date

if TYPE_CHECKING:
    from cases.casework.idempotency import Claim

__all__ = ["RELATIONSHIPS", "RelativeForm", "RelativeInformed", "caseworkers", "inform_relative"]

RELATIONSHIPS = "relationships"  # the vocabulary of relative_support.toml
OPENED_BY = "social_services"  # the matter's `reporter_org`: opened by social services from the subject's case
MAX_NAME = 200


@dataclass(frozen=True)
class RelativeForm:
    """A relative was told that support exists; if they want it, who they are (an identity number, a birth
    date, or a name with an approximate age in years) and how they are related to the person of the subject's
    case. `caseworker_id` names the caseworker the relative's matter is assigned to (by default the one acting)."""

    wants_support: bool
    relationship: str | None = None
    identity_number: str | None = None
    birth_date: date | None = None
    given_name: str | None = None
    family_name: str | None = None
    caseworker_id: str | None = None
    approximate_age: int | None = None  # whole years, with a name, when neither number nor birth date is known

    def __repr__(self) -> str:  # full of personal data: never print it
        return f"RelativeForm(wants_support={self.wants_support!r}, relationship={self.relationship!r})"


@dataclass(frozen=True)
class RelativeInformed:
    """What informing left behind: the subject's case (state unchanged, new version, its log entry) and the
    relative's own matter, if one was opened."""

    ref: str
    state: str
    version: int
    seq: int
    relative_ref: str | None = None


@dataclass(frozen=True)
class _Relative:
    relationship: str
    birth_date: date
    identity_number: str | None
    identity_kind: str | None
    given_name: str | None
    family_name: str | None
    approximate: bool = False  # `birth_date` is estimated from an approximate age

    def __repr__(self) -> str:
        return f"_Relative(relationship={self.relationship!r})"


@operation("relative_informed")
def inform_relative(db: Database, actor: Actor, subject_ref: str, form: RelativeForm, *,
                    expected_version: int | None = None, now: datetime | None = None,
                    claim: Claim | None = None) -> RelativeInformed:
    """Record on case `subject_ref` that a relative was told support exists; open their matter if they want it.

    By the caseworker or decision maker with a ground on the subject's case (`case_write` refuses anyone else as
    if the case were not there). One transaction: the entry beside the subject's steps, and the relative's
    matter with its person, registration entry, assignment and link, or nothing.
    """
    now = now or utcnow()
    if actor.role not in INFORMING_ROLES:
        raise NotPermitted("tell a relative that support exists", actor.role)
    with case_write(db, actor, subject_ref, now=now, claim=claim, expected_version=expected_version) as opened:
        session, subject = opened.session, opened.case
        key = case_key(db, subject)
        if key is None:
            raise InvalidConcern("case", "the case has been erased; nothing more can be recorded on it",
                                 "ärendet är gallrat; inget mer kan registreras i det")
        if engine_for_version(session, subject.flowchart_version).chart.name == RELATIVE:
            raise InvalidConcern("case", "a relative's own matter opens no other; tell them from the subject's case",
                                 "ett anhörigärende öppnar inget annat; informera från den enskildes ärende")
        engine = pin_current(session, now, RELATIVE)
        relative = _check(engine.chart, form, now) if form.wants_support else None
        assignee = _assignee(session, actor, form.caseworker_id) if relative is not None else None
        codes = {"relative_informed": True, "wants_support": relative is not None}
        bump(session, subject, now)  # the case row first: its lock is taken before the log's, always in that order
        seq = log_beside(session, key, subject, actor, RELATIVE_INFORMED, codes, codes, now)
        relative_ref = None
        if relative is not None and assignee is not None:
            relative_ref = _open_matter(db, session, engine, actor, subject, relative, assignee, now)
        session.flush()
        return opened.settled(RelativeInformed(subject.ref, subject.state, subject.version, seq, relative_ref))


def _open_matter(db: Database, session: Session, engine, actor: Actor, subject: Case, relative: _Relative,
                 assignee: str, now: datetime) -> str:
    """Register the relative's own matter on its flowchart, assign it and link it to the subject's case."""
    case_id, person_id, ref, salt = str(uuid.uuid4()), str(uuid.uuid4()), new_ref(), secrets.token_bytes(16)
    codes = {"reporter_org": OPENED_BY, "opened_from": RELATIVE_OPENED_FROM, "relationship": relative.relationship}
    outcome: Outcome = engine.register(ref, actor, now, relative.birth_date, now, salt=salt, codes=codes)
    key = db.vault.new_case_key(case_id)  # the matter's own key: erased with it, never the subject's
    person = Person(
        id=person_id, created_at=now, identity_kind=relative.identity_kind, age_approximate=relative.approximate,
        identity_index=db.vault.blind_index(relative.identity_number) if relative.identity_number else None,
        **{name: key.seal("persons", person_id, name, value) for name, value in {
            "identity_number": relative.identity_number, "birth_date": relative.birth_date.isoformat(),
            "given_name": relative.given_name, "family_name": relative.family_name}.items()},
    )
    case = Case(
        id=case_id, ref=ref, person=person, flowchart_version=engine.version, state=outcome.state,
        received_at=now, registered_by=actor.id, reporter_org=OPENED_BY, acute_danger=False,
        concern=key.seal("cases", case_id, "concern", ""), shared_with=[], updated_at=now,
        next_deadline=None, next_due_on=NO_DEADLINE,
    )
    session.add_all([person, case])
    session.flush()
    entry = log.append(session, outcome.entry)
    session.flush()
    _event(session, key, case_id, entry.seq, outcome.payload, salt)
    session.add(Assignment(case_id=case_id, staff_id=assignee, assigned_by=actor.id, assigned_at=now))
    session.add(CaseLink(case_id=case_id, earlier_case_id=subject.id, kind=RELATIVE_LINK, created_at=now))
    session.flush()
    return ref


def _event(session: Session, key: CaseKey, case_id: str, seq: int, fields: Mapping[str, Any], salt: bytes) -> None:
    """The entry's form, sealed, with the salt that lets an auditor re-derive its payload hash."""
    payload = {"salt": base64.b64encode(salt).decode(), "fields": fields}
    session.add(CaseEvent(seq=seq, case_id=case_id, payload=key.seal_json("case_events", str(seq), "payload", payload)))
    session.flush()


def _assignee(session: Session, actor: Actor, caseworker_id: str | None) -> str:
    """The caseworker the relative's matter is assigned to: the one named (an active caseworker), else the actor
    when a caseworker; a decision maker opening it names one."""
    staff_id = caseworker_id or (actor.id if actor.role == "caseworker" else None)
    target = session.get(Staff, staff_id) if staff_id else None
    if target is None or not target.active or target.role != "caseworker":
        raise InvalidConcern("caseworker", "choose an active caseworker", "välj en aktiv handläggare")
    return target.id


def _check(chart: Flowchart, form: RelativeForm, now: datetime) -> _Relative:
    """The relative as registration needs them: a relationship from the vocabulary, an identity number, a
    birth date or a name with an approximate age (child or adult is decided by the date, estimated for an
    approximate age), names checked like a concern's."""
    if form.relationship not in chart.vocabularies.get(RELATIONSHIPS, {}):
        raise InvalidConcern("relationship", "choose the relationship from the list", "välj släktskap i listan")
    for name in ("given_name", "family_name"):
        value = getattr(form, name)
        if value is not None:
            check_text(name, value, name=True)
            if len(value) > MAX_NAME:
                raise InvalidConcern(name, f"at most {MAX_NAME} characters", f"högst {MAX_NAME} tecken")
    birth_date, number, kind, approximate = identify(form, local_date(now, chart.timezone))
    if birth_date > local_date(now, chart.timezone):
        raise InvalidConcern("birth_date", "lies in the future", "ligger i framtiden")
    return _Relative(form.relationship or "", birth_date, number, kind, form.given_name or None,
                     form.family_name or None, approximate)


def caseworkers(db: Database, actor: Actor, subject_ref: str) -> tuple[tuple[str, str], ...]:
    """The active caseworkers a relative's matter opened from `subject_ref` may be assigned to: (id, name).

    For the roles that tell relatives, with a ground on the subject's case (refused as if it were not there)."""
    if actor.role not in INFORMING_ROLES:
        raise NotPermitted("tell a relative that support exists", actor.role)
    with case_read(db, actor, subject_ref) as opened:
        rows = opened.session.execute(
            select(Staff.id, Staff.display_name).where(Staff.role == "caseworker", Staff.active.is_(True))
            .order_by(Staff.display_name, Staff.username)).all()
        return tuple((staff_id, name) for staff_id, name in rows)
