"""What a reporter may learn about their own concerns, and nothing more; and the decision not to tell them.

Feedback is given where the law gives it (policies/rules.toml [feedback]): to a mandatory reporter, about a
concern about a child (under 18 on the day of receipt), and then only whether an investigation is opened, is
not opened or is already running (socialtjänstlagen (2025:400), the provision on feedback to the reporter,
in words: its number is not verified; the secrecy rule that lets it be given is 26 kap. 9 a § OSL). Before
the decision, and always for an adult's concern, the concern is "received". A caseworker or decision maker
may decide that feedback would be inappropriate (`withhold_feedback`, with a sealed reason); the reporter
then sees "received" only.

The reporter's view reads the case rows and the transition log: nothing is decrypted (a case registered
before the age group was logged has its birth date opened for the decision only, as `case_facts` does), no
name, identity number, state or outcome leaves, and only the account that registered a concern sees it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.actors import require_staff, utcnow
from cases.casework.operations import bump, case_key, log_beside
from cases.casework.skeleton import case_write
from cases.db import Database
from cases.errors import CaseNotFound, InvalidConcern, NotPermitted
from cases.events import operation
from cases.flowcharts import engine_for_version
from cases.models import Case, Person
from cases.models import TransitionLogEntry as Entry
from cases.text import check_text
from policies.rules import WITHHOLD_FEEDBACK
from workflow import Actor
from workflow.deadlines import local_date
from workflow.facts import age_on
from workflow.fields import MAX_TEXT
from workflow.guards import rules

if TYPE_CHECKING:
    from cases.casework.idempotency import Claim

__all__ = [
    "ALREADY_RUNNING",
    "CATEGORIES",
    "FEEDBACK_ROLES",
    "NOT_OPENED",
    "OPENED",
    "RECEIVED",
    "WITHHOLDING_ROLES",
    "WITHHOLD_TRIGGER",
    "Feedback",
    "Withheld",
    "concern_receipt",
    "reporter_feedback",
    "withhold_feedback",
]

RECEIVED, OPENED, NOT_OPENED, ALREADY_RUNNING = "received", "investigation_opened", "not_opened", "already_running"
CATEGORIES = (RECEIVED, OPENED, NOT_OPENED, ALREADY_RUNNING)
FEEDBACK_ROLES = frozenset({"reporter"})  # deny by default: staff who handle cases see them in their own pages
WITHHOLDING_ROLES = frozenset({"caseworker", "decider"})
WITHHOLD_TRIGGER = WITHHOLD_FEEDBACK  # the log's name for the decision not to give feedback (no transition)
WITHHELD = "withheld"

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
        return tuple(_feedback(db, session, cases))


def concern_receipt(db: Database, actor: Actor, ref: str) -> Feedback:
    """One of the actor's own concerns; someone else's is as unknown as one that does not exist."""
    _require_reporter(actor)
    with db.read() as session:
        require_staff(session, actor)
        case = session.scalars(select(Case).where(Case.ref == ref, Case.registered_by == actor.id)).first()
        if case is None:
            raise CaseNotFound(ref)
        return _feedback(db, session, [case])[0]


def _require_reporter(actor: Actor) -> None:
    if actor.role not in FEEDBACK_ROLES:
        raise NotPermitted("see feedback on concerns", actor.role)


def _feedback(db: Database, session: Session, cases: list[Case]) -> list[Feedback]:
    refs = [c.ref for c in cases]
    decisions, given = _decisions(session, refs), _feedback_given(db, session, cases)
    result = []
    for case in cases:
        opened, not_opened = decisions.get(case.ref, (None, None))
        if case.ref not in given:
            category, since = RECEIVED, case.received_at
        elif opened is not None:
            category, since = OPENED, opened.at
        elif not_opened is not None:
            running = _investigation_running(session, case, not_opened.seq)
            category, since = (ALREADY_RUNNING if running else NOT_OPENED), not_opened.at
        else:
            category, since = RECEIVED, case.received_at
        result.append(Feedback(case.ref, case.received_at, case.reporter_org, case.acute_danger,
                               case.police_contacted_at, category, since))
    return result


def _feedback_given(db: Database, session: Session, cases: list[Case]) -> set[str]:
    """The cases whose reporter the law gives feedback: a mandatory reporter's concern about a child, and no
    decision recorded not to give it (policies/rules.toml [feedback])."""
    policy = rules()
    # an anonymous concern never: nobody is known to give it to (and no anonymous source is a mandatory one)
    wanted = {c.ref: c for c in cases if c.reporter_org in policy.mandatory_reporters and not c.anonymous}
    child, withheld = set(), set()
    for chunk in (list(wanted)[i:i + 500] for i in range(0, len(wanted), 500)):
        for ref, trigger, body in session.execute(select(Entry.case_ref, Entry.trigger, Entry.entry).where(
                Entry.case_ref.in_(chunk), Entry.trigger.in_(("register", WITHHOLD_TRIGGER)))):
            if trigger == WITHHOLD_TRIGGER:
                withheld.add(ref)
            elif _about_child(db, session, wanted[ref], json.loads(body).get("codes", {}).get("age_group")):
                child.add(ref)
    return child - withheld


def _about_child(db: Database, session: Session, case: Case, age_group: str | None) -> bool:
    """Whether the concern was about a child: the age group logged at receipt, or for a case registered before
    it was logged, the birth date opened for this decision only (not shown, so no read for the access log)."""
    if age_group is not None:
        return age_group == "child"
    key = case_key(db, case)
    if key is None:  # erased: nothing is left to decide on, and nothing more is said
        return False
    person = session.get_one(Person, case.person_id)
    birth = key.open("persons", person.id, "birth_date", person.birth_date)
    received = local_date(case.received_at, engine_for_version(session, case.flowchart_version).chart.timezone)
    return birth is not None and age_on(date.fromisoformat(birth), received) < rules().adult_age


@dataclass(frozen=True)
class Withheld:
    """The decision not to give feedback, as committed: the case (its state unchanged), its new version, and
    the decision's entry in the transition log."""

    ref: str
    state: str
    version: int
    seq: int


