"""Staff sign-in: passwords (Argon2id), rate limiting that cannot lock a person out, and web sessions.

Rate limiting (every window is the last 15 minutes, counted from stored attempts, so it holds across
processes and restarts):

- one account from one address: after 5 failures each further attempt waits twice as long as the one
  before (1 s, 2 s, 4 s … at most 15 minutes) after the last failure;
- one address, any accounts: after 100 failures it waits until the window has room again;
- one account from many addresses: after 20 failures, addresses that have not signed in to that account
  successfully in the last 30 days wait as well. An address the person has used before keeps working,
  so an attacker who guesses from elsewhere slows themselves down, never the person.

Device cookies (OWASP's "slow down online guessing attacks with device cookies"): every successful
sign-in returns a new device token for the browser, `nonce.time.HMAC(name, nonce, time)` under a key from
the instance's key material, valid for a year. An attempt that brings a valid token made for the typed
name is held by none of the limits above, so nobody behind the same address (an office's shared one) or
guessing at the same account can lock out a person on a browser that signed in before. Each token has its
own limit instead: after 10 failures with it (while attempts are kept, 30 days) it is trusted no more,
and its attempts are limited like any other, so a stolen cookie is worth 10 guesses.

The limits are checked and the attempt counted in one write transaction, before the password is checked
(on SQLite under the write lock, on PostgreSQL under advisory locks on the address and the name), so
parallel attempts cannot all pass a limit that each alone would meet; the attempt counts as failed until
the password verifies. An attempt keeps the typed name only as a keyed hash (HMAC-SHA256 under a key
outside the database), so a password typed into the name field is not kept; the address in the clear.

A refused attempt never says whether the account exists, and takes as long (an unknown name is checked
against a dummy hash). Sessions are kept on the server by the SHA-256 of their token: signing out,
disabling an account or changing its role ends them at once, everywhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, delete, func, select, text, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from cases.crypto.vault import Vault
from cases.db import Database
from cases.errors import InvalidPassword, RecordNotFound, SignInRefused, SignInThrottled
from cases.events import operation
from cases.models import SignInAttempt, Staff, WebSession
from policies.access import SYSTEM_ROLE
from policies.routines.retention import load_retention
from workflow import Actor

__all__ = [
    "DEVICE_LIFETIME",
    "MIN_PASSWORD",
    "Account",
    "SignedIn",
    "end_all_sessions",
    "end_session",
    "open_session",
    "password_matches",
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
KEEP_ATTEMPTS = timedelta(days=load_retention().sign_in_attempts_days)  # older ones are deleted (retention.toml)
DEVICE_FAILURES = 10  # failures with one device cookie (while its attempts are kept) before it is not trusted
DEVICE_LIFETIME = timedelta(days=365)
TOUCH_EVERY = timedelta(seconds=60)
_LOCK_ADDRESS, _LOCK_NAME = 0x7669_6431, 0x7669_6432  # the advisory-lock key spaces of sign-in attempts

_hasher = PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)  # Argon2id, t=3, m=64 MiB, p=4
_DUMMY: str | None = None  # hashed on first need, not at import (every command imports this module)


def use_cheap_hashing_for_tests() -> None:
    """Argon2id with the least memory and time: for test suites only (hashes still verify in production)."""
    global _hasher, _DUMMY
    _hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    _DUMMY = None


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
                 also: Callable[[Session, Staff], None] | None = None, now: datetime | None = None) -> None:
    """Give an account a new password (administrators and the account itself; the caller checks which).

    A reset follows a suspected compromise: it ends the account's sessions and revokes its API tokens, so
    nothing the old password opened keeps working. `also(session, staff)` runs first in the same
    transaction: the caller's checks and its log entry."""
    from cases.staff.tokens import revoke_all_tokens  # cases.staff.tokens imports this module (Account)

    now = now or datetime.now(UTC)
    hashed = _hasher.hash(check_password_rules(password))
    with db.write() as session:
        staff = _by_username(session, username)
        if also is not None:
            also(session, staff)
        staff.password_hash = hashed
        session.execute(delete(WebSession).where(WebSession.staff_id == staff.id))  # a new password ends sessions
        revoke_all_tokens(session, staff.id, now)


@dataclass(frozen=True)
class SignedIn:
    """A successful sign-in: the account, and a new device token for the browser's device cookie."""

    account: Account
    device_token: str = field(repr=False)


@operation("sign_in")
def sign_in(db: Database, username: str, password: str, address: str, *, device: str | None = None,
            now: datetime | None = None) -> SignedIn:
    """Check a password sign-in under the rate limits; record the attempt; return the account.

    `device` is the token of the browser's device cookie, if it has one; the answer carries a new one."""
    now = now or datetime.now(UTC)
    username = username.strip().lower()[:64]
    address = address[:64]
    vault = db.vault
    name = _name_hash(vault, username)
    device_id = _device_id(vault, username, device, now)
    with db.write() as session:
        _lock(session, name, address)
        wait = _wait(session, name, address, device_id, now)
        if wait:
            raise SignInThrottled(wait)  # rolls back: nothing was checked, nothing is counted
        attempt = SignInAttempt(username_hash=name, address=address, device_hash=device_id, at=now,
                                succeeded=False)
        session.add(attempt)
        session.execute(delete(SignInAttempt).where(SignInAttempt.at < now - KEEP_ATTEMPTS))
        staff = session.scalars(select(Staff).where(Staff.username == username)).first()
    ok = False
    if staff is not None and staff.password_hash:
        try:
            ok = _hasher.verify(staff.password_hash, unicodedata.normalize("NFKC", password))
        except (VerificationError, InvalidHashError):
            ok = False
    else:
        _verify_dummy(password)
    # `ok` means an account with a password that matched; the retention job's account never signs in.
    if not (ok and staff is not None and staff.password_hash and staff.active and staff.role != SYSTEM_ROLE):
        raise SignInRefused()
    with db.write() as session:
        session.execute(update(SignInAttempt).where(SignInAttempt.id == attempt.id).values(succeeded=True))
        stored = session.get(Staff, staff.id)
        if stored is not None and _hasher.check_needs_rehash(staff.password_hash):
            stored.password_hash = _hasher.hash(unicodedata.normalize("NFKC", password))
    return SignedIn(_account(staff), _device_token(vault, username, now))


