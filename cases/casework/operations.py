"""The operations that change a case: each is one database transaction, all or nothing.

Each one opens as every case operation does (`cases.casework.skeleton`: who acts, the idempotency key, the locked case,
its ground and version), asks the engine, writes the new state, the deadlines and the log entry, and commits.
A refused request raises before anything is written; a concurrent change raises `StaleCase` naming the case;
a crash anywhere rolls the whole transaction back.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from cases.actors import utcnow
from cases.audit import log
from cases.casework.decisions import record_decision, require_delegation
from cases.casework.forms import ConcernForm, check_concern
from cases.casework.skeleton import case_read, case_write, staff_write
from cases.crypto.vault import CaseKey
from cases.db import Database
from cases.errors import KeyDestroyed
from cases.events import operation
from cases.flowcharts import engine_for_version, pin_current
from cases.jobs.queue import enqueue
from cases.models import (
    NO_DEADLINE,
    AssessmentRecord,
    Assignment,
    Case,
    CaseEvent,
    CaseFlag,
    CaseLink,
    Communication,
    Consent,
    Deadline,
    Intervention,
    Person,
    ReferralPacket,
    TransitionLogEntry,
)
from cases.notifications import notify_packet
from cases.text import text_fault
from workflow import (
    Actor,
    CaseFacts,
    CommunicationFacts,
    ConsentFacts,
    Engine,
    LogEntry,
    Option,
    Outcome,
    Refusal,
    payload_hash,
)
from workflow.errors import InvalidInput
from workflow.hearing import ASSESSMENT_FIELD, Assessment

if TYPE_CHECKING:
    from cases.casework.idempotency import Claim

__all__ = [
    "APPROXIMATE_AGE",
    "ARRIVAL_BY_INTAKE",
    "Fired",
    "apply_outcome",
    "available_triggers",
    "bump",
    "case_facts",
    "case_key",
    "close_referrals",
    "end_assignments",
    "fire_trigger",
    "log_beside",
    "register_concern",
]

APPROXIMATE_AGE = "approximate"  # the logged code: the birth date is estimated from an approximate age
ARRIVAL_BY_INTAKE = "recorded_by_intake"  # the logged code: arrival recorded by intake, earlier than registration
_REF_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


@dataclass(frozen=True)
class Fired:
    """What a committed transition left behind: the case's new state and version, and its log position."""

    ref: str
    state: str
    version: int
    seq: int
    warnings: tuple[Refusal, ...] = ()
    existing: tuple[str, ...] = ()

ACUTE_ALERT_JOB = "deadline_reminders"  # policies/routines/jobs.toml: it alerts intake to acute concerns


def new_ref() -> str:
    """A case pseudonym that says nothing about the person: VO- and 8 random base32 characters."""
    return "VO-" + "".join(secrets.choice(_REF_ALPHABET) for _ in range(8))


