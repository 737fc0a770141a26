"""Kommunicering: record what was communicated before a decision that goes against the person, the answer,
or an exception with its reason (förvaltningslagen (2017:900) 25 §).

The engine refuses the adverse decision until the answer came or the time to answer ran out, or an exception
is recorded (`workflow.hearing`, fed by `cases.casework.operations.case_facts` from these records). Each
record changes the case's version, as a consent does: a decision opened on the facts before it is taken again.
The material, the answer and an exception's reason are sealed with the case key; the transition log gets an
entry for each (codes, dates and a salted hash of the text, the state unchanged).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.actors import utcnow
from cases.audit import log
from cases.casework.operations import bump, case_key
from cases.casework.skeleton import case_write
from cases.crypto.vault import CaseKey
from cases.db import Database
from cases.errors import InvalidConcern, NotPermitted, RecordNotFound
from cases.events import operation
from cases.flowcharts import engine_for_version
from cases.models import Case, Communication
from cases.text import text_fault
from policies.hearing import load_hearing
from workflow import Actor, LogEntry, payload_hash
from workflow.deadlines import local_date
from workflow.fields import MAX_TEXT
from workflow.hearing import LOG_ACTIONS

if TYPE_CHECKING:
    from cases.casework.idempotency import Claim

__all__ = [
    "CommunicationForm",
    "CommunicationRecorded",
    "record_answer",
    "record_communication",
    "record_exception",
]

SENT, EXCEPTION = "sent", "exception"
LOGGED_SENT, LOGGED_ANSWER, LOGGED_EXCEPTION = LOG_ACTIONS


@dataclass(frozen=True)
class CommunicationForm:
    """What was communicated before `decision` (a trigger), to whom, how, when, and the last day to answer."""

    decision: str
    recipients: tuple[str, ...]
    method: str
    material: str
    sent_on: date
    answer_by: date | None = None  # None: the default time of policies/hearing.toml from `sent_on`

    def __repr__(self) -> str:  # the material is personal: never print it
        return f"CommunicationForm(decision={self.decision!r}, method={self.method!r})"


@dataclass(frozen=True)
class CommunicationRecorded:
    """A communication, answer or exception as committed: its id, the case's new version and the log entry."""

    id: str
    ref: str
    version: int
    seq: int
    answer_by: date | None = None


@operation("communication_recorded")
def record_communication(
    db: Database, actor: Actor, ref: str, form: CommunicationForm, *, expected_version: int | None = None,
    now: datetime | None = None, claim: Claim | None = None,
) -> CommunicationRecorded:
    """Record that the material before an adverse decision was sent, and the time given to answer."""
    now = now or utcnow()
    hearing = _check_role(actor, "record a communication")
    _check_decision(form.decision)
    recipients = sorted(set(form.recipients or ()))
    if not recipients or not all(isinstance(r, str) and r in hearing.recipients for r in recipients):
        raise InvalidConcern("recipients", "choose who the material was sent to", "välj vem materialet skickades till")
    if form.method not in hearing.methods:
        raise InvalidConcern("method", "choose how the material was sent", "välj hur materialet skickades")
    material = _text("material", form.material, "say what material was sent", "ange vilket material som skickades")
    with case_write(db, actor, ref, now=now, claim=claim, expected_version=expected_version) as opened:
        session, case = opened.session, opened.case
        today = _today(session, case, now)
        if not isinstance(form.sent_on, date) or form.sent_on > today:
            raise InvalidConcern("sent_on", "the day it was sent, today or earlier",
                                 "dagen det skickades, i dag eller tidigare")
        answer_by = form.answer_by or form.sent_on + timedelta(days=hearing.default_answer_days)
        if not isinstance(answer_by, date) or answer_by <= form.sent_on:
            raise InvalidConcern("answer_by", "give a time to answer: a day after the day it was sent",
                                 "ge en tid att svara: en dag efter den dag det skickades")
        key, row_id, salt = _key(db, case), str(uuid.uuid4()), secrets.token_bytes(16)
        codes = {"communication": row_id, "decision": form.decision, "recipients": recipients,
                 "method": form.method, "sent_on": form.sent_on.isoformat(), "answer_by": answer_by.isoformat()}
        seq = _log(session, actor, case, LOGGED_SENT, codes, {"material": material}, salt, now)
        session.add(Communication(
            id=row_id, case_id=case.id, kind=SENT, decision=form.decision, recipients=recipients,
            method=form.method, material=key.seal("communications", row_id, "material", material),
            sent_on=form.sent_on, answer_by=answer_by, salt=salt, recorded_by=actor.id, recorded_at=now, seq=seq,
        ))
        bump(session, case, now)
        return opened.settled(CommunicationRecorded(row_id, case.ref, case.version, seq, answer_by))


