"""The opening and the ending every case operation shares, written once.

An operation on a case opens the same way, in this order, and each step refuses before anything is written:

1. the actor is an active member of staff in the role the account holds (`NotPermitted`);
2. the idempotency key is held, the first write of the transaction (`cases.casework.idempotency`);
3. the case is loaded and its row locked, so that the decision is taken on facts that cannot change under it
   (`CaseNotFound`);
4. the actor has a ground on the case (`AccessDenied`, as if it were not there: `require_ground`);
5. the case is still at the version the caller saw (`StaleCase`).

It ends the same way: the answer is kept with the change in its transaction (`Opened.settled`), and a
concurrent change that SQLAlchemy notices at a flush or at the commit is `StaleCase` naming the case.
`staff_write` is the opening without a case (registering one), `case_read` the one for reading a case.
The operations themselves (`cases.casework.operations`, `cases.casework.consents` …) state only what differs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.exc import StaleDataError

from cases.actors import require_staff
from cases.casework.grounds import read_ground
from cases.db import Database
from cases.errors import AccessDenied, CaseNotFound, StaleCase
from cases.models import Case, Staff
from policies.access import SYSTEM_ROLE
from workflow import Actor

if TYPE_CHECKING:
    from cases.casework.idempotency import Claim

__all__ = [
    "Acting",
    "Opened",
    "case_read",
    "case_write",
    "load_case",
    "require_ground",
    "settled",
    "staff_write",
    "sweep_write",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Acting:
    """An opened write by a member of staff: its transaction, their account, and the claim it holds."""

    session: Session
    staff: Staff
    claim: Claim | None

    def settled(self, result: T) -> T:
        """`result`, its answer kept with the change when the operation holds a claim."""
        return settled(self.session, self.claim, result)


@dataclass(frozen=True)
class Opened(Acting):
    """An opened operation on a case: `Acting`, and the case, locked when the operation changes it."""

    case: Case


@contextmanager
def staff_write(db: Database, actor: Actor, *, now: datetime, claim: Claim | None = None) -> Iterator[Acting]:
    """A write transaction by `actor`, once they are found acting as their account and `claim` is held."""
    with db.write() as session:
        staff = require_staff(session, actor)
        if claim is not None:
            claim.hold(session, now)
        yield Acting(session, staff, claim)


@contextmanager
def case_write(
    db: Database,
    actor: Actor,
    ref: str,
    *,
    now: datetime,
    claim: Claim | None = None,
    expected_version: int | None = None,
    lock: bool = True,
) -> Iterator[Opened]:
    """A write transaction on case `ref` opened as the module says; committed when the block ends.

    Without `lock`, for a write beside the case (a disclosure, logged) that decides nothing on its row.
    """
    current: int | None = None
    try:
        with staff_write(db, actor, now=now, claim=claim) as acting:
            case = load_case(acting.session, ref, for_update=lock)
            current = case.version
            require_ground(acting.session, actor, case)
            if expected_version is not None and expected_version != case.version:
                raise StaleCase(ref, expected_version, case.version)
            yield Opened(acting.session, acting.staff, claim, case)
    except StaleDataError:
        raise StaleCase(ref, expected_version if expected_version is not None else current, None) from None


@contextmanager
def sweep_write(db: Database, ref: str) -> Iterator[tuple[Session, Case]]:
    """A write transaction on case `ref`, its row locked, for a scheduled sweep that acts with no account signed
    in (no claim, no ground: the job works on every case); a conflict is `StaleCase` as for every operation."""
    try:
        with db.write() as session:
            yield session, load_case(session, ref, for_update=True)
    except StaleDataError:
        raise StaleCase(ref, None, None) from None


@contextmanager
def case_read(db: Database, actor: Actor, ref: str) -> Iterator[Opened]:
    """A read-only transaction on case `ref`, for staff with a ground on it (steps 1, 3 and 4, no lock)."""
    with db.read() as session:
        staff = require_staff(session, actor)
        case = load_case(session, ref)
        require_ground(session, actor, case)
        yield Opened(session, staff, None, case)


def settled(session: Session, claim: Claim | None, result: T) -> T:
    """`result`, its answer stored with the change when the operation was given a claim
    (`cases.casework.idempotency`)."""
    if claim is not None:
        claim.settle(session, result)
    return result


def require_ground(session: Session, actor: Actor, case: Case) -> None:
    """Only staff with a ground on the case move it on (`cases.casework.grounds`); the retention job works on all.

    Emergency access reads a case, it never moves it on. Refused as if the case were not there to see.
    """
    if actor.role != SYSTEM_ROLE and read_ground(session, actor, case) is None:
        raise AccessDenied(case.ref, emergency_possible=False)


def load_case(session: Session, ref: str, *, for_update: bool = False) -> Case:
    """The case and its person; `for_update` locks the row first, so that a write decides on facts that
    cannot change under it (PostgreSQL's READ COMMITTED would otherwise show later commits mid-operation)."""
    query = select(Case).options(joinedload(Case.person, innerjoin=True)).where(Case.ref == ref)
    if for_update:
        query = query.with_for_update(of=Case)
    case = session.scalars(query).first()
    if case is None:
        raise CaseNotFound(ref)
    return case