@operation("feedback_withheld")
def withhold_feedback(db: Database, actor: Actor, ref: str, reason: str, *, expected_version: int | None = None,
                      now: datetime | None = None, claim: Claim | None = None) -> Withheld:
    """Record the decision not to give the reporter feedback because it would be inappropriate.

    The rule on feedback lets it be left out where it would be inappropriate (socialtjänstlagen (2025:400),
    the provision on feedback to the reporter, in words). The reason is sealed with the case key; the
    tamper-evident log holds the decision as a code and the reason's salted hash. With a `claim`
    (`cases.casework.idempotency`), the answer is kept with the change, in its transaction.
    """
    now = now or utcnow()
    if actor.role not in WITHHOLDING_ROLES:
        raise NotPermitted("decide not to give feedback", actor.role)
    reason = check_text("reason", (reason or "").strip())
    if not reason or len(reason) > MAX_TEXT:
        raise InvalidConcern("reason", "say why feedback would be inappropriate",
                             "ange varför återkoppling vore olämplig")
    with case_write(db, actor, ref, now=now, claim=claim, expected_version=expected_version) as opened:
        session, case = opened.session, opened.case
        key = case_key(db, case)
        if key is None:
            raise InvalidConcern("case", "the case has been erased; nothing more can be recorded on it",
                                 "ärendet är gallrat; inget mer kan registreras i det")
        bump(session, case, now)  # the case row first: its lock is taken before the log's, always in that order
        seq = log_beside(session, key, case, actor, WITHHOLD_TRIGGER, {"feedback": WITHHELD}, {"reason": reason}, now)
        return opened.settled(Withheld(case.ref, case.state, case.version, seq))


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
