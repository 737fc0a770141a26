"""What a reporter may learn about their own concerns, and nothing more.

The law limits feedback to a reporter to whether an investigation is opened, is not opened or is already
running (socialtjänstlagen (2025:400), the rule on feedback to the reporter; 26 kap. 9 a § OSL; DESIGN.md
§1, §2); before the decision the concern is
"received". Everything here is read from the case rows and the transition log: nothing is decrypted, no
name, identity number, state or outcome leaves, and only the account that registered a concern sees it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.actors import require_staff
from cases.db import Database
from cases.errors import CaseNotFound, NotPermitted
from cases.models import Case, Person
from cases.models import TransitionLogEntry as Entry
from workflow import Actor

__all__ = [
    "ALREADY_RUNNING",
    "CATEGORIES",
    "FEEDBACK_ROLES",
    "NOT_OPENED",
    "OPENED",
    "RECEIVED",
    "Feedback",
    "concern_receipt",
    "reporter_feedback",
]

RECEIVED, OPENED, NOT_OPENED, ALREADY_RUNNING = "received", "investigation_opened", "not_opened", "already_running"
CATEGORIES = (RECEIVED, OPENED, NOT_OPENED, ALREADY_RUNNING)
FEEDBACK_ROLES = frozenset({"reporter"})  # deny by default: staff who handle cases see them in their own pages

# The flowchart's words for the decisions the law lets a reporter hear about.
OPENING_STATE = "investigation"  # entered by open_investigation, or by reopen after a case was not opened
NOT_OPENING_TRIGGER = "close_without_investigation"
RUNNING_STATES = frozenset({"investigation", "awaiting_consent"})  # an investigation is under way


@dataclass(frozen=True)
class Feedback:
    """One of the reporter's own concerns as they may see it: what they sent in, and the category."""

    ref: str
    received_at: datetime
    reporter_org: str
    acute_danger: bool
    police_contacted_at: datetime | None
    category: str
    since: datetime  # when the concern came into this category (received, or the decision)


def reporter_feedback(db: Database, actor: Actor) -> tuple[Feedback, ...]:
    """The actor's own concerns, newest first, each with the feedback the law allows."""
    _require_reporter(actor)
    with db.read() as session:
        require_staff(session, actor)
        cases = list(session.scalars(select(Case).where(Case.registered_by == actor.id)
                                     .order_by(Case.received_at.desc(), Case.ref)))
        return tuple(_feedback(session, cases))


def concern_receipt(db: Database, actor: Actor, ref: str) -> Feedback:
    """One of the actor's own concerns; someone else's is as unknown as one that does not exist."""
    _require_reporter(actor)
    with db.read() as session:
        require_staff(session, actor)
        case = session.scalars(select(Case).where(Case.ref == ref, Case.registered_by == actor.id)).first()
        if case is None:
            raise CaseNotFound(ref)
        return _feedback(session, [case])[0]


def _require_reporter(actor: Actor) -> None:
    if actor.role not in FEEDBACK_ROLES:
        raise NotPermitted("see feedback on concerns", actor.role)


def _feedback(session: Session, cases: list[Case]) -> list[Feedback]:
    decisions = _decisions(session, [c.ref for c in cases])
    result = []
    for case in cases:
        opened, not_opened = decisions.get(case.ref, (None, None))
        if opened is not None:
            category, since = OPENED, opened.at
        elif not_opened is not None:
            running = _investigation_running(session, case, not_opened.seq)
            category, since = (ALREADY_RUNNING if running else NOT_OPENED), not_opened.at
        else:
            category, since = RECEIVED, case.received_at
        result.append(Feedback(case.ref, case.received_at, case.reporter_org, case.acute_danger,
                               case.police_contacted_at, category, since))
    return result


def _decisions(session: Session, refs: list[str]) -> dict[str, tuple[Entry | None, Entry | None]]:
    """Per case: the first entry that opened an investigation, and the decision not to open one."""
    found: dict[str, tuple[Entry | None, Entry | None]] = {}
    for chunk in (refs[i:i + 500] for i in range(0, len(refs), 500)):
        rows = session.scalars(select(Entry).where(
            Entry.case_ref.in_(chunk),
            (Entry.to_state == OPENING_STATE) | (Entry.trigger == NOT_OPENING_TRIGGER),
        ).order_by(Entry.seq))
        for row in rows:
            opened, not_opened = found.get(row.case_ref, (None, None))
            if row.trigger == NOT_OPENING_TRIGGER:
                not_opened = not_opened or row
            else:
                opened = opened or row
            found[row.case_ref] = (opened, not_opened)
    return found


def _investigation_running(session: Session, case: Case, decided_seq: int) -> bool:
    """Whether, when it was decided not to open one, an investigation about the same person was under way.

    The same person is found by the blind index of the identity number, as at registration; the other
    cases' states at that moment come from the log. A concern without an identity number matches nobody.
    """
    index = session.scalar(select(Person.identity_index).where(Person.id == case.person_id))
    if index is None:
        return False
    others = select(Case.ref).join(Person, Person.id == Case.person_id).where(
        Person.identity_index == index, Case.id != case.id)
    state_then: dict[str, str] = {}
    for ref, to_state in session.execute(select(Entry.case_ref, Entry.to_state).where(
            Entry.case_ref.in_(others), Entry.seq < decided_seq).order_by(Entry.seq)):
        state_then[ref] = to_state
    return any(state in RUNNING_STATES for state in state_then.values())
