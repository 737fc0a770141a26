"""Accounts as an administrator manages them: the list, a new account with its first password, a new password.

Deny by default: `by` is an active administrator, or None for the operator at the server's command line
(`vidoro users`), as in `cases.staff.members`, whose disable, enable and role change the pages and the command use
directly. Each change is in the administration log (`cases.audit.trail`). A new account given a role that can read
case data (or the administrator's role) by an administrator is created disabled, waiting for a second
administrator (`cases.staff.roles`); only the operator sets another administrator's password. The
`system` role (the retention job) is never given from here, the system account never gets a password, and
nothing here reads a case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.audit.trail import record, require_admin
from cases.db import Database
from cases.errors import InvalidConcern, RecordNotFound
from cases.flowcharts import current_engine
from cases.models import Staff
from cases.staff.accounts import check_password_rules, set_password
from cases.staff.members import check_new_staff, create_staff
from cases.staff.roles import APPROVAL_ROLES, check_not_system, request_grant
from policies.access import SYSTEM_ROLE
from workflow import Actor

__all__ = ["AccountRow", "account_roles", "check_email", "create_account", "find_account", "list_accounts",
           "partner_units", "reset_password", "set_email"]

MAX_NAME = 200  # the column's length
MAX_EMAIL = 254  # RFC 5321's longest path, and the column's length
_EMAIL = re.compile(r"[^@\s<>,;\"]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
NOT_FOR_PEOPLE = frozenset({SYSTEM_ROLE})


@dataclass(frozen=True)
class AccountRow:
    username: str
    display_name: str
    role: str
    unit: str | None
    active: bool
    has_password: bool  # False: cannot sign in with a password until one is set
    email: str | None = None  # where notifications are mailed (`cases.notifications`); None: not mailed


def account_roles() -> tuple[str, ...]:
    """The roles an account may hold, in the flowchart's order (never `system`)."""
    return tuple(role for role in current_engine().chart.roles if role not in NOT_FOR_PEOPLE)


def partner_units() -> tuple[str, ...]:
    """A partner's unit: a recipient category outside social services (whose referral packets they read)."""
    return tuple(r for r in current_engine().chart.vocabularies["recipients"] if r != "social_services")


_require_admin = require_admin


def list_accounts(db: Database, by: Actor | None) -> list[AccountRow]:
    """Every account, by username: who they are and may be, never what they did."""
    with db.read() as session:
        _require_admin(session, by)
        return [_row(s) for s in session.scalars(select(Staff).order_by(Staff.username))]


def find_account(db: Database, by: Actor | None, username: str) -> AccountRow | None:
    """One account by username, or None."""
    with db.read() as session:
        _require_admin(session, by)
        found = session.scalars(select(Staff).where(Staff.username == username)).first()
        return None if found is None else _row(found)


def _row(s: Staff) -> AccountRow:
    return AccountRow(s.username, s.display_name, s.role, s.unit, s.active, s.password_hash is not None, s.email)


def create_account(db: Database, by: Actor | None, username: str, display_name: str, role: str, *,
                   unit: str | None = None, password: str | None = None, now: datetime | None = None,
                   email: str | None = None) -> Actor:
    """Add an account and (unless `password` is None) its first password; every part is checked first.

    The password's rules are checked before the account is created, so a refused password leaves nothing.
    An administrator's new account with a role of `cases.staff.roles.APPROVAL_ROLES` is created disabled, its role
    waiting for a second administrator; the returned actor is then not yet usable.
    """
    now = now or datetime.now(UTC)
    with db.read() as session:
        _require_admin(session, by)
    username, display_name = username.strip().lower(), " ".join(display_name.split())
    if not display_name:
        raise InvalidConcern("display_name", "enter the person's name", "ange personens namn")
    if len(display_name) > MAX_NAME:
        raise InvalidConcern("display_name", f"at most {MAX_NAME} characters", f"högst {MAX_NAME} tecken")
    if role not in account_roles():
        raise InvalidConcern("role", "unknown role", "okänd roll")
    if role != "partner" and unit:
        raise InvalidConcern("unit", "only partners have a unit here", "bara partner har en enhet här")
    check_new_staff(username, role, unit or None)
    email = check_email(email)
    if password is not None:
        check_password_rules(password)
    waits = by is not None and role in APPROVAL_ROLES
    with db.write() as session:
        _require_admin(session, by)
        staff = create_staff(session, by, username, display_name, role, unit or None, now, active=not waits,
                             pending_role=role if waits else None, email=email)
        if waits and by is not None:  # `waits` holds only with `by`
            session.flush()
            request_grant(session, by, staff, role, unit or None, now, new_account=True)
        actor = Actor(staff.id, staff.role)
    if password is not None:
        set_password(db, username, password, also=_logged(by, now, first=True), now=now)
    return actor


def reset_password(db: Database, by: Actor | None, username: str, password: str, *,
                   now: datetime | None = None) -> None:
    """Give an account a new password; its sessions end everywhere (`cases.staff.accounts.set_password`)."""
    with db.read() as session:
        _require_admin(session, by)
    now = now or datetime.now(UTC)
    set_password(db, username, password, also=_logged(by, now), now=now)


def check_email(email: str | None) -> str | None:
    """An address notifications can be mailed to, or None for none (an empty one is none)."""
    email = (email or "").strip()
    if not email:
        return None
    if len(email) > MAX_EMAIL or not _EMAIL.fullmatch(email):
        raise InvalidConcern("email", "enter an e-mail address such as name@example.org",
                             "ange en e-postadress som namn@example.org")
    return email


def set_email(db: Database, by: Actor | None, username: str, email: str | None, *,
              now: datetime | None = None) -> None:
    """Set (or, with None or "", remove) the address an account's notifications are mailed to; logged
    without the address. Mails already waiting go to the address the account has when they are sent."""
    email = check_email(email)
    now = now or datetime.now(UTC)
    with db.write() as session:
        _require_admin(session, by)
        staff = session.scalars(select(Staff).where(Staff.username == username.strip().lower())).first()
        if staff is None:
            raise RecordNotFound("account", f"no account {username[:64]!r}", f"inget konto {username[:64]!r}")
        check_not_system(staff)
        staff.email = email
        record(session, by, staff.id, "set_email", now, removed=True if email is None else None)


def _logged(by: Actor | None, now: datetime, *, first: bool = False):
    """The checks and the log entry of a password set by an administrator, in the transaction that sets it."""

    def check_and_record(session: Session, staff: Staff) -> None:
        _require_admin(session, by)
        check_not_system(staff)  # it never signs in
        if by is not None and staff.role == "admin" and staff.id != by.id and not first:
            # Else one administrator could take over another's account and approve their own requests with it.
            raise InvalidConcern("username", "only the operator at the server sets another administrator's password",
                                 "bara driftansvarig vid servern kan ange en annan administratörs lösenord")
        record(session, by, staff.id, "reset_password", now, first=True if first else None)

    return check_and_record
