"""Role changes: applied at once, or asked for by one administrator and approved by a second.

A role that can read case data (`policies.access.CASE_READING_ROLES`), or the administrator's role that approves
them (`APPROVAL_ROLES`), given by an administrator in the web does not take effect when asked for: it becomes
a pending `RoleGrant`, and a second, different, active administrator approves it (then it takes effect) or any
administrator refuses it. Nobody approves their own request or a grant to their own account. A new account
asked for with such a role is created disabled and enabled by the approval; refusing it removes the account,
which never could sign in. A later role change of the same account withdraws a pending request. The operator
at the server's command line (`by=None`) gives roles directly: the first accounts of an instance are made
there. Every step is in the administration log.

The `system` account (the retention job) is nobody's to manage: no role, password, sign-in or switch.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cases.audit.trail import OPERATOR, record, require_admin
from cases.db import Database
from cases.errors import InvalidConcern, RecordNotFound
from cases.models import RoleGrant, Staff
from cases.staff.accounts import end_all_sessions
from cases.staff.tokens import revoke_all_tokens
from policies.access import CASE_READING_ROLES, SYSTEM_ROLE
from workflow import Actor

__all__ = ["APPROVAL_ROLES", "SYSTEM_ROLE", "PendingGrant", "approve_grant", "check_not_system", "pending_grants",
           "refuse_grant"]

# The roles a second administrator approves: those that read case data, and the administrator's own, without
# which one administrator could make a second administrator account of their own and approve with it.
APPROVAL_ROLES = CASE_READING_ROLES | {"admin"}


@dataclass(frozen=True)
class PendingGrant:
    """A role waiting for a second administrator, as the administrators' page shows it."""

    id: str
    username: str
    display_name: str
    current_role: str
    role: str
    unit: str | None
    new_account: bool
    requested_by: str  # a username
    requested_at: datetime
    own: bool  # asked for by the administrator looking: they cannot approve it


def check_not_system(staff: Staff) -> None:
    """Refuse any change to the system account: it runs the retention job and is never anyone's to use."""
    if staff.role == SYSTEM_ROLE:
        raise InvalidConcern("username", "the system account cannot be changed",
                             "systemkontot kan inte ändras")


def apply_role(session: Session, staff: Staff, role: str, unit: str | None, now: datetime) -> None:
    """Give the account `role` now: its sessions end and its API tokens are revoked, so that the new role
    applies from the next sign-in and no token made under the old role outlives it."""
    # A partner's unit names whose referral packets they read: it goes when they stop being a partner.
    staff.unit = unit if role == "partner" else (None if staff.role == "partner" else staff.unit)
    staff.role = role
    end_all_sessions(session, staff.id)
    revoke_all_tokens(session, staff.id, now)


def request_grant(session: Session, by: Actor, staff: Staff, role: str, unit: str | None, now: datetime, *,
                  new_account: bool) -> str:
    """Ask for `role` for the account, to be approved by another administrator; returns the grant's id."""
    grant = RoleGrant(id=str(uuid.uuid4()), staff_id=staff.id, role=role, unit=unit, new_account=new_account,
                      requested_by=by.id, requested_at=now, status="pending")
    session.add(grant)
    record(session, by, staff.id, "request_role", now, grant=grant.id, to=role, unit=unit,
           **{"from": None if new_account else staff.role})
    return grant.id


def withdraw_pending(session: Session, by: Actor | None, staff: Staff, now: datetime) -> bool:
    """Withdraw the account's pending grant, if any; returns whether it was a new account's."""
    new_account = False
    for grant in session.scalars(select(RoleGrant).where(RoleGrant.staff_id == staff.id,
                                                         RoleGrant.status == "pending")):
        grant.status, grant.decided_by, grant.decided_at = "withdrawn", _who(by), now
        new_account = new_account or grant.new_account
        record(session, by, staff.id, "withdraw_role", now, grant=grant.id, to=grant.role)
    return new_account


def has_pending_new_account(session: Session, staff: Staff) -> bool:
    return session.scalars(select(RoleGrant.id).where(RoleGrant.staff_id == staff.id, RoleGrant.status == "pending",
                                                      RoleGrant.new_account.is_(True))).first() is not None


def pending_grants(db: Database, by: Actor | None) -> list[PendingGrant]:
    """Every grant waiting for a decision, oldest first, with who asked for it."""
    with db.read() as session:
        require_admin(session, by)
        rows = session.execute(select(RoleGrant, Staff).join(Staff, Staff.id == RoleGrant.staff_id)
                               .where(RoleGrant.status == "pending")
                               .order_by(RoleGrant.requested_at, RoleGrant.id)).all()
        askers = dict(session.execute(select(Staff.id, Staff.username).where(
            Staff.id.in_({grant.requested_by for grant, _ in rows}))).all())
    return [PendingGrant(grant.id, staff.username, staff.display_name, staff.role, grant.role, grant.unit,
                         grant.new_account, askers.get(grant.requested_by, grant.requested_by), grant.requested_at,
                         own=by is not None and grant.requested_by == by.id) for grant, staff in rows]


def approve_grant(db: Database, by: Actor | None, grant_id: str, *, now: datetime | None = None) -> None:
    """Approve a pending grant as a second administrator: the role takes effect (a new account is enabled)."""
    now = now or datetime.now(UTC)
    with db.write() as session:
        require_admin(session, by)
        grant, staff = _pending(session, grant_id)
        if by is not None and grant.requested_by == by.id:
            raise InvalidConcern("grant", "another administrator must approve what you asked for",
                                 "en annan administratör måste godkänna det du har begärt")
        if by is not None and staff.id == by.id:
            raise InvalidConcern("grant", "you cannot approve a role for your own account",
                                 "du kan inte godkänna en roll för ditt eget konto")
        check_not_system(staff)
        before = staff.role
        apply_role(session, staff, grant.role, grant.unit, now)
        if grant.new_account:
            staff.active = True
        grant.status, grant.decided_by, grant.decided_at = "approved", _who(by), now
        record(session, by, staff.id, "approve_role", now, grant=grant.id, to=grant.role, unit=grant.unit,
               **{"from": None if grant.new_account else before})


def refuse_grant(db: Database, by: Actor | None, grant_id: str, *, now: datetime | None = None) -> None:
    """Refuse a pending grant (any administrator, the one who asked included: refusing gives nothing).

    The account keeps the role it has; a new account that was waiting for its role is removed.
    """
    now = now or datetime.now(UTC)
    with db.write() as session:
        require_admin(session, by)
        grant, staff = _pending(session, grant_id)
        grant.status, grant.decided_by, grant.decided_at = "refused", _who(by), now
        record(session, by, staff.id, "refuse_role", now, grant=grant.id, to=grant.role,
               removed=True if grant.new_account else None)
        if grant.new_account:
            session.execute(delete(Staff).where(Staff.id == staff.id, Staff.active.is_(False)))


def _pending(session: Session, grant_id: str) -> tuple[RoleGrant, Staff]:
    grant = session.get(RoleGrant, grant_id, with_for_update=True)
    staff = None if grant is None else session.get(Staff, grant.staff_id)
    if grant is None or staff is None:
        raise RecordNotFound("role request", "no such request", "ingen sådan begäran")
    if grant.status != "pending":  # decided or withdrawn: a refusal on the form, as before
        raise InvalidConcern("grant", "no such request is waiting", "ingen sådan begäran väntar")
    return grant, staff


def _who(by: Actor | None) -> str:
    return OPERATOR if by is None else by.id
