"""The administration log's entries, each written in the transaction of the account change it records.

Who (the administrator's staff id, or `OPERATOR` for the server's command line), whom (the account's staff
id), what (one of `ACTIONS`, with the roles involved in `codes`) and when. Never a name, a username or a
password: the log is read by auditors who need to know what was done to which account, not who holds it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from cases.audit import log
from cases.errors import NotPermitted
from cases.models import Staff
from workflow import Actor, AdministrationEntry

__all__ = ["ACTIONS", "OPERATOR", "record", "require_admin"]

OPERATOR = "operator"  # `by=None`: the operator at the server's command line
ACTIONS = frozenset({
    "create",  # an account was added (codes: role, unit; pending_role when its role waits for approval)
    "set_role",  # a role took effect at once (codes: from, to, unit)
    "request_role",  # a role that reads case data was asked for (codes: grant, from, to, unit)
    "approve_role",  # a second administrator approved it and it took effect (codes: grant, from, to, unit)
    "refuse_role",  # it was refused (codes: grant, to; removed when a new account went with it)
    "withdraw_role",  # a later role change replaced the request (codes: grant, to)
    "disable",
    "enable",
    "reset_password",  # a password was set by an administrator (codes: first, for an account's first one)
    # register extracts (cases.subjects): the target is the request's id, never the person; codes are counts
    "extract_request",  # registered and screened (codes: cases, held_back)
    "extract_release",  # a decision maker released it (codes: held_back)
    "extract_refuse",  # a decision maker refused release, appealable (codes: reason)
    "extract_deliver",  # the released extract was made as PDF and handed over (codes: cases)
    "set_email",  # the address notifications are mailed to was set or removed (codes: removed; never the address)
})


def record(session: Session, by: Actor | None, target_id: str, action: str, now: datetime, **codes) -> None:
    """Append one entry to the administration log inside `session`'s transaction; None codes are left out."""
    if action not in ACTIONS:
        raise ValueError(f"not an administration log action: {action!r}")
    log.append(session, AdministrationEntry(at=now, actor_id=OPERATOR if by is None else by.id,
                                            target_id=target_id, action=action,
                                            codes={k: v for k, v in codes.items() if v is not None}))


def require_admin(session: Session, by: Actor | None) -> None:
    """`by` is an active administrator acting as one; None is the operator at the server's command line."""
    if by is None:
        return
    staff = session.get(Staff, by.id)
    if staff is None or not staff.active or staff.role != "admin" or by.role != "admin":
        raise NotPermitted("manage accounts", by.role)