@operation("concern_registered")
def register_concern(db: Database, actor: Actor, form: ConcernForm, *, now: datetime | None = None,
                     claim: Claim | None = None) -> Fired:
    """Register a reporter's concern as a new case in the flowchart's initial state.

    The person's identity number is looked up by its blind index: `Fired.existing` names the cases already
    open about the same person, without decrypting anything. With a `claim` (`cases.casework.idempotency`), the
    answer is kept with the new case, in the same transaction.
    """
    now = now or utcnow()
    case_id, person_id = str(uuid.uuid4()), str(uuid.uuid4())
    with staff_write(db, actor, now=now, claim=claim) as acting:
        session = acting.session
        engine = pin_current(session, now)
        concern = check_concern(engine.chart, form, now, actor.role)
        index = db.vault.blind_index(concern.identity_number) if concern.identity_number else None
        earlier = _open_cases_of(session, engine, index) if index else ()
        existing = tuple(ref for _, ref in earlier)
        ref, salt = new_ref(), secrets.token_bytes(16)
        codes, sealed = {"reporter_org": form.reporter_org, "acute_danger": form.acute_danger}, {}
        if form.anonymous:  # codes only, and only when set: the entries of every other concern stay as they were
            codes["anonymous"] = True
        if concern.age_approximate:
            codes["age"] = APPROXIMATE_AGE
        if concern.arrival_reason is not None:  # intake recorded an earlier arrival: the log says so, the
            codes["arrival"] = ARRIVAL_BY_INTAKE  # sealed form holds when and why (free text stays sealed)
            sealed = {"received_at": concern.received_at.astimezone(UTC).isoformat(),
                      "arrival_reason": concern.arrival_reason}
        outcome = engine.register(ref, actor, concern.received_at, concern.birth_date, now, salt=salt,
                                  codes=codes, sealed=sealed)
        key = db.vault.new_case_key(case_id)  # only once the concern is accepted: a refusal leaves no key behind
        person = Person(
            id=person_id, identity_index=index, identity_kind=concern.identity_kind, created_at=now,
            age_approximate=concern.age_approximate,
            **_sealed(key, "persons", person_id, {
                "identity_number": concern.identity_number, "birth_date": concern.birth_date.isoformat(),
                "given_name": form.given_name, "family_name": form.family_name,
            }),
        )
        case = Case(
            id=case_id, ref=ref, person=person, flowchart_version=engine.version,
            state=outcome.state, received_at=concern.received_at, registered_by=actor.id,
            reporter_org=form.reporter_org, acute_danger=form.acute_danger,
            police_contacted_at=form.police_contacted_at,
            police_contacted_by=actor.id if form.police_contacted_at else None,
            concern=key.seal("cases", case_id, "concern", concern.text), shared_with=[], updated_at=now,
            anonymous=form.anonymous, **_sealed(key, "cases", case_id, {
                "reporter_name": concern.reporter_name, "reporter_contact": concern.reporter_contact}),
            **_next_deadline({}, outcome),  # set here, so that registering is one version, not two
        )
        session.add_all([person, case])
        session.flush()
        # A closed case is not reopened: a new concern is a new case, linked to the person's earlier ones.
        session.add_all([CaseLink(case_id=case_id, earlier_case_id=earlier_id, created_at=now)
                         for earlier_id, _ in earlier])
        seq = _write(session, key, case, outcome, now, {}, salt)
        if form.acute_danger:  # intake is alerted at once: the deadline job is queued now, not at its next slot
            enqueue(session, name=ACUTE_ALERT_JOB, key=f"acute:{case_id}", now=now)
        return acting.settled(Fired(ref, case.state, case.version, seq, existing=existing))


def _open_cases_of(session: Session, engine: Engine, index: str) -> tuple[tuple[str, str], ...]:
    """(id, ref) of the cases about the person of `index` that are not erased, earliest first."""
    done = [name for name, state in engine.chart.states.items() if state.terminal]
    return tuple((row.id, row.ref) for row in session.execute(
        select(Case.id, Case.ref).join(Person).where(Person.identity_index == index, Case.state.not_in(done))
        .order_by(Case.received_at)
    ))


def _sealed(key: CaseKey, table: str, row_id: str, values: Mapping[str, str | None]) -> dict[str, bytes | None]:
    return {name: key.seal(table, row_id, name, value) for name, value in values.items()}


@operation("transition")
def fire_trigger(
    db: Database,
    actor: Actor,
    ref: str,
    trigger: str,
    payload: Mapping[str, Any],
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
    claim: Claim | None = None,
    assessment: Assessment | None = None,
) -> Fired:
    """Fire `trigger` on case `ref` as `actor`, or raise without writing anything.

    With a `claim` (`cases.casework.idempotency`), its key is held first and the answer kept last, in this transaction.
    A step that decides a protection assessment or pre-assessment takes its `assessment` (`workflow.hearing`),
    stored sealed as a record of its own in the same transaction.
    """
    now = now or utcnow()
    with case_write(db, actor, ref, now=now, claim=claim, expected_version=expected_version) as opened:
        session, case = opened.session, opened.case
        engine = engine_for_version(session, case.flowchart_version)
        key = case_key(db, case)
        facts, running = case_facts(session, case, key)
        _refuse_unstorable_text(ref, trigger, payload)
        if assessment is not None:
            _refuse_unstorable_text(ref, trigger, {ASSESSMENT_FIELD: " ".join(
                t for t in (assessment.assessed, assessment.child_view, assessment.not_heard_detail)
                if isinstance(t, str))})
        salt = secrets.token_bytes(16)
        outcome = engine.fire(facts, actor, trigger, payload, now, salt=salt, assessment=assessment)
        require_delegation(actor.role, trigger)  # a decision step needs the delegation for its kind
        # An erasure cut short after its key was destroyed is finished with a key nobody keeps.
        key = key or CaseKey(case.id, secrets.token_bytes(32))
        seq = apply_outcome(db, session, engine, key, case, outcome, now, running, salt)
        if outcome.assessment is not None:
            _record_assessment(session, key, case, outcome, seq, now)
        session.flush()  # the new version, for the answer
        return opened.settled(Fired(ref, case.state, case.version, seq, outcome.warnings))


