"""API request limits (cases/staff/ratelimit.py), on both databases: per token and per account, counted in the
database so that they hold across processes, and over when the window is."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from cases import Database
from cases.errors import RateLimited
from cases.models import ApiRequestCount
from cases.staff.ratelimit import ACCOUNT_LIMIT, TOKEN_LIMIT, WINDOW_SECONDS, Limits, admit
from tests.conftest import NOW

LIMITS = Limits(per_token=3, per_account=5, window_seconds=60)
START = NOW.replace(second=0, microsecond=0) + timedelta(seconds=20)  # 40 s before the window ends


def test_the_limits_are_named_constants():
    assert (TOKEN_LIMIT, ACCOUNT_LIMIT, WINDOW_SECONDS) == (600, 1200, 60)
    assert Limits() == Limits(TOKEN_LIMIT, ACCOUNT_LIMIT, WINDOW_SECONDS)


def test_a_token_over_its_limit_is_refused_until_the_window_passes(db, staff):
    mine, theirs = staff["caseworker"].id, staff["decider"].id
    for _ in range(LIMITS.per_token):
        admit(db, "token-a", mine, START, LIMITS)
    with pytest.raises(RateLimited) as caught:
        admit(db, "token-a", mine, START + timedelta(seconds=1), LIMITS)
    assert caught.value.retry_after == 39
    assert "39" in caught.value.text("en") and "39" in caught.value.text("sv")
    admit(db, "token-b", theirs, START + timedelta(seconds=1), LIMITS)  # another account's token: unaffected
    with pytest.raises(RateLimited):  # still refused, however often it asks
        admit(db, "token-a", mine, START + timedelta(seconds=39), LIMITS)
    admit(db, "token-a", mine, START + timedelta(seconds=40), LIMITS)  # the next window


def test_an_account_is_limited_across_its_tokens(db, staff):
    mine = staff["caseworker"].id
    for i in range(LIMITS.per_account):
        admit(db, f"token-{i}", mine, START, LIMITS)  # no token over its own limit
    with pytest.raises(RateLimited):
        admit(db, "token-new", mine, START, LIMITS)
    admit(db, "token-other", staff["intake"].id, START, LIMITS)


def test_the_counts_hold_across_processes(db, staff, keys):
    """Two handles on one database, as two worker processes of `vidoro serve` have: one count."""
    other = Database(db.url, keys=keys)
    try:
        for handle in (db, other, db):
            admit(handle, "token-a", staff["caseworker"].id, START, LIMITS)
        with pytest.raises(RateLimited):
            admit(other, "token-a", staff["caseworker"].id, START, LIMITS)
    finally:
        other.dispose()


def test_old_windows_are_deleted_as_new_ones_start(db, staff):
    for minute in range(5):
        admit(db, "token-a", staff["caseworker"].id, START + timedelta(minutes=minute), LIMITS)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(ApiRequestCount)) == 2  # this token, this account
