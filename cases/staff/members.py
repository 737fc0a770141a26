"""Staff accounts as far as the engine needs them: an id, a role, and whether the account is active.

Every change here is written to the administration log in its own transaction (`cases.audit.trail`), by the
administrator `by` or, for `by=None`, the operator at the server's command line. A role that can read case
data (or the administrator's role) given in the web waits for a second administrator (`cases.staff.roles`). Nobody
changes their own role or disables themselves, and the system account is nobody's to change.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.audit.trail import record, require_admin
from cases.db import Database
from cases.errors import InvalidConcern, NotPermitted, RecordNotFound
from cases.flowcharts import current_engine
from cases.models import Staff
from cases.staff.accounts import end_all_sessions
from cases.staff.roles import (
    APPROVAL_ROLES,
    SYSTEM_ROLE,
    apply_role,
    check_not_system,
    has_pending_new_account,
    request_grant,
    withdraw_pending,
)
from cases.staff.tokens import revoke_all_tokens
from cases.text import check_text
from workflow import Actor

__all__ = ["add_staff", "check_new_staff", "create_staff", "disable_staff", "enable_staff", "list_staff", "set_role",
           "terminal_actor"]

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


def check_new_staff(username: str, role: str, unit: str | None) -> None:
    """The parts of a new account that need no database: the username's form, the role, a partner's unit."""
    check_text("username", username, name=True)
    if not _USERNAME.match(username):
        raise InvalidConcern("username", "2–64 lower-case letters, digits, '.', '_' or '-'",
                             "2–64 gemener, siffror, '.', '_' eller '-'")
    chart = current_engine().chart
    if role not in chart.roles:
        raise InvalidConcern("role", "unknown role", "okänd roll")
    _check_unit(role, unit)


def _check_unit(role: str, unit: str | None) -> None:
    chart = current_engine().chart
    if role == "partner" and (unit not in chart.vocabularies["recipients"] or unit == "social_services"):
        # a partner's unit is the recipient category whose referral packets they may read
        raise InvalidConcern("unit", "a partner's unit must be a recipient category outside social services",
                             "en partners enhet måste vara en mottagarkategori utanför socialtjänsten")


def create_staff(session: Session, by: Actor | None, username: str, display_name: str, role: str,
                 unit: str | None, now: datetime, *, active: bool = True, pending_role: str | None = None,
                 email: str | None = None) -> Staff:
    """Insert a checked account (`email` checked by the caller) and log its creation, in the caller's transaction."""
    check_text("display_name", display_name, name=True)
    if session.scalars(select(Staff).where(Staff.username == username)).first() is not None:
        raise InvalidConcern("username", "already taken", "upptaget")
    staff = Staff(id=str(uuid.uuid4()), username=username, display_name=display_name, role=role, unit=unit,
                  active=active, created_at=now, email=email)
    session.add(staff)
    record(session, by, staff.id, "create", now, role=role, unit=unit, pending_role=pending_role)
    return staff


def add_staff(db: Database, username: str, display_name: str, role: str, *, unit: str | None = None,
              now: datetime | None = None, email: str | None = None) -> Actor:
    """Create an account as the operator (the command line, `vidoro init`, tests); the returned actor is what
    the operations take. The only way to the system role: `vidoro init` makes the system account here."""
    check_new_staff(username, role, unit)
    with db.write() as session:
        staff = create_staff(session, None, username, display_name, role, unit, now or datetime.now(UTC),
                             email=email)
        return Actor(staff.id, staff.role)


def list_staff(db: Database) -> list[Staff]:
    with db.read() as session:
        return list(session.scalars(select(Staff).order_by(Staff.username)))


def disable_staff(db: Database, username: str, *, by: Actor | None, now: datetime | None = None) -> None:
    """Disable an account, sign it out everywhere and revoke its API tokens at once; its history stays."""
    now = now or datetime.now(UTC)
    with db.write() as session:
        require_admin(session, by)
        staff = _existing(session, username)
        check_not_system(staff)  # the retention job acts as it
        if by is not None and staff.id == by.id:
            raise InvalidConcern("username", "you cannot disable your own account",
                                 "du kan inte stänga av ditt eget konto")
        staff.active = False
        end_all_sessions(session, staff.id)
        revoke_all_tokens(session, staff.id, now)
        record(session, by, staff.id, "disable", now)


def enable_staff(db: Database, username: str, *, by: Actor | None, now: datetime | None = None) -> None:
    """Enable a disabled account; a new account whose role waits for approval is enabled by the approval."""
    now = now or datetime.now(UTC)
    with db.write() as session:
        require_admin(session, by)
        staff = _existing(session, username)
        check_not_system(staff)
        if has_pending_new_account(session, staff):
            raise InvalidConcern("username", "the account waits for a second administrator to approve its role",
                                 "kontot väntar på att en andra administratör godkänner dess roll")
        staff.active = True
        record(session, by, staff.id, "enable", now)


def set_role(db: Database, username: str, role: str, *, by: Actor | None, unit: str | None = None,
             now: datetime | None = None) -> str | None:
    """Give an account another role; returns None when it took effect, or the id of the grant that waits.

    A role that reads case data or administers (`cases.staff.roles.APPROVAL_ROLES`), given by an administrator (not
    the operator) and not the one the account has, waits for a second administrator. Any pending request for
    the account is withdrawn.
    """
    now = now or datetime.now(UTC)
    if role not in current_engine().chart.roles or role == SYSTEM_ROLE:
        raise InvalidConcern("role", "unknown role", "okänd roll")
    _check_unit(role, unit)
    unit = unit if role == "partner" else None
    with db.write() as session:
        require_admin(session, by)
        staff = _existing(session, username)
        check_not_system(staff)
        if by is not None and staff.id == by.id:
            raise InvalidConcern("username", "you cannot change your own role", "du kan inte ändra din egen roll")
        new_account = withdraw_pending(session, by, staff, now)  # its role column was never approved
        if by is not None and role in APPROVAL_ROLES and (role != staff.role or new_account):
            return request_grant(session, by, staff, role, unit, now, new_account=new_account)
        before = staff.role
        apply_role(session, staff, role, unit, now)
        record(session, by, staff.id, "set_role", now, to=role, unit=unit, **{"from": before})
        return None


def _existing(session: Session, username: str) -> Staff:
    staff = session.scalars(select(Staff).where(Staff.username == username)).first()
    if staff is None:
        raise RecordNotFound("account", "no such account", "inget sådant konto")
    return staff


def terminal_actor(db: Database, username: str) -> Actor:
    """The member of staff a command at the server's terminal acts as (`vidoro retention hold`, `vidoro subject`):
    an active account, by username, in its role; the operation then checks that role and its ground as for
    anyone else. `NotPermitted` for anything else, the same answer whether the account exists or not."""
    with db.read() as session:
        staff = session.scalars(select(Staff).where(Staff.username == username.strip().lower())).first()
        if staff is None or not staff.active:
            raise NotPermitted("act as this account", "unknown")
        return Actor(staff.id, staff.role)
