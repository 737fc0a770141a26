"""Set and clear a flag on a case, and read a case's flags with their routines (`policies/flags.toml`).

A flag changes the route: the engine warns at the steps it affects (`workflow.flags`, fed by
`cases.casework.operations.case_facts`). So setting or clearing one is a change to the case, as a consent is:
one transaction that opens as every case operation does (`cases.casework.skeleton`: the account, the
idempotency key, the locked case, a ground on it, the version the caller saw), moves the case's version on, and
appends an entry beside the flowchart's steps to the transition log: the flag's code and a salted hash of the
reason, never its text, which is sealed with the case key. Only the roles `flags.toml` names set or clear a
flag (deny by default); only staff with a ground on the case read the flags, and reading the reasons is an
access-log entry. Reporters and partners never see a flag: it is sensitive data about the case.
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
from cases.casework.operations import bump, case_facts, case_key, log_beside
from cases.casework.skeleton import Opened, case_read, case_write
from cases.crypto.vault import CaseKey
from cases.db import Database
from cases.errors import AccessDenied, InvalidConcern, NotPermitted
from cases.events import operation
from cases.flowcharts import engine_for_version
from cases.models import Case, CaseFlag
from cases.text import check_text
from policies.flags import FLAG_CLEARED, FLAG_READING_ROLES, FLAG_SET, Flag, load_flags
from workflow import AccessEntry, Actor, Refusal
from workflow.deadlines import local_date
from workflow.fields import MAX_TEXT
from workflow.flags import recording_consent_warnings

if TYPE_CHECKING:
    from cases.casework.idempotency import Claim

__all__ = ["REASON_FIELD", "CaseFlags", "FlagChanged", "FlagItem", "active_flags", "case_flags", "clear_flag",
           "consent_warnings", "flags_on_case", "set_flag"]

REASON_FIELD = "flag_reason"  # what the access log names as read when the reasons are opened


@dataclass(frozen=True)
class FlagChanged:
    """A flag set or cleared, as committed: the case (its state unchanged), its new version, the log entry."""

    ref: str
    flag: str
    state: str
    version: int
    seq: int


@dataclass(frozen=True)
class FlagItem:
    """One flag as staff with a ground see it: its code, who set it and when, and why (None once erased)."""

    id: str
    flag: str
    set_by: str
    set_at: datetime
    reason: str | None
    cleared_by: str | None = None
    cleared_at: datetime | None = None
    clear_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.cleared_at is None

    def __repr__(self) -> str:  # the reasons are personal: never print them
        return f"FlagItem(flag={self.flag!r}, active={self.active})"


@dataclass(frozen=True)
class CaseFlags:
    """A case's flags, those on it first, and the case's version (for the next set or clear)."""

    ref: str
    version: int
    items: tuple[FlagItem, ...]

    @property
    def active(self) -> tuple[FlagItem, ...]:
        return tuple(i for i in self.items if i.active)


def active_flags(session: Session, case: Case) -> frozenset[str]:
    """The codes of the flags on `case` now: no personal data is opened, so this is no read for the access log."""
    return frozenset(session.scalars(select(CaseFlag.flag).where(
        CaseFlag.case_id == case.id, CaseFlag.cleared_at.is_(None))))


def flags_on_case(db: Database, actor: Actor, ref: str) -> frozenset[str]:
    """The codes of the flags on case `ref` now, for staff with a ground on it (a decision page shows their
    routines); nothing is opened, so nothing is logged. Refused to every other role, as `case_flags` is."""
    if actor.role not in FLAG_READING_ROLES:
        raise NotPermitted("see the flags on a case", actor.role)
    with case_read(db, actor, ref) as opened:
        return active_flags(opened.session, opened.case)


def consent_warnings(db: Database, actor: Actor, ref: str, *, now: datetime | None = None) -> tuple[Refusal, ...]:
    """The warnings the form recording a consent on case `ref` shows (`workflow.flags`), for staff with a ground.

    The birth date is opened for the decision only (child or adult today), as `case_facts` does: not shown, so
    no read for the access log."""
    now = now or utcnow()
    if actor.role not in FLAG_READING_ROLES:
        raise NotPermitted("see the flags on a case", actor.role)
    with case_read(db, actor, ref) as opened:
        session, case = opened.session, opened.case
        if not active_flags(session, case):
            return ()
        facts, _ = case_facts(session, case, case_key(db, case))
        timezone = engine_for_version(session, case.flowchart_version).chart.timezone
        return recording_consent_warnings(facts, local_date(now, timezone))


@operation("flag_set")
def set_flag(db: Database, actor: Actor, ref: str, flag: str, reason: str, *, expected_version: int | None = None,
             now: datetime | None = None, claim: Claim | None = None) -> FlagChanged:
    """Set `flag` on case `ref` with a reason, or raise without writing anything."""
    now = now or utcnow()
    policy = _flag(flag)
    if actor.role not in policy.set_roles:
        raise NotPermitted("set this flag", actor.role)
    reason = _reason(reason, "say why the case is flagged", "ange varför ärendet flaggas")
    with case_write(db, actor, ref, now=now, claim=claim, expected_version=expected_version) as opened:
        if flag in active_flags(opened.session, opened.case):
            raise InvalidConcern("flag", "the case already has this flag", "ärendet har redan denna flagga")
        row_id = str(uuid.uuid4())
        seq, key = _logged(db, opened, actor, FLAG_SET, flag, reason, now)
        opened.session.add(CaseFlag(id=row_id, case_id=opened.case.id, flag=flag, set_by=actor.id, set_at=now,
                                    set_seq=seq, reason=key.seal("case_flags", row_id, "reason", reason)))
        opened.session.flush()
        return opened.settled(FlagChanged(ref, flag, opened.case.state, opened.case.version, seq))


@operation("flag_cleared")
def clear_flag(db: Database, actor: Actor, ref: str, flag: str, reason: str, *, expected_version: int | None = None,
               now: datetime | None = None, claim: Claim | None = None) -> FlagChanged:
    """Clear `flag` from case `ref` with a reason; the record of it stays. Raise without writing anything."""
    now = now or utcnow()
    policy = _flag(flag)
    if actor.role not in policy.clear_roles:
        raise NotPermitted("clear this flag", actor.role)
    reason = _reason(reason, "say why the flag is cleared", "ange varför flaggan tas bort")
    with case_write(db, actor, ref, now=now, claim=claim, expected_version=expected_version) as opened:
        row = opened.session.scalars(select(CaseFlag).where(
            CaseFlag.case_id == opened.case.id, CaseFlag.flag == flag, CaseFlag.cleared_at.is_(None))).first()
        if row is None:
            raise InvalidConcern("flag", "the case does not have this flag", "ärendet har inte denna flagga")
        seq, key = _logged(db, opened, actor, FLAG_CLEARED, flag, reason, now)
        row.cleared_by, row.cleared_at, row.clear_seq = actor.id, now, seq
        row.clear_reason = key.seal("case_flags", row.id, "clear_reason", reason)
        opened.session.flush()
        return opened.settled(FlagChanged(ref, flag, opened.case.state, opened.case.version, seq))


@operation("flags_read")
def case_flags(db: Database, actor: Actor, ref: str, *, now: datetime | None = None) -> CaseFlags:
    """The flags of case `ref`, those on it first, newest first; refused without a ground on the case.

    Opening the reasons is a read of personal data: logged in this transaction, by the flags' ids.
    """
    now = now or utcnow()
    if actor.role not in FLAG_READING_ROLES:
        raise NotPermitted("see the flags on a case", actor.role)
    with case_write(db, actor, ref, now=now, lock=False) as opened:
        session, case = opened.session, opened.case
        rows = session.scalars(select(CaseFlag).where(CaseFlag.case_id == case.id)
                               .order_by(CaseFlag.set_at.desc(), CaseFlag.id)).all()
        key = case_key(db, case)
        items = sorted((FlagItem(
            r.id, r.flag, r.set_by, r.set_at, key.open("case_flags", r.id, "reason", r.reason) if key else None,
            r.cleared_by, r.cleared_at,
            key.open("case_flags", r.id, "clear_reason", r.clear_reason) if key and r.clear_reason else None,
        ) for r in rows), key=lambda i: not i.active)
        if key is not None and rows:
            ground = read_ground(session, actor, case)
            if ground is None:  # the skeleton's ground, checked again here: deny by default
                raise AccessDenied(case.ref, emergency_possible=False)
            log.append(session, AccessEntry(at=now, case_ref=case.ref, actor_id=actor.id, role=actor.role,
                                            action="read", ground=ground, fields=(REASON_FIELD,),
                                            codes={"flags": sorted(r.id for r in rows)}))
        return CaseFlags(case.ref, case.version, tuple(items))


def _flag(code: str) -> Flag:
    flags = load_flags()
    if code not in flags:
        raise InvalidConcern("flag", "not a flag of flags.toml", "ingen flagga i flags.toml")
    return flags[code]


def _reason(reason: str, missing_en: str, missing_sv: str) -> str:
    text = check_text("reason", (reason or "").strip())
    if not text or len(text) > MAX_TEXT:
        raise InvalidConcern("reason", missing_en, missing_sv)
    return text


def _logged(db: Database, opened: Opened, actor: Actor, trigger: str, flag: str, reason: str, now: datetime
            ) -> tuple[int, CaseKey]:
    """Move the case's version on and append the entry beside the steps: the flag's code, the reason's hash.

    Refused on an erased case (its key is destroyed); the case's key comes back to seal the reason with."""
    session, case = opened.session, opened.case
    key = case_key(db, case)
    if key is None:
        raise InvalidConcern("case", "the case has been erased; nothing more can be recorded on it",
                             "ärendet är gallrat; inget mer kan registreras i det")
    bump(session, case, now)  # the case row first: its lock is taken before the log's, always in that order
    return log_beside(session, key, case, actor, trigger, {"flag": flag}, {"reason": reason}, now), key
