"""Who is acting, and when: the staff check every operation and every log read opens with.

It lives beneath the operations and the audit logs alike, so that the logs need nothing from the casework
they record (STYLE.md 11).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from sqlalchemy import Connection, bindparam, exists, select
from sqlalchemy.orm import Session

from cases.errors import NotPermitted
from cases.models import Staff
from workflow import Actor

__all__ = ["ACTS_AS", "require_staff", "require_staff_row", "usernames", "utcnow"]


def utcnow() -> datetime:
    return datetime.now(UTC)


def require_staff(session: Session, actor: Actor) -> Staff:
    """The actor must be an active member of staff acting in the role the account holds."""
    return _acts_as(session.get(Staff, actor.id), actor)


_STAFF_ROW = select(Staff.active, Staff.role).where(Staff.id == bindparam("staff_id"))

# `_acts_as` as a condition a read can carry, bound to `staff_id` and `staff_role`: a query that rides on
# it returns nothing unless the actor is an active member of staff in that role.
ACTS_AS = exists().where(Staff.id == bindparam("staff_id"), Staff.active.is_(True),
                         Staff.role == bindparam("staff_role"))


def require_staff_row(connection: Connection, actor: Actor) -> None:
    """`require_staff` for reads on a Core connection that want rows, not objects: one query, no object."""
    _acts_as(connection.execute(_STAFF_ROW, {"staff_id": actor.id}).first(), actor)


class _StaffFacts(Protocol):
    """What `_acts_as` reads: a `Staff` object or a row of `_STAFF_ROW`."""

    @property
    def active(self) -> bool: ...

    @property
    def role(self) -> str: ...


S = TypeVar("S", bound=_StaffFacts)


def _acts_as(staff: S | None, actor: Actor) -> S:
    if staff is None or not staff.active or staff.role != actor.role:
        raise NotPermitted("act as this account", actor.role)
    return staff


def usernames(session: Session, ids: Iterable[str | None]) -> dict[str, str]:
    """The usernames of these staff ids, as logs and reviews show who acted (ids stay in the entries)."""
    wanted = sorted(i for i in ids if i)
    if not wanted:
        return {}
    rows = session.execute(select(Staff.id, Staff.username).where(Staff.id.in_(wanted)))
    return {row.id: row.username for row in rows}