def _record_assessment(session: Session, key: CaseKey, case: Case, outcome: Outcome, seq: int, now: datetime) -> None:
    """The step's assessment as a record of its own, sealed, beside the step's log entry (which holds its codes)."""
    given, codes = outcome.assessment, outcome.entry.codes
    if given is None:
        return
    record_id = str(uuid.uuid4())
    session.add(AssessmentRecord(
        id=record_id, case_id=case.id, seq=seq, kind=codes["assessment"], trigger=outcome.entry.trigger,
        decision=given.decision or "", not_heard_reason=None if given.child_view else given.not_heard_reason,
        recorded_by=outcome.entry.actor_id, recorded_at=now,
        **_sealed(key, "assessments", record_id, {"assessed": given.assessed, "child_view": given.child_view,
                                                  "not_heard_detail": given.not_heard_detail}),
    ))
    session.flush()


def _refuse_unstorable_text(ref: str, trigger: str, payload: Mapping[str, Any]) -> None:
    """The text fields' characters by `cases.text`, the check the API's bodies make too (the pages' forms
    reach here unchecked); the flowchart checks the rest."""
    faulty = [Refusal("invalid_field", {"field": str(name)[:64], "problem": "unstorable_text"})
              for name, value in payload.items() if isinstance(value, str) and text_fault(value) is not None]
    if faulty:
        raise InvalidInput(ref, trigger, faulty)


def available_triggers(
    db: Database, actor: Actor, ref: str, *, now: datetime | None = None
) -> tuple[Option, ...]:
    """What `actor` may fire on case `ref` now, and for each refused trigger, why."""
    now = now or utcnow()
    with case_read(db, actor, ref) as opened:
        engine = engine_for_version(opened.session, opened.case.flowchart_version)
        facts, _ = case_facts(opened.session, opened.case, case_key(db, opened.case))
        return engine.options(facts, actor, now)


# --- shared by the operations in this package -------------------------------------------------------------


def case_key(db: Database, case: Case) -> CaseKey | None:
    """The case's data key, or None once the case is erased and its key destroyed."""
    try:
        return db.vault.case_key(case.id)
    except KeyDestroyed:
        return None


def case_facts(session: Session, case: Case, key: CaseKey | None) -> tuple[CaseFacts, dict[str, Deadline]]:
    """The engine's view of `case`, and its running deadline rows by name.

    The birth date is opened for the decision only (child or adult, age at referral); it is not shown to
    anyone, so this is no read for the access log. An erased case has no birth date any more.
    """
    consents = session.scalars(select(Consent).where(Consent.case_id == case.id)).all()
    running = {
        d.name: d
        for d in session.scalars(
            select(Deadline).where(Deadline.case_id == case.id, Deadline.stopped_at.is_(None))
        )
    }
    birth = key.open("persons", case.person.id, "birth_date", case.person.birth_date) if key else None
    communications = session.execute(
        select(Communication.decision, Communication.answer_by, Communication.answered_on, Communication.exception,
               Communication.seq)
        .where(Communication.case_id == case.id)
    ).all()
    if communications:  # only those of this stay in the state count: a reopened investigation communicates anew
        entered = session.scalar(select(func.max(TransitionLogEntry.seq)).where(
            TransitionLogEntry.case_ref == case.ref, TransitionLogEntry.to_state == case.state,
            or_(TransitionLogEntry.from_state.is_(None), TransitionLogEntry.from_state != case.state)))
        communications = [c for c in communications if entered is None or c.seq > entered]
    facts = CaseFacts(
        ref=case.ref,
        state=case.state,
        received_at=case.received_at,
        birth_date=date.fromisoformat(birth) if birth else None,
        consents=tuple(_consent_facts(c) for c in consents),
        deadlines={name: d.due_on for name, d in running.items()},
        shared_with=frozenset(case.shared_with or ()),
        last_entry_at=case.updated_at,
        communications=tuple(CommunicationFacts(c.decision, c.answer_by, c.answered_on is not None, c.exception)
                             for c in communications),
        origin=case.reporter_org,
        interventions_running=_running_interventions(session, case),
        interventions_pending=_pending_interventions(session, case),
        # the flags on the case (cases.flags), codes only: the engine warns at the steps they affect
        flags=frozenset(session.scalars(select(CaseFlag.flag).where(
            CaseFlag.case_id == case.id, CaseFlag.cleared_at.is_(None)))),
    )
    return facts, running


