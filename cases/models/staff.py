"""Staff and how they sign in: accounts, web sessions, sign-in attempts, API tokens, idempotency records,
request counts, and role grants waiting for approval.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from cases.models.base import Base

__all__ = [
    "ApiRequestCount",
    "ApiToken",
    "IdempotencyRecord",
    "RoleGrant",
    "SignInAttempt",
    "Staff",
    "WebSession",
]


class Staff(Base):
    """A member of staff: who registers concerns and fires triggers, and in which role."""

    __tablename__ = "staff"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    password_hash: Mapped[str | None] = mapped_column(String(255))  # Argon2id, PHC string; None: cannot sign in
    email: Mapped[str | None] = mapped_column(String(254))  # where notifications are mailed; None: not mailed


class WebSession(Base):
    """A signed-in browser: stored by the SHA-256 of its token, so a copy of the table signs nobody in."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(index=True)  # the retention job purges expired sessions
    last_seen_at: Mapped[datetime] = mapped_column(index=True)  # by these two (migration 0027)


class SignInAttempt(Base):
    """One password sign-in attempt, kept 30 days for rate limiting: no password, and the typed name only as a
    keyed hash (`cases.staff.accounts`), so a password typed into the name field is not kept either."""

    __tablename__ = "sign_in_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username_hash: Mapped[str] = mapped_column(String(64))  # HMAC-SHA256 of the normalised typed name
    address: Mapped[str] = mapped_column(String(64))
    device_hash: Mapped[str | None] = mapped_column(String(64))  # SHA-256 of a valid device cookie's nonce
    at: Mapped[datetime] = mapped_column(index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean)  # False until the password is verified

    __table_args__ = (
        Index("ix_sign_in_attempts_username_hash_at", "username_hash", "at"),
        Index("ix_sign_in_attempts_address_at", "address", "at"),
        Index("ix_sign_in_attempts_device_hash_at", "device_hash", "at"),
    )


class ApiToken(Base):
    """A personal API token: stored by the SHA-256 of its secret, with an expiry; it acts in its owner's role."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class IdempotencyRecord(Base):
    """The first answer to a request sent with an Idempotency-Key, written in the transaction of its change.

    Holds a keyed hash of the request, never the request, and an answer without personal data.
    """

    __tablename__ = "idempotency_keys"

    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(SmallInteger)
    answer: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(index=True)


class ApiRequestCount(Base):
    """How many API requests one token or one account made in one fixed window (`cases.staff.ratelimit`).

    Kept in the database so that the limits hold across `vidoro serve`'s worker processes: one upsert per
    request counts the token and the account together. Old windows are deleted as new ones start."""

    __tablename__ = "api_request_counts"

    # "token:<id>", "account:<id>", or "recheck:<id>" (wrong passwords on making a token, `cases.staff.tokens`)
    subject: Mapped[str] = mapped_column(String(48), primary_key=True)
    window: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # Unix time // its length
    count: Mapped[int] = mapped_column(Integer)

    # The retention job deletes windows that have ended, of every subject at once (migration 0027).
    __table_args__ = (Index("ix_api_request_counts_window", "window"),)


class RoleGrant(Base):
    """A role that can read case data, asked for by one administrator and waiting for a second one's decision.

    `staff_id` is not a foreign key: refusing the role of a new account removes that account, and the
    grant stays as its record. `new_account`: approving also enables the account (created disabled).
    """

    __tablename__ = "role_grants"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    staff_id: Mapped[str] = mapped_column(String(36), index=True)
    role: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str | None] = mapped_column(String(64))
    new_account: Mapped[bool] = mapped_column(Boolean)
    requested_by: Mapped[str] = mapped_column(String(36))
    requested_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))  # pending, approved, refused, withdrawn
    decided_by: Mapped[str | None] = mapped_column(String(36))  # a staff id, or "operator"
    decided_at: Mapped[datetime | None]
