"""Request limits on the API, per token and per account, counted in the database.

`vidoro serve` runs several worker processes, so a count kept in memory would let a client send the limit
to each of them. Counts live in `api_request_counts` instead, one row per token and per account for each
fixed window; a request adds one to both rows in one upsert (`INSERT … ON CONFLICT DO UPDATE … RETURNING`,
the same statement on SQLite and PostgreSQL). A request over either limit is refused until the window ends.

A fixed window lets a client send up to twice the limit across a window's edge; for a limit meant to stop
a runaway script or a stolen token from reading the register wholesale, that is close enough and costs one
statement per request.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import Insert, bindparam, delete
from sqlalchemy.dialects import postgresql, sqlite

from cases.db import Database
from cases.errors import RateLimited
from cases.events import operation
from cases.models import ApiRequestCount

__all__ = [
    "ACCOUNT_LIMIT",
    "DEFAULT_LIMITS",
    "RECHECK_FAILURES",
    "RECHECK_WINDOW_SECONDS",
    "TOKEN_LIMIT",
    "WINDOW_SECONDS",
    "Limits",
    "admit",
    "count_failed_recheck",
    "password_rechecks_left",
]

WINDOW_SECONDS = 60
TOKEN_LIMIT = 600  # requests per window with one token
ACCOUNT_LIMIT = 1200  # requests per window with all of one account's tokens together
RECHECK_FAILURES = 5  # wrong passwords when making a token, per account and window (`cases.staff.tokens`)
RECHECK_WINDOW_SECONDS = 15 * 60


@dataclass(frozen=True)
class Limits:
    per_token: int = TOKEN_LIMIT
    per_account: int = ACCOUNT_LIMIT
    window_seconds: int = WINDOW_SECONDS


DEFAULT_LIMITS = Limits()


@cache
def _upsert(is_sqlite: bool) -> Insert:
    """One statement for both counts, built once (compiling it on every request cost more than running it)."""
    rows = [{"subject": bindparam(subject), "window": bindparam(window), "count": 1}
            for subject, window in (("token", "w1"), ("account", "w2"))]
    upsert = (sqlite if is_sqlite else postgresql).insert(ApiRequestCount).values(rows)
    return upsert.on_conflict_do_update(
        index_elements=[ApiRequestCount.subject, ApiRequestCount.window],
        set_={"count": ApiRequestCount.count + 1},
    ).returning(ApiRequestCount.subject, ApiRequestCount.count)


@operation("api_request", quiet=True)
def admit(db: Database, token_id: str, staff_id: str, now: datetime, limits: Limits = DEFAULT_LIMITS) -> None:
    """Count one request with this token of this account; `RateLimited` if either is over its limit now.

    A refused request counts too: a client that does not wait keeps itself refused until the window ends."""
    window = int(now.timestamp()) // limits.window_seconds
    token, account = f"token:{token_id}", f"account:{staff_id}"
    subjects = {token: limits.per_token, account: limits.per_account}
    with db.write() as session:
        counts = {subject: count for subject, count in session.connection().execute(  # Core: no ORM bulk mode
            _upsert(db.is_sqlite), {"token": token, "account": account, "w1": window, "w2": window})}
        if any(count == 1 for count in counts.values()):  # a new window: the ones before it are done with
            session.execute(delete(ApiRequestCount).where(ApiRequestCount.subject.in_(list(subjects)),
                                                          ApiRequestCount.window < window))
    if any(counts[subject] > limit for subject, limit in subjects.items()):
        raise RateLimited(max(1, math.ceil((window + 1) * limits.window_seconds - now.timestamp())))


def password_rechecks_left(db: Database, staff_id: str, now: datetime) -> int:
    """How many wrong passwords the account may still give when making a token, in this window.

    Asking for the password again must not become a way around sign-in's limits: someone holding a stolen
    session could otherwise guess the password here without end."""
    with db.read() as session:
        failed = session.get(ApiRequestCount, (f"recheck:{staff_id}", _recheck_window(now)))
    return max(0, RECHECK_FAILURES - (failed.count if failed else 0))


def count_failed_recheck(db: Database, staff_id: str, now: datetime) -> None:
    """Count one wrong password given when making a token."""
    window = _recheck_window(now)
    subject = f"recheck:{staff_id}"
    with db.write() as session:
        dialect = sqlite if db.is_sqlite else postgresql
        session.connection().execute(dialect.insert(ApiRequestCount).values(subject=subject, window=window, count=1)
                                     .on_conflict_do_update(index_elements=[ApiRequestCount.subject,
                                                                            ApiRequestCount.window],
                                                            set_={"count": ApiRequestCount.count + 1}))
        session.execute(delete(ApiRequestCount).where(ApiRequestCount.subject == subject,
                                                      ApiRequestCount.window < window))


def _recheck_window(now: datetime) -> int:
    return int(now.timestamp()) // RECHECK_WINDOW_SECONDS
