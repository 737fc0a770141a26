"""Staff accounts as far as the engine needs them: an id, a role, and whether the account is active."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from cases.accounts import end_all_sessions
from cases.db import Database
from cases.errors import InvalidConcern, NotPermitted
from cases.flowcharts import current_engine
from cases.models import Staff
from cases.text import check_text
from cases.tokens import revoke_all_tokens
from workflow import Actor

__all__ = ["add_staff", "disable_staff", "enable_staff", "list_staff", "set_role"]

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


def add_staff(db: Database, username: str, display_name: str, role: str, *, unit: str | None = None) -> Actor:
    """Create an account; the returned actor is what the operations take."""
    check_text("username", username, name=True)
    check_text("display_name", display_name, name=True)
    if not _USERNAME.match(username):
        raise InvalidConcern("username", "2–64 lower-case letters, digits, '.', '_' or '-'",
                             "2–64 gemener, siffror, '.', '_' eller '-'")
    chart = current_engine().chart
    if role not in chart.roles:
        raise InvalidConcern("role", "unknown role", "okänd roll")
    if role == "partner" and (unit not in chart.vocabularies["recipients"] or unit == "social_services"):
        # a partner's unit is the recipient category whose referral packets they may read
        raise InvalidConcern("unit", "a partner's unit must be a recipient category outside social services",
                             "en partners enhet måste vara en mottagarkategori utanför socialtjänsten")
    with db.write() as session:
        if session.scalars(select(Staff).where(Staff.username == username)).first() is not None:
            raise InvalidConcern("username", "already taken", "upptaget")
        staff = Staff(id=str(uuid.uuid4()), username=username, display_name=display_name, role=role, unit=unit,
                      active=True, created_at=datetime.now(UTC))
        session.add(staff)
        return Actor(staff.id, staff.role)


def list_staff(db: Database) -> list[Staff]:
    with db.read() as session:
        return list(session.scalars(select(Staff).order_by(Staff.username)))


def _check_admin(session, by: Actor | None) -> None:
    """`by` is an active administrator; None is the operator at the server's command line."""
    if by is None:
        return
    staff = session.get(Staff, by.id)
    if staff is None or not staff.active or staff.role != "admin" or by.role != "admin":
        raise NotPermitted("manage accounts", by.role)


def disable_staff(db: Database, username: str, *, by: Actor | None) -> None:
    """Disable an account, sign it out everywhere and revoke its API tokens at once; its history stays."""
    with db.write() as session:
        _check_admin(session, by)
        staff = _existing(session, username)
        if by is not None and staff.id == by.id:
            raise InvalidConcern("username", "you cannot disable your own account",
                                 "du kan inte stänga av ditt eget konto")
        staff.active = False
        end_all_sessions(session, staff.id)
        revoke_all_tokens(session, staff.id, datetime.now(UTC))


def enable_staff(db: Database, username: str, *, by: Actor | None) -> None:
    with db.write() as session:
        _check_admin(session, by)
        _existing(session, username).active = True


def set_role(db: Database, username: str, role: str, *, by: Actor | None, unit: str | None = None) -> None:
    """Give an account another role; its sessions end and its API tokens are revoked, so that the new role
    applies from the next sign-in and no token made under the old role outlives it."""
    chart = current_engine().chart
    if role not in chart.roles or role == "system":
        raise InvalidConcern("role", "unknown role", "okänd roll")
    if role == "partner" and (unit not in chart.vocabularies["recipients"] or unit == "social_services"):
        raise InvalidConcern("unit", "a partner's unit must be a recipient category outside social services",
                             "en partners enhet måste vara en mottagarkategori utanför socialtjänsten")
    with db.write() as session:
        _check_admin(session, by)
        staff = _existing(session, username)
        if by is not None and staff.id == by.id:
            raise InvalidConcern("username", "you cannot change your own role", "du kan inte ändra din egen roll")
        # A partner's unit names whose referral packets they read: it goes when they stop being a partner.
        staff.unit = unit if role == "partner" else (None if staff.role == "partner" else staff.unit)
        staff.role = role
        end_all_sessions(session, staff.id)
        revoke_all_tokens(session, staff.id, datetime.now(UTC))


def _existing(session, username: str) -> Staff:
    staff = session.scalars(select(Staff).where(Staff.username == username)).first()
    if staff is None:
        raise InvalidConcern("username", "no such account", "inget sådant konto")
    return staff
