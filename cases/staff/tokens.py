"""Personal API tokens: made by a member of staff for themselves, shown once, kept only as a hash.

A token is `vdr_` and 43 random URL-safe characters (256 bits). The database holds its SHA-256, so a copy
of the table authenticates nobody. A token expires (90 days unless asked otherwise, at most a year), can be
revoked by its owner, and is revoked with every other token of the account when the account is disabled,
its role changes or its password is reset. Making one asks for the password again. It carries no scopes of
its own: it acts as its owner, in the role the account holds now.

A refused token never says why (unknown, malformed, expired, revoked, disabled account): one answer for all,
as for a refused password.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from cases.actors import require_staff
from cases.db import Database
from cases.errors import InvalidConcern, NotPermitted, RecordNotFound, TokenRefused
from cases.events import operation
from cases.models import ApiToken, Staff
from cases.staff.accounts import Account, password_matches
from cases.staff.ratelimit import count_failed_recheck, password_rechecks_left
from policies.access import SYSTEM_ROLE
from workflow import Actor

__all__ = [
    "DEFAULT_DAYS",
    "MAX_ACTIVE",
    "MAX_DAYS",
    "PREFIX",
    "NewToken",
    "TokenInfo",
    "authenticate_token",
    "create_token",
    "identify_token",
    "list_tokens",
    "revoke_all_tokens",
    "revoke_token",
]

PREFIX = "vdr_"
DEFAULT_DAYS = 90
MAX_DAYS = 365
MAX_ACTIVE = 20
MAX_NAME = 100
_LENGTH = len(PREFIX) + len(secrets.token_urlsafe(32))  # 4 + 43: what `create_token` hands out


@dataclass(frozen=True)
class NewToken:
    """A token just made: `secret` is shown to its owner this once and is never stored."""

    id: str
    name: str
    secret: str = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True)
class TokenInfo:
    """A token as its owner sees it in the list: never the secret, which nobody has any more."""

    id: str
    name: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


def create_token(db: Database, actor: Actor, name: str, *, password: str, days: int = DEFAULT_DAYS,
                 now: datetime | None = None) -> NewToken:
    """Make a token for the actor's own account, valid for `days` days (1 to 365), on its password.

    A token outlives the session that made it, so a stolen session (or an unlocked screen) must not be
    enough: the person gives their password again, and a wrong one makes nothing."""
    now = now or datetime.now(UTC)
    name = name.strip() if isinstance(name, str) else ""
    if not 1 <= len(name) <= MAX_NAME:
        raise InvalidConcern("name", f"1–{MAX_NAME} characters", f"1–{MAX_NAME} tecken")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise InvalidConcern("days", f"a whole number of days from 1 to {MAX_DAYS}",
                             f"ett helt antal dagar från 1 till {MAX_DAYS}")
    with db.read() as session:
        password_hash = _holder(session, actor).password_hash
    if not password_rechecks_left(db, actor.id, now):
        raise InvalidConcern("password", "too many wrong passwords; try again in 15 minutes",
                             "för många felaktiga lösenord; försök igen om 15 minuter")
    if not password_matches(password_hash, password):  # checked outside the write: Argon2id takes a while
        count_failed_recheck(db, actor.id, now)
        raise InvalidConcern("password", "the password is wrong; no token was made",
                             "lösenordet är fel; ingen token skapades")
    secret, token_id, expires_at = PREFIX + secrets.token_urlsafe(32), str(uuid.uuid4()), now + timedelta(days=days)
    with db.write() as session:
        staff = _holder(session, actor)
        active = session.scalars(select(func.count()).select_from(ApiToken).where(
            ApiToken.staff_id == staff.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)).one()
        if active >= MAX_ACTIVE:
            raise InvalidConcern("token", f"at most {MAX_ACTIVE} active tokens; revoke one first",
                                 f"högst {MAX_ACTIVE} aktiva token; återkalla en först")
        session.add(ApiToken(id=token_id, staff_id=staff.id, name=name, secret_hash=_hash(secret), created_at=now,
                             expires_at=expires_at, revoked_at=None))
    return NewToken(token_id, name, secret, expires_at)


def list_tokens(db: Database, actor: Actor, *, now: datetime | None = None) -> tuple[TokenInfo, ...]:
    """The actor's own tokens, newest first, active or not (`now` is accepted for symmetry; unused)."""
    with db.read() as session:
        staff = _holder(session, actor)
        rows = session.scalars(select(ApiToken).where(ApiToken.staff_id == staff.id)
                               .order_by(ApiToken.created_at.desc(), ApiToken.id))
        return tuple(TokenInfo(t.id, t.name, t.created_at, t.expires_at, t.revoked_at) for t in rows)


def revoke_token(db: Database, actor: Actor, token_id: str, *, now: datetime | None = None) -> None:
    """Revoke one of the actor's own tokens; revoking it again changes nothing."""
    now = now or datetime.now(UTC)
    with db.write() as session:
        staff = _holder(session, actor)
        token = session.get(ApiToken, token_id) if isinstance(token_id, str) and len(token_id) <= 36 else None
        if token is None or token.staff_id != staff.id:  # another's token is as unknown as no token
            raise RecordNotFound("token", "no such token", "ingen sådan token")
        if token.revoked_at is None:
            token.revoked_at = now


def authenticate_token(db: Database, secret: str, *, now: datetime | None = None) -> Account:
    """The account a token acts as, in the role it holds now; `TokenRefused` whatever the reason."""
    return identify_token(db, secret, now=now)[1]


@operation("api_token", quiet=True)
def identify_token(db: Database, secret: str, *, now: datetime | None = None) -> tuple[str, Account]:
    """The token's id and the account it acts as (`authenticate_token`; the id counts its requests)."""
    now = now or datetime.now(UTC)
    if not isinstance(secret, str) or len(secret) != _LENGTH or not secret.startswith(PREFIX):
        raise TokenRefused()  # not one of ours: no need to ask the database
    with db.read() as session:  # one query: every API request pays for it
        row = session.execute(select(ApiToken, Staff).join(Staff, Staff.id == ApiToken.staff_id)
                              .where(ApiToken.secret_hash == _hash(secret))).first()
    if row is None:
        raise TokenRefused()
    token, staff = row
    if token.revoked_at is not None or now >= token.expires_at or not staff.active or staff.role == SYSTEM_ROLE:
        raise TokenRefused()
    return token.id, Account(staff.id, staff.username, staff.display_name, staff.role, staff.unit)


def revoke_all_tokens(session: Session, staff_id: str, now: datetime) -> int:
    """Revoke every live token of an account, inside the caller's transaction; returns how many."""
    revoked = session.execute(update(ApiToken).where(ApiToken.staff_id == staff_id, ApiToken.revoked_at.is_(None))
                              .values(revoked_at=now))
    return cast("CursorResult[Any]", revoked).rowcount  # a DML statement's result: SQLAlchemy types it as Result


def _holder(session: Session, actor: Actor) -> Staff:
    """An active member of staff acting in their own role; the system role holds no tokens."""
    staff = require_staff(session, actor)
    if staff.role == SYSTEM_ROLE:
        raise NotPermitted("hold API tokens", staff.role)
    return staff


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