def _running_interventions(session: Session, case: Case) -> int:
    """How many of the case's interventions run (flowchart version 3 on; none in earlier versions)."""
    lifecycle = engine_for_version(session, case.flowchart_version).chart.interventions
    if lifecycle is None:
        return 0
    return session.scalar(select(func.count()).select_from(Intervention).where(
        Intervention.case_id == case.id, Intervention.state == lifecycle.running)) or 0


def _pending_interventions(session: Session, case: Case) -> int:
    """How many of the case's interventions are proposed or decided, not yet running nor ended (version 3 on)."""
    lifecycle = engine_for_version(session, case.flowchart_version).chart.interventions
    if lifecycle is None:
        return 0
    waiting = [name for name, state in lifecycle.states.items() if not state.terminal and name != lifecycle.running]
    return session.scalar(select(func.count()).select_from(Intervention).where(
        Intervention.case_id == case.id, Intervention.state.in_(waiting))) or 0


def apply_outcome(
    db: Database,
    session: Session,
    engine: Engine,
    key: CaseKey,
    case: Case,
    outcome: Outcome,
    now: datetime,
    running: dict[str, Deadline],
    salt: bytes,
) -> int:
    """Write the engine's decision: state, sharing, referral packets, outcome code, deadlines, log entry, form
    and, for a step that is a decision, its decision record (`cases.casework.decisions`); erasing destroys the
    case's data key last, after everything else was written."""
    case.state = outcome.state
    touch(case, now)
    state = engine.chart.states[outcome.state]
    if state.consent_purpose is None:
        case.shared_with = []
    elif outcome.shared_with:
        case.shared_with = sorted(outcome.shared_with)
    if state.closing:
        case.outcome = outcome.payload.get("outcome")
    elif case.outcome is not None:
        case.outcome = None
    left = engine.chart.states.get(outcome.entry.from_state or "")
    if state.consent_purpose is None and left is not None and left.consent_purpose:
        close_referrals(session, case, now)  # after every change to the case row: this query flushes it
    seq = _write(session, key, case, outcome, now, running, salt)
    record_decision(session, key, case, outcome, seq, now)  # in this transaction: never one without the other
    fired = engine.chart.transition(outcome.entry.trigger, outcome.entry.from_state or "")
    rule = fired.consent if fired is not None else None  # registering fires no transition from a state
    if state.consent_purpose and rule is not None and outcome.shared_with:  # nothing shared, no packet
        packet = ReferralPacket(
            id=str(uuid.uuid4()), case_id=case.id, transition_seq=seq, purpose=rule.purpose,
            recipients=sorted(outcome.shared_with), data_categories=sorted(rule.data_categories), created_at=now,
        )
        session.add(packet)
        session.flush()
        notify_packet(session, packet, case.ref, now)  # the partner's unit is told in this transaction
    if state.closing or state.terminal:  # after every change to the case row, as above
        end_assignments(session, case, now)  # a closed case is nobody's work: its caseworker's ground ends
    if state.erases:
        db.vault.destroy(case.id)
    return seq


