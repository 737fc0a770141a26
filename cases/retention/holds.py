"""Place and lift a legal hold on a case, and read a case's holds (`policies/routines/retention.toml` [legal_holds]).

A hold keeps a case from thinning until it is lifted: the retention job passes it by and says why. Placing or
lifting one is an operation on the case as every other (`cases.casework.skeleton`: the account, the locked case,
a ground on it): one transaction that appends an entry beside the flowchart's steps to the transition log, with
a salted hash of the reason, never its text, which is sealed with the case key. Only the roles retention.toml
names place or lift a hold (deny by default). A hold is no entry in the person's record: it does not move the
case's last entry on, so placing and lifting one does not start the retention period again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.actors import utcnow
from cases.audit import log
from cases.casework.grounds import read_ground
from cases.casework.operations import case_key, log_beside
from cases.casework.skeleton import Opened, case_write
from cases.crypto.vault import CaseKey
from cases.db import Database
from cases.errors import AccessDenied, InvalidConcern, NotPermitted
from cases.events import operation
from cases.models import Case, LegalHold
from cases.text import check_text
from policies.routines.retention import HOLD_LIFTED, HOLD_PLACED, load_retention
from workflow import AccessEntry, Actor
from workflow.fields import MAX_TEXT

if TYPE_CHECKING:
    from cases.casework.idempotency import Claim

__all__ = ["REASON_FIELD", "HoldChanged", "HoldItem", "case_holds", "held_case_ids", "lift_hold",
           "place_hold"]

REASON_FIELD = "legal_hold_reason"  # what the access log names as read when the reasons are opened


@dataclass(frozen=True)
class HoldChanged:
    """A hold placed or lifted, as committed: the case, the hold's id and the log entry's position."""

    ref: str
    hold_id: str
    seq: int


@dataclass(frozen=True)
class HoldItem:
    """One hold as its readers see it: who placed it, when and why, and its lifting (None while it holds)."""

    id: str
    placed_by: str
    placed_at: datetime
    reason: str | None
    lifted_by: str | None = None
    lifted_at: datetime | None = None
    lift_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.lifted_at is None

    def __repr__(self) -> str:  # the reasons may be personal: never print them
        return f"HoldItem(id={self.id!r}, active={self.active})"



def held_case_ids(session: Session, case_ids: list[str] | None = None) -> frozenset[str]:
    """The ids of the cases (of `case_ids`, or all) under a hold that has not been lifted; nothing is opened."""
    query = select(LegalHold.case_id).where(LegalHold.lifted_at.is_(None))
    if case_ids is not None:
        query = query.where(LegalHold.case_id.in_(case_ids))
    return frozenset(session.scalars(query))


@operation("legal_hold_placed")
def place_hold(db: Database, actor: Actor, ref: str, reason: str, *, now: datetime | None = None,
               claim: Claim | None = None) -> HoldChanged:
    """Place a legal hold with a reason on case `ref`, or raise without writing anything. With a `claim`
    (`cases.casework.idempotency`), the answer is kept with the change."""
    now = now or utcnow()
    if actor.role not in load_retention().place_roles:
        raise NotPermitted("place a legal hold", actor.role)
    reason = _reason(reason, "say why the case is held from thinning", "ange varför ärendet undantas från gallring")
    with case_write(db, actor, ref, now=now, claim=claim) as opened:
        if _active(opened.session, opened.case) is not None:
            raise InvalidConcern("legal_hold", "the case is already under a legal hold",
                                 "ärendet är redan undantaget från gallring")
        hold_id = str(uuid.uuid4())
        seq, key = _logged(db, opened, actor, HOLD_PLACED, hold_id, reason, now)
        opened.session.add(LegalHold(id=hold_id, case_id=opened.case.id, placed_by=actor.id, placed_at=now,
                                     placed_seq=seq, reason=key.seal("legal_holds", hold_id, "reason", reason)))
        opened.session.flush()
        return opened.settled(HoldChanged(ref, hold_id, seq))


@operation("legal_hold_lifted")
def lift_hold(db: Database, actor: Actor, ref: str, reason: str, *, now: datetime | None = None,
              claim: Claim | None = None) -> HoldChanged:
    """Lift the legal hold on case `ref` with a reason; the record of it stays. Raise without writing anything."""
    now = now or utcnow()
    if actor.role not in load_retention().lift_roles:
        raise NotPermitted("lift a legal hold", actor.role)
    reason = _reason(reason, "say why the hold is lifted", "ange varför undantaget från gallring upphör")
    with case_write(db, actor, ref, now=now, claim=claim) as opened:
        row = _active(opened.session, opened.case)
        if row is None:
            raise InvalidConcern("legal_hold", "the case is not under a legal hold",
                                 "ärendet är inte undantaget från gallring")
        seq, key = _logged(db, opened, actor, HOLD_LIFTED, row.id, reason, now)
        row.lifted_by, row.lifted_at, row.lifted_seq = actor.id, now, seq
        row.lift_reason = key.seal("legal_holds", row.id, "lift_reason", reason)
        opened.session.flush()
        return opened.settled(HoldChanged(ref, row.id, seq))


@operation("legal_holds_read")
def case_holds(db: Database, actor: Actor, ref: str, *, now: datetime | None = None) -> tuple[HoldItem, ...]:
    """The legal holds of case `ref`, newest first, for the roles that place or lift them, with a ground.

    Opening the reasons is a read of personal data: logged in this transaction, by the holds' ids."""
    now = now or utcnow()
    policy = load_retention()
    if actor.role not in policy.place_roles | policy.lift_roles:
        raise NotPermitted("see the legal holds on a case", actor.role)
    with case_write(db, actor, ref, now=now, lock=False) as opened:
        session, case = opened.session, opened.case
        rows = session.scalars(select(LegalHold).where(LegalHold.case_id == case.id)
                               .order_by(LegalHold.placed_at.desc(), LegalHold.id)).all()
        key = case_key(db, case)
        items = tuple(HoldItem(
            r.id, r.placed_by, r.placed_at, key.open("legal_holds", r.id, "reason", r.reason) if key else None,
            r.lifted_by, r.lifted_at,
            key.open("legal_holds", r.id, "lift_reason", r.lift_reason) if key and r.lift_reason else None,
        ) for r in rows)
        if key is not None and rows:
            ground = read_ground(session, actor, case)
            if ground is None:  # the skeleton's ground, checked again here: deny by default
                raise AccessDenied(case.ref, emergency_possible=False)
            log.append(session, AccessEntry(at=now, case_ref=case.ref, actor_id=actor.id, role=actor.role,
                                            action="read", ground=ground, fields=(REASON_FIELD,),
                                            codes={"legal_holds": sorted(r.id for r in rows)}))
        return items


def _active(session: Session, case: Case) -> LegalHold | None:
    return session.scalars(select(LegalHold).where(LegalHold.case_id == case.id,
                                                   LegalHold.lifted_at.is_(None))).first()


def _reason(reason: str, missing_en: str, missing_sv: str) -> str:
    text = check_text("reason", (reason or "").strip())
    if not text or len(text) > MAX_TEXT:
        raise InvalidConcern("reason", missing_en, missing_sv)
    return text


def _logged(db: Database, opened: Opened, actor: Actor, trigger: str, hold_id: str, reason: str, now: datetime
            ) -> tuple[int, CaseKey]:
    """Append the entry beside the steps: the hold's id, the reason's hash. Refused on an erased case.

    The case row is locked (`case_write`) before the log's, as every operation takes them; its version and its
    last entry stay as they were (see the module)."""
    key = case_key(db, opened.case)
    if key is None:
        raise InvalidConcern("case", "the case has been erased; nothing more can be recorded on it",
                             "ärendet är gallrat; inget mer kan registreras i det")
    seq = log_beside(opened.session, key, opened.case, actor, trigger, {"legal_hold": hold_id}, {"reason": reason},
                     now)
    return seq, key
