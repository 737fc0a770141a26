"""Staff sign-in: passwords (Argon2id), rate limiting that cannot lock a person out, and web sessions.

Rate limiting (every window is the last 15 minutes, counted from stored attempts, so it holds across
processes and restarts):

- one account from one address: after 5 failures each further attempt waits twice as long as the one
  before (1 s, 2 s, 4 s … at most 15 minutes) after the last failure;
- one address, any accounts: after 100 failures it waits until the window has room again;
- one account from many addresses: after 20 failures, addresses that have not signed in to that account
  successfully in the last 30 days wait as well. An address the person has used before keeps working,
  so an attacker who guesses from elsewhere slows themselves down, never the person.

A refused attempt never says whether the account exists. Sessions are kept on the server by the SHA-256
of their token: signing out, disabling an account or changing its role ends them at once, everywhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session

from cases.db import Database, HotRead
from cases.errors import InvalidConcern
from cases.models import SignInAttempt, Staff, WebSession
from workflow import Actor, VidoroError

__all__ = [
    "MIN_PASSWORD",
    "Account",
    "InvalidPassword",
    "SignInRefused",
    "SignInThrottled",
    "end_all_sessions",
    "end_session",
    "open_session",
    "set_password",
    "sign_in",
    "start_session",
]

MIN_PASSWORD = 12
MAX_PASSWORD = 1024
WINDOW = timedelta(minutes=15)
PAIR_FREE_FAILURES = 5
PAIR_MAX_WAIT = timedelta(minutes=15)
ADDRESS_FAILURES = 100
ACCOUNT_FAILURES = 20
KNOWN_ADDRESS = timedelta(days=30)
TOUCH_EVERY = timedelta(seconds=60)

_hasher = PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)  # Argon2id, t=3, m=64 MiB, p=4
_DUMMY: str | None = None  # hashed on first need, not at import (every command imports this module)


def use_cheap_hashing_for_tests() -> None:
    """Argon2id with the least memory and time: for test suites only (hashes still verify in production)."""
    global _hasher, _DUMMY
    _hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    _DUMMY = None


class InvalidPassword(VidoroError):
    code = "invalid_password"

    def __init__(self, problem_en: str, problem_sv: str) -> None:
        super().__init__(f"password: {problem_en}", message_sv=f"lösenord: {problem_sv}")


class SignInRefused(VidoroError):
    """Wrong name or password, or an account that may not sign in: one answer for all, on purpose."""

    code = "sign_in_refused"

    def __init__(self) -> None:
        super().__init__("wrong username or password", message_sv="fel användarnamn eller lösenord")


class SignInThrottled(VidoroError):
    """Too many failed attempts: try again after `retry_after` seconds (nothing was checked)."""

    code = "sign_in_throttled"

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, -(-retry_after // 60))
        super().__init__(f"too many failed attempts; try again in {minutes} min",
                         message_sv=f"för många misslyckade försök; försök igen om {minutes} min")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Account:
    """Who is signed in: what pages and operations need, nothing secret."""

    id: str
    username: str
    display_name: str
    role: str
    unit: str | None

    @property
    def actor(self) -> Actor:
        return Actor(self.id, self.role)


def check_password_rules(password: str) -> str:
    """Normalise (NFKC) and check a new password: at least 12 characters, not one repeated, at most 1024."""
    password = unicodedata.normalize("NFKC", password)
    if len(password) < MIN_PASSWORD:
        raise InvalidPassword(f"at least {MIN_PASSWORD} characters", f"minst {MIN_PASSWORD} tecken")
    if len(password) > MAX_PASSWORD:
        raise InvalidPassword(f"at most {MAX_PASSWORD} characters", f"högst {MAX_PASSWORD} tecken")
    if len(set(password)) < 4:
        raise InvalidPassword("too simple (use at least four different characters)",
                              "för enkelt (använd minst fyra olika tecken)")
    return password


def set_password(db: Database, username: str, password: str, *,
                 also: Callable[[Session, Staff], None] | None = None) -> None:
    """Give an account a new password (administrators and the account itself; the caller checks which).

    `also(session, staff)` runs first in the same transaction: the caller's checks and its log entry.
    """
    hashed = _hasher.hash(check_password_rules(password))
    with db.write() as session:
        staff = _by_username(session, username)
        if also is not None:
            also(session, staff)
        staff.password_hash = hashed
        session.execute(delete(WebSession).where(WebSession.staff_id == staff.id))  # a new password ends sessions


def sign_in(db: Database, username: str, password: str, address: str, *, now: datetime | None = None) -> Account:
    """Check a password sign-in under the rate limits; record the attempt; return the account."""
    now = now or datetime.now(UTC)
    username = username.strip().lower()[:64]
    address = address[:64]
    with db.read() as session:
        wait = _wait(session, username, address, now)
        staff = session.scalars(select(Staff).where(Staff.username == username)).first()
    if wait:
        raise SignInThrottled(wait)
    ok = False
    if staff is not None and staff.password_hash:
        try:
            ok = _hasher.verify(staff.password_hash, unicodedata.normalize("NFKC", password))
        except (VerificationError, InvalidHashError):
            ok = False
    else:
        _verify_dummy(password)
    ok = ok and staff.active
    with db.write() as session:
        session.add(SignInAttempt(username=username, address=address, at=now, succeeded=ok))
        if ok and _hasher.check_needs_rehash(staff.password_hash):
            session.get(Staff, staff.id).password_hash = _hasher.hash(unicodedata.normalize("NFKC", password))
        session.execute(delete(SignInAttempt).where(SignInAttempt.at < now - KNOWN_ADDRESS))
    if not ok:
        raise SignInRefused()
    return _account(staff)


def _verify_dummy(password: str) -> None:
    """Spend what checking a real password costs, so an unknown name answers as slowly as a known one."""
    global _DUMMY
    if _DUMMY is None:
        _DUMMY = _hasher.hash("vidoro: a password nobody has")
    with contextlib.suppress(VerificationError):
        _hasher.verify(_DUMMY, password)


def _wait(session: Session, username: str, address: str, now: datetime) -> int:
    """Seconds this (account, address) must still wait before an attempt is checked; 0 if none."""
    since = now - WINDOW
    failed = SignInAttempt.succeeded.is_(False)
    pair = session.execute(select(func.count(), func.max(SignInAttempt.at)).where(
        SignInAttempt.username == username, SignInAttempt.address == address, SignInAttempt.at > since,
        failed)).one()
    waits = [0]
    if pair[0] >= PAIR_FREE_FAILURES:
        backoff = min(timedelta(seconds=2 ** (pair[0] - PAIR_FREE_FAILURES)), PAIR_MAX_WAIT)
        waits.append(_seconds(pair[1] + backoff - now))
    by_address = session.execute(select(func.count(), func.min(SignInAttempt.at)).where(
        SignInAttempt.address == address, SignInAttempt.at > since, failed)).one()
    if by_address[0] >= ADDRESS_FAILURES:
        waits.append(_seconds(by_address[1] + WINDOW - now))
    by_account = session.execute(select(func.count(), func.min(SignInAttempt.at)).where(
        SignInAttempt.username == username, SignInAttempt.at > since, failed)).one()
    if by_account[0] >= ACCOUNT_FAILURES:
        known = session.scalar(select(func.count()).where(
            SignInAttempt.username == username, SignInAttempt.address == address,
            SignInAttempt.succeeded.is_(True), SignInAttempt.at > now - KNOWN_ADDRESS))
        if not known:
            waits.append(_seconds(by_account[1] + WINDOW - now))
    return max(waits)


def _seconds(delta: timedelta) -> int:
    return max(0, int(-(-delta.total_seconds() // 1)))


# --- sessions -----------------------------------------------------------------------------------------


def start_session(db: Database, account: Account, *, now: datetime | None = None) -> str:
    """A new session for a signed-in account; returns the token for the cookie (stored only as a hash)."""
    now = now or datetime.now(UTC)
    token = secrets.token_urlsafe(32)
    with db.write() as session:
        session.add(WebSession(id=_token_id(token), staff_id=account.id, created_at=now, last_seen_at=now))
    return token


def open_session(db: Database, token: str, *, idle: timedelta, absolute: timedelta,
                 now: datetime | None = None) -> Account | None:
    """The account of a live session, or None (unknown, timed out, or the account is disabled)."""
    now = now or datetime.now(UTC)
    key = _token_id(token)
    # one Core query: a signed-in page pays for this on every request
    found = db.read_rows(lambda connection: _LIVE_SESSION.first(connection, {"key": key}))
    if found is None:
        return None
    created_at, last_seen_at, staff_id, username, display_name, role, unit, active = found
    if not active or now - last_seen_at > idle or now - created_at > absolute:
        end_session(db, token)
        return None
    if now - last_seen_at > TOUCH_EVERY:  # not a write per request: idle time is kept to the minute
        with db.write() as session:
            live = session.get(WebSession, key)
            if live is not None:
                live.last_seen_at = now
    return Account(staff_id, username, display_name, role, unit)


_LIVE_SESSION = HotRead(select(WebSession.created_at, WebSession.last_seen_at, Staff.id, Staff.username,
                               Staff.display_name, Staff.role, Staff.unit, Staff.active)
                        .join(Staff, Staff.id == WebSession.staff_id).where(WebSession.id == bindparam("key")))


def end_session(db: Database, token: str) -> None:
    with db.write() as session:
        session.execute(delete(WebSession).where(WebSession.id == _token_id(token)))


def end_all_sessions(session: Session, staff_id: str) -> int:
    """Sign an account out everywhere, inside the caller's transaction."""
    return session.execute(delete(WebSession).where(WebSession.staff_id == staff_id)).rowcount


def _token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _by_username(session: Session, username: str) -> Staff:
    staff = session.scalars(select(Staff).where(Staff.username == username)).first()
    if staff is None:
        raise InvalidConcern("username", "no such account", "inget sådant konto")
    return staff


def _account(staff: Staff) -> Account:
    return Account(staff.id, staff.username, staff.display_name, staff.role, staff.unit)