def close_referrals(session: Session, case: Case, now: datetime) -> None:
    """Sharing stops: every open referral packet of the case is closed now."""
    for packet in session.scalars(select(ReferralPacket).where(
            ReferralPacket.case_id == case.id, ReferralPacket.closed_at.is_(None))):
        packet.closed_at = now


def end_assignments(session: Session, case: Case, now: datetime, *, keep: str | None = None) -> None:
    """End every open assignment of the case (but `keep`'s): with it ends that caseworker's ground on it."""
    ending = update(Assignment).where(Assignment.case_id == case.id, Assignment.ended_at.is_(None))
    if keep is not None:
        ending = ending.where(Assignment.staff_id != keep)
    session.execute(ending.values(ended_at=now))


def _write(
    session: Session, key: CaseKey, case: Case, outcome: Outcome, now: datetime, running: Mapping[str, Deadline],
    salt: bytes,
) -> int:
    for name in (*outcome.stops, *outcome.starts):
        if name in running:
            running[name].stopped_at = now
    for name, due in outcome.starts.items():
        session.add(Deadline(case_id=case.id, name=name, started_at=now, due_on=due))
    for name, value in _next_deadline(running, outcome).items():
        if getattr(case, name) != value:  # unchanged values must not make another UPDATE (and version)
            setattr(case, name, value)
    session.flush()  # the case row first: its lock is taken before the log's, always in that order
    row = log.append(session, outcome.entry)
    session.flush()
    payload = key.seal_json("case_events", str(row.seq), "payload", _event_payload(outcome, salt))
    session.add(CaseEvent(seq=row.seq, case_id=case.id, payload=payload))
    session.flush()
    return row.seq


def _next_deadline(running: Mapping[str, Deadline], outcome: Outcome) -> dict[str, Any]:
    """The running deadline due first once `outcome` is applied, for `Case.next_deadline`/`next_due_on`."""
    still = {name: d.due_on for name, d in running.items() if name not in outcome.stops and name not in outcome.starts}
    still.update(outcome.starts)
    name, due = min(still.items(), key=lambda item: (item[1], item[0]), default=(None, NO_DEADLINE))
    return {"next_deadline": name, "next_due_on": due}


def _event_payload(outcome: Outcome, salt: bytes) -> dict[str, Any]:
    """The form as stored, with the salt that lets an auditor re-derive the log's payload hash."""
    fields = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in outcome.payload.items()}
    return {"salt": base64.b64encode(salt).decode(), "fields": fields}


def _consent_facts(c: Consent) -> ConsentFacts:
    return ConsentFacts(
        given_by=c.given_by, purposes=frozenset(c.purposes), recipients=frozenset(c.recipients),
        data_categories=frozenset(c.data_categories), valid_from=c.valid_from, valid_until=c.valid_until,
        status=c.status,
    )


def touch(case: Case, now: datetime) -> None:
    """Make this transaction write the case row, so its version moves on even if nothing else changed."""
    case.updated_at = now
    flag_modified(case, "updated_at")


def bump(session: Session, case: Case, now: datetime) -> None:
    """Mark the case changed (a new version) when something its decisions depend on changes."""
    touch(case, now)
    session.flush()


def log_beside(session: Session, key: CaseKey, case: Case, actor: Actor, trigger: str, codes: Mapping[str, Any],
               form: Mapping[str, Any], now: datetime) -> int:
    """Append an entry beside the steps (the case stays in its state) and its sealed form; the entry's position.

    The entry carries `codes` and a salted hash of `form`; the form is kept sealed with that salt, so an auditor
    can re-derive the hash. The caller has moved the case's version on first (`bump`): its row lock is taken
    before the log's, always in that order."""
    salt = secrets.token_bytes(16)
    row = log.append(session, LogEntry(
        at=now, case_ref=case.ref, actor_id=actor.id, role=actor.role, trigger=trigger,
        from_state=case.state, to_state=case.state, flowchart_version=case.flowchart_version,
        codes=dict(codes), payload_hash=payload_hash(form, salt)))
    session.flush()
    payload = {"salt": base64.b64encode(salt).decode(), "fields": dict(form)}
    session.add(CaseEvent(seq=row.seq, case_id=case.id,
                          payload=key.seal_json("case_events", str(row.seq), "payload", payload)))
    session.flush()
    return row.seq
