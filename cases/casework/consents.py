"""Record and withdraw consents (DESIGN.md §3). A consent is a record, not a checkbox.

Both operations change the case's version: a decision taken on a form opened before a consent changed
must be taken again, so a referral can never be committed on a consent withdrawn a moment earlier.
Withdrawal takes effect at once: on a case of flowchart version 3 on, exactly the interventions the consent
covered and nothing else covers end in the same transaction (their referral packets close; the case moves to
follow-up when none runs any more: `cases.interventions`); on versions 1 and 2, if the case is in an intervention
that rested on the consent, the flowchart's `withdraw_consent` trigger moves it on.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cases.actors import utcnow
from cases.casework.operations import apply_outcome, bump, case_facts
from cases.casework.skeleton import case_write
from cases.crypto.vault import CaseKey
from cases.db import Database
from cases.errors import InvalidConcern, KeyDestroyed, NotPermitted
from cases.events import operation
from cases.flowcharts import engine_for_version
from cases.interventions.steps import end_lapsed
from cases.models import Consent, ReferralPacket, TransitionLogEntry
from cases.notifications import notify_packets_closed
from cases.text import check_text
from policies.access import CONSENT_ROLES
from workflow import Actor
from workflow.fields import MAX_TEXT

if TYPE_CHECKING:
    from cases.casework.idempotency import Claim

__all__ = ["CONSENT_ROLES", "ConsentForm", "ConsentRecorded", "Withdrawn", "record_consent", "withdraw_consent"]

STATUSES = ("given", "refused")


@dataclass(frozen=True)
class ConsentForm:
    given_by: str
    purposes: tuple[str, ...]
    recipients: tuple[str, ...]
    data_categories: tuple[str, ...]
    method: str
    evidence: str
    valid_from: date
    valid_until: date | None = None
    status: str = "given"

    def __repr__(self) -> str:
        return f"ConsentForm(given_by={self.given_by!r}, purposes={self.purposes!r}, status={self.status!r})"


@dataclass(frozen=True)
class ConsentRecorded:
    id: str
    version: int


@dataclass(frozen=True)
class Withdrawn:
    consent_id: str
    state: str
    version: int
    seq: int | None


@operation("consent_recorded")
def record_consent(
    db: Database, actor: Actor, ref: str, form: ConsentForm, *, expected_version: int | None = None,
    now: datetime | None = None, claim: Claim | None = None,
) -> ConsentRecorded:
    """Record a given or refused consent on case `ref` (with a `claim`, its answer is kept in the same
    transaction: `cases.casework.idempotency`)."""
    now = now or utcnow()
    _check_role(actor, "record a consent")
    with case_write(db, actor, ref, now=now, claim=claim, expected_version=expected_version) as opened:
        session, case = opened.session, opened.case
        chart = engine_for_version(session, case.flowchart_version).chart
        _check_form(chart, form)
        consent_id = str(uuid.uuid4())
        key = _key(db, case)
        consent = Consent(
            id=consent_id, case_id=case.id, given_by=form.given_by,
            purposes=sorted(set(form.purposes)), recipients=sorted(set(form.recipients)),
            data_categories=sorted(set(form.data_categories)), method=form.method,
            evidence=key.seal("consents", consent_id, "evidence", form.evidence.strip()),
            valid_from=form.valid_from, valid_until=form.valid_until,
            status=form.status, recorded_by=actor.id, recorded_at=now,
        )
        session.add(consent)
        bump(session, case, now)
        return opened.settled(ConsentRecorded(consent.id, case.version))


@operation("consent_withdrawn")
def withdraw_consent(
    db: Database, actor: Actor, ref: str, consent_id: str, reason: str, *,
    expected_version: int | None = None, now: datetime | None = None, claim: Claim | None = None,
) -> Withdrawn:
    """Withdraw a consent now; sharing that rested on it stops and the case moves on as the flowchart says."""
    now = now or utcnow()
    _check_role(actor, "withdraw a consent")
    reason = check_text("reason", (reason or "").strip())
    if not reason:
        raise InvalidConcern("reason", "say why the consent was withdrawn", "ange varför samtycket återkallades")
    with case_write(db, actor, ref, now=now, claim=claim, expected_version=expected_version) as opened:
        session, case = opened.session, opened.case
        consent = session.scalars(
            select(Consent).where(Consent.id == consent_id, Consent.case_id == case.id)
        ).first()
        if consent is None or consent.status != "given":
            raise InvalidConcern("consent_id", "no consent in force with that id on this case",
                                 "inget gällande samtycke med det id:t i ärendet")
        key = _key(db, case)
        engine = engine_for_version(session, case.flowchart_version)
        shared = session.scalars(select(ReferralPacket).where(ReferralPacket.case_id == case.id,
                                                              ReferralPacket.closed_at.is_(None))).all()
        before = case_facts(session, case, key)[0] if engine.chart.interventions is not None else None
        consent.status, consent.withdrawn_at = "withdrawn", now
        consent.withdrawal_reason = key.seal("consents", consent.id, "withdrawal_reason", reason)
        session.flush()
        seq = None
        if before is not None:  # version 3 on: the interventions it covered end, each as a step of its own
            bump(session, case, now)
            if end_lapsed(db, session, engine, key, case, actor, now, end_reason="consent_withdrawn", before=before):
                seq = session.scalar(select(func.max(TransitionLogEntry.seq))
                                     .where(TransitionLogEntry.case_ref == case.ref))  # the last step it took
            _tell_partners(session, shared, consent.id, case.ref, now)
            return opened.settled(Withdrawn(consent.id, case.state, case.version, seq))
        facts, running = case_facts(session, case, key)
        if engine.chart.transition("withdraw_consent", case.state) is not None and not engine.check(
            facts, actor, "withdraw_consent", {"reason": reason}, now
        ):
            salt = secrets.token_bytes(16)
            outcome = engine.fire(facts, actor, "withdraw_consent", {"reason": reason}, now, salt=salt)
            seq = apply_outcome(db, session, engine, key, case, outcome, now, running, salt)
        else:
            bump(session, case, now)
        _tell_partners(session, shared, consent.id, case.ref, now)
        return opened.settled(Withdrawn(consent.id, case.state, case.version, seq))


def _tell_partners(session: Session, shared: Sequence[ReferralPacket], consent_id: str, ref: str,
                   now: datetime) -> None:
    """The units whose packets the withdrawal closed are told, in its transaction (nothing is lost)."""
    session.flush()  # the packets' closing is written: `closed_at` on them says which closed
    notify_packets_closed(session, [p for p in shared if p.closed_at is not None], consent_id, ref, now)


def _check_role(actor: Actor, action: str) -> None:
    if actor.role not in CONSENT_ROLES:
        raise NotPermitted(action, actor.role)


def _check_form(chart, form: ConsentForm) -> None:
    vocab = chart.vocabularies
    for name, values, vocabulary in (
        ("given_by", [form.given_by], "consent_givers"),
        ("purposes", form.purposes, "purposes"),
        ("recipients", form.recipients, "recipients"),
        ("data_categories", form.data_categories, "data_categories"),
        ("method", [form.method], "consent_methods"),
    ):
        if not values or not all(isinstance(v, str) and v in vocab[vocabulary] for v in values):
            raise InvalidConcern(name, "choose one or more values from the list",
                                 "välj ett eller flera värden i listan")
    if form.status not in STATUSES:
        raise InvalidConcern("status", "must be given or refused", "ska vara lämnat eller nekat")
    evidence = check_text("evidence", (form.evidence or "").strip())
    if not evidence or len(evidence) > MAX_TEXT:
        raise InvalidConcern("evidence", "say how the consent was obtained and documented",
                             "ange hur samtycket inhämtades och dokumenterades")
    if form.valid_until is not None and form.valid_until < form.valid_from:
        raise InvalidConcern("valid_until", "lies before valid_from", "ligger före giltig från")


def _key(db: Database, case) -> CaseKey:
    """The case's data key; an erased case takes no more records (its key is gone)."""
    try:
        return db.vault.case_key(case.id)
    except KeyDestroyed:
        raise InvalidConcern("case", "the case has been erased; nothing more can be recorded on it",
                             "ärendet är gallrat; inget mer kan registreras i det") from None
