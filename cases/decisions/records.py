"""A case's decisions as staff see them, and recording that a decision was made known to the person.

The list holds codes, dates and staff only (the kind, the provision, who decided under which delegation,
whether it can be appealed, who was told and how): no personal text is opened, so it is no read for the access
log, and it is refused to anyone without a ground on the case, as the case itself is (`case_read`).

Recording a notification (förvaltningslagen (2017:900), the provision on notification of decisions: law.toml
`fl_33`) is a change of the case: its version moves on, and the transition log gets an entry that stays in the
case's state and carries codes only (the decision's id, the recipient, the method, the date), in the same
transaction as the record.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.actors import utcnow
from cases.audit import log
from cases.casework.operations import bump, case_facts, case_key
from cases.casework.skeleton import case_read, case_write
from cases.db import Database
from cases.errors import InvalidConcern, NotPermitted, RecordNotFound
from cases.events import operation
from cases.flowcharts import engine_for_version
from cases.models import Case, Decision, DecisionNotification, Staff, TransitionLogEntry
from policies.decisions import NOTIFIED, load_decisions
from workflow import Actor, LogEntry

if TYPE_CHECKING:
    from cases.casework.idempotency import Claim

__all__ = [
    "NOTIFIED",
    "DecisionSummary",
    "Notice",
    "NotificationForm",
    "Notified",
    "case_decisions",
    "case_ref_of",
    "record_notification",
]

ADULT_AGE = 18


@dataclass(frozen=True)
class Notice:
    """One notification of a decision: to whom, how, on which day, recorded by whom."""

    recipient: str
    method: str
    notified_on: date
    recorded_by: str
    recorded_by_name: str


@dataclass(frozen=True)
class DecisionSummary:
    """A decision without its reasons: what was decided, under which provision, by whom, and who was told."""

    id: str
    ref: str
    trigger: str
    kind: str
    provision: str
    appealable: bool
    decided_at: datetime
    decided_by: str
    decided_by_name: str
    role: str
    delegation: str
    to_state: str
    notices: tuple[Notice, ...] = ()

    @property
    def notified(self) -> bool:
        return bool(self.notices)


@dataclass(frozen=True)
class NotificationForm:
    recipient: str
    method: str
    notified_on: date


@dataclass(frozen=True)
class Notified:
    decision_id: str
    ref: str
    version: int
    seq: int


def case_decisions(db: Database, actor: Actor, ref: str) -> tuple[DecisionSummary, ...]:
    """The decisions on case `ref`, oldest first, for staff with a ground on it (else `AccessDenied`)."""
    with case_read(db, actor, ref) as opened:
        return _summaries(opened.session, opened.case)


def case_ref_of(db: Database, decision_id: str) -> str:
    """The reference of the case a decision belongs to, or `RecordNotFound` (told alike as no ground)."""
    with db.read() as session:
        ref = session.scalar(select(Case.ref).join(Decision, Decision.case_id == Case.id)
                             .where(Decision.id == decision_id))
    if ref is None:
        raise RecordNotFound("decision", "no such decision", "inget sådant beslut")
    return ref


@operation("decision_notified")
def record_notification(db: Database, actor: Actor, decision_id: str, form: NotificationForm, *,
                        expected_version: int | None = None, now: datetime | None = None,
                        claim: Claim | None = None) -> Notified:
    """Record that the person (or a child's guardians) was told of decision `decision_id`: when and how."""
    now = now or utcnow()
    decisions = load_decisions()
    if actor.role not in decisions.notifying_roles:
        raise NotPermitted("record the notification of a decision", actor.role)
    ref = case_ref_of(db, decision_id)
    with case_write(db, actor, ref, now=now, claim=claim, expected_version=expected_version) as opened:
        session, case = opened.session, opened.case
        decision = session.get(Decision, decision_id)
        if decision is None or decision.case_id != case.id:
            raise RecordNotFound("decision", "no such decision", "inget sådant beslut")
        engine = engine_for_version(session, case.flowchart_version)
        _check_form(session, db, case, decision, form, now, ZoneInfo(engine.chart.timezone))
        bump(session, case, now)  # the case row first: its lock is taken before the log's
        row = log.append(session, LogEntry(
            at=now, case_ref=case.ref, actor_id=actor.id, role=actor.role, trigger=NOTIFIED,
            from_state=case.state, to_state=case.state, flowchart_version=case.flowchart_version,
            codes={"decision": decision.id, "recipient": form.recipient, "method": form.method,
                   "notified_on": form.notified_on},
        ))
        session.flush()
        session.add(DecisionNotification(
            id=str(uuid.uuid4()), decision_id=decision.id, transition_seq=row.seq, recipient=form.recipient,
            method=form.method, notified_on=form.notified_on, recorded_by=actor.id, recorded_at=now,
        ))
        session.flush()
        return opened.settled(Notified(decision.id, case.ref, case.version, row.seq))


def _check_form(session: Session, db: Database, case: Case, decision: Decision, form: NotificationForm,
                now: datetime, zone: ZoneInfo) -> None:
    decisions = load_decisions()
    if form.method not in decisions.methods:
        raise InvalidConcern("method", "choose how the person was told", "välj hur personen underrättades")
    if form.recipient not in decisions.recipients:
        raise InvalidConcern("recipient", "choose who was told", "välj vem som underrättades")
    if not isinstance(form.notified_on, date):
        raise InvalidConcern("notified_on", "give the day", "ange dagen")
    if form.notified_on > now.astimezone(zone).date():
        raise InvalidConcern("notified_on", "lies in the future", "ligger i framtiden")
    if form.notified_on < decision.decided_at.astimezone(zone).date():
        raise InvalidConcern("notified_on", "lies before the decision", "ligger före beslutet")
    if form.recipient == "guardians":  # guardians are told of decisions about a child (under 18 at the decision)
        key = case_key(db, case)
        if key is None:
            raise InvalidConcern("case", "the case has been erased", "ärendet är gallrat")
        birth = case_facts(session, case, key)[0].birth_date
        decided_on = decision.decided_at.astimezone(zone).date()
        if birth is None or _age(birth, decided_on) >= ADULT_AGE:
            raise InvalidConcern("recipient", "guardians are told of decisions about a child",
                                 "vårdnadshavare underrättas om beslut som gäller ett barn")


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _summaries(session: Session, case: Case) -> tuple[DecisionSummary, ...]:
    rows = session.execute(
        select(Decision, Staff.display_name).join(Staff, Staff.id == Decision.decided_by)
        .where(Decision.case_id == case.id).order_by(Decision.transition_seq)
    ).all()
    if not rows:
        return ()
    notices: dict[str, list[Notice]] = {}
    for n, name in session.execute(
        select(DecisionNotification, Staff.display_name).join(Staff, Staff.id == DecisionNotification.recorded_by)
        .where(DecisionNotification.decision_id.in_([d.id for d, _ in rows]))
        .order_by(DecisionNotification.transition_seq)
    ).all():
        notices.setdefault(n.decision_id, []).append(Notice(n.recipient, n.method, n.notified_on, n.recorded_by,
                                                            name))
    states = _to_states(session, [d.transition_seq for d, _ in rows])
    return tuple(
        DecisionSummary(id=d.id, ref=case.ref, trigger=d.trigger, kind=d.kind, provision=d.provision,
                        appealable=d.appealable, decided_at=d.decided_at, decided_by=d.decided_by,
                        decided_by_name=name, role=d.role, delegation=d.delegation,
                        to_state=states.get(d.transition_seq, ""), notices=tuple(notices.get(d.id, ())))
        for d, name in rows
    )


def _to_states(session: Session, seqs: list[int]) -> dict[int, str]:
    rows = session.execute(select(TransitionLogEntry.seq, TransitionLogEntry.to_state)
                           .where(TransitionLogEntry.seq.in_(seqs))).all()
    return {seq: state for seq, state in rows}