@operation("communication_answered")
def record_answer(
    db: Database, actor: Actor, ref: str, communication_id: str, answer: str, answered_on: date, *,
    expected_version: int | None = None, now: datetime | None = None, claim: Claim | None = None,
) -> CommunicationRecorded:
    """Record the party's answer to a communication; the adverse decision may then be taken."""
    now = now or utcnow()
    _check_role(actor, "record an answer")
    text = _text("answer", answer, "write what the answer said", "skriv vad svaret innehöll")
    with case_write(db, actor, ref, now=now, claim=claim, expected_version=expected_version) as opened:
        session, case = opened.session, opened.case
        row = session.scalars(select(Communication).where(
            Communication.id == communication_id, Communication.case_id == case.id, Communication.kind == SENT,
        )).first()
        if row is None:
            raise RecordNotFound("communication", "no such communication on this case",
                                 "ingen sådan kommunicering i ärendet")
        if row.answered_on is not None:
            raise InvalidConcern("communication", "the answer is already recorded", "svaret är redan registrerat")
        today = _today(session, case, now)
        if not isinstance(answered_on, date) or answered_on > today or (row.sent_on and answered_on < row.sent_on):
            raise InvalidConcern("answered_on", "the day the answer came: not before it was sent, not after today",
                                 "dagen svaret kom: inte före utskicket och inte efter i dag")
        key = _key(db, case)
        codes = {"communication": row.id, "decision": row.decision, "answered_on": answered_on.isoformat()}
        seq = _log(session, actor, case, LOGGED_ANSWER, codes, {"answer": text}, row.salt, now)
        row.answered_on, row.answer = answered_on, key.seal("communications", row.id, "answer", text)
        row.answer_recorded_by, row.answer_recorded_at, row.answer_seq = actor.id, now, seq
        bump(session, case, now)
        return opened.settled(CommunicationRecorded(row.id, case.ref, case.version, seq, row.answer_by))


@operation("communication_exception_recorded")
def record_exception(
    db: Database, actor: Actor, ref: str, decision: str, exception: str, reason: str, *,
    expected_version: int | None = None, now: datetime | None = None, claim: Claim | None = None,
) -> CommunicationRecorded:
    """Record why the material before `decision` is not communicated: an exception of FL 25 §, with reasons."""
    now = now or utcnow()
    hearing = _check_role(actor, "record an exception from communication")
    _check_decision(decision)
    if exception not in hearing.exceptions:
        raise InvalidConcern("exception", "choose the exception the law allows", "välj det undantag lagen medger")
    text = _text("reason", reason, "say why the exception applies", "ange varför undantaget gäller")
    with case_write(db, actor, ref, now=now, claim=claim, expected_version=expected_version) as opened:
        session, case = opened.session, opened.case
        key, row_id, salt = _key(db, case), str(uuid.uuid4()), secrets.token_bytes(16)
        codes = {"communication": row_id, "decision": decision, "exception": exception}
        seq = _log(session, actor, case, LOGGED_EXCEPTION, codes, {"reason": text}, salt, now)
        session.add(Communication(
            id=row_id, case_id=case.id, kind=EXCEPTION, decision=decision, recipients=[], exception=exception,
            exception_reason=key.seal("communications", row_id, "exception_reason", text), salt=salt,
            recorded_by=actor.id, recorded_at=now, seq=seq,
        ))
        bump(session, case, now)
        return opened.settled(CommunicationRecorded(row_id, case.ref, case.version, seq))


# --- internals -------------------------------------------------------------------------------------------


def _check_role(actor: Actor, action: str):
    hearing = load_hearing()
    if actor.role not in hearing.roles:
        raise NotPermitted(action, actor.role)
    return hearing


def _check_decision(decision: str) -> None:
    if decision not in load_hearing().adverse:
        raise InvalidConcern("decision", "choose a decision that goes against the person",
                             "välj ett beslut som går den enskilde emot")


def _text(name: str, value: Any, problem_en: str, problem_sv: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > MAX_TEXT:
        raise InvalidConcern(name, problem_en, problem_sv)
    fault = text_fault(text)
    if fault is not None:
        raise InvalidConcern(name, *fault)
    return text


def _today(session: Session, case: Case, now: datetime) -> date:
    return local_date(now, engine_for_version(session, case.flowchart_version).chart.timezone)


def _key(db: Database, case: Case) -> CaseKey:
    key = case_key(db, case)
    if key is None:
        raise InvalidConcern("case", "the case has been erased; nothing more can be recorded on it",
                             "ärendet är gallrat; inget mer kan registreras i det")
    return key


def _log(session: Session, actor: Actor, case: Case, action: str, codes: dict[str, Any], text: dict[str, str],
         salt: bytes, now: datetime) -> int:
    """An entry in the transition log with the state unchanged: the codes, and the text only as a salted hash."""
    session.flush()  # the case row's lock first, then the log's, as every operation takes them
    entry = LogEntry(at=now, case_ref=case.ref, actor_id=actor.id, role=actor.role, trigger=action,
                     from_state=case.state, to_state=case.state, flowchart_version=case.flowchart_version,
                     codes=codes, payload_hash=payload_hash(text, salt))
    return log.append(session, entry).seq