def _verify_dummy(password: str) -> None:
    """Spend what checking a real password costs, so an unknown name answers as slowly as a known one."""
    global _DUMMY
    if _DUMMY is None:
        _DUMMY = _hasher.hash("vidoro: a password nobody has")
    with contextlib.suppress(VerificationError):
        _hasher.verify(_DUMMY, password)


def _name_hash(vault: Vault, username: str) -> str:
    """What an attempt keeps of the typed name: a keyed hash, useless without the instance's key material."""
    return vault.keyed_hash("sign-in/name", username.encode())


def _device_token(vault: Vault, username: str, now: datetime) -> str:
    """A device cookie's token: a random nonce and the time it was made, bound to `username` by an HMAC."""
    body = f"{secrets.token_urlsafe(16)}.{int(now.timestamp())}"
    return f"{body}.{_device_mac(vault, username, body)}"


def _device_id(vault: Vault, username: str, token: str | None, now: datetime) -> str | None:
    """The id of a device token made for `username` and not older than DEVICE_LIFETIME, or None."""
    parts = (token or "")[:200].split(".")
    if len(parts) != 3 or not (parts[1].isascii() and parts[1].isdigit()):
        return None
    body = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(parts[2].encode(), _device_mac(vault, username, body).encode()):  # any text
        return None
    if now - datetime.fromtimestamp(int(parts[1]), UTC) > DEVICE_LIFETIME:
        return None
    return _token_id(parts[0])


def _device_mac(vault: Vault, username: str, body: str) -> str:
    return vault.keyed_hash("sign-in/device", f"{username}|{body}".encode())


def _lock(session: Session, name: str, address: str) -> None:
    """Queue the attempts on one address, then on one typed name, until this transaction ends.

    On SQLite the write transaction holds the database's write lock already (BEGIN IMMEDIATE). On PostgreSQL
    two advisory locks, always the address's first and each attempt takes one of each, so two attempts never
    wait for each other in a circle. Their two-number keys never collide with the logs' one-number ones."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for space, key in ((_LOCK_ADDRESS, address), (_LOCK_NAME, name)):
        session.execute(text("SELECT pg_advisory_xact_lock(:space, hashtext(:key))"), {"space": space, "key": key})


def _wait(session: Session, name: str, address: str, device_id: str | None, now: datetime) -> int:
    """Seconds this attempt must still wait before it is checked; 0 if none.

    A trusted device cookie (`device_id`) is held only by its own limit; without one, the (typed name,
    address) pair, the address and the typed name are limited."""
    failed = SignInAttempt.succeeded.is_(False)
    if device_id is not None:
        device_failures = session.scalars(select(func.count()).where(
            SignInAttempt.device_hash == device_id, SignInAttempt.at > now - KEEP_ATTEMPTS, failed)).one()
        if device_failures < DEVICE_FAILURES:
            return 0
    since = now - WINDOW
    pair = session.execute(select(func.count(), func.max(SignInAttempt.at)).where(
        SignInAttempt.username_hash == name, SignInAttempt.address == address, SignInAttempt.at > since,
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
        SignInAttempt.username_hash == name, SignInAttempt.at > since, failed)).one()
    if by_account[0] >= ACCOUNT_FAILURES:
        known = session.scalar(select(func.count()).where(
            SignInAttempt.username_hash == name, SignInAttempt.address == address,
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
    # one Core query, no object: a signed-in page pays for this on every request
    with db.read() as session:
        found = session.execute(_LIVE_SESSION, {"key": key}).first()
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


_LIVE_SESSION = (select(WebSession.created_at, WebSession.last_seen_at, Staff.id, Staff.username, Staff.display_name,
                        Staff.role, Staff.unit, Staff.active)
                 .join(Staff, Staff.id == WebSession.staff_id).where(WebSession.id == bindparam("key")))


def end_session(db: Database, token: str) -> None:
    with db.write() as session:
        session.execute(delete(WebSession).where(WebSession.id == _token_id(token)))


def end_all_sessions(session: Session, staff_id: str) -> int:
    """Sign an account out everywhere, inside the caller's transaction."""
    ended = session.execute(delete(WebSession).where(WebSession.staff_id == staff_id))
    return cast("CursorResult[Any]", ended).rowcount  # a DML statement's result: SQLAlchemy types it as Result


def _token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _by_username(session: Session, username: str) -> Staff:
    staff = session.scalars(select(Staff).where(Staff.username == username)).first()
    if staff is None:
        raise RecordNotFound("account", "no such account", "inget sådant konto")
    return staff


def _account(staff: Staff) -> Account:
    return Account(staff.id, staff.username, staff.display_name, staff.role, staff.unit)


def password_matches(password_hash: str | None, password: str) -> bool:
    """Whether `password` is the one `password_hash` was made from (for asking a signed-in person again)."""
    if not password_hash or not isinstance(password, str):
        _verify_dummy(password if isinstance(password, str) else "")
        return False
    try:
        return _hasher.verify(password_hash, unicodedata.normalize("NFKC", password))
    except (VerificationError, InvalidHashError):
        return False
