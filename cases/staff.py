"""Staff accounts as far as the engine needs them: an id, a role, and whether the account is active."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from cases.db import Database
from cases.errors import InvalidConcern
from cases.flowcharts import current_engine
from cases.models import Staff
from workflow import Actor

__all__ = ["add_staff", "list_staff"]

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


def add_staff(db: Database, username: str, display_name: str, role: str, *, unit: str | None = None) -> Actor:
    """Create an account; the returned actor is what the operations take."""
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
