"""Fixtures for the pages: an app on SQLite and PostgreSQL, and browsers signed in as each role.

Passwords are hashed with the cheapest Argon2id parameters here (production uses RFC 9106's); the hashes
verify the same way. Every account's password is PASSWORD.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from cases.models import Staff
from cases.staff import accounts
from web import create_app

PASSWORD = "correct horse battery staple"  # noqa: S105 - a test password
STAFF_ROLES = ("reporter", "coordinator", "intake", "caseworker", "decider", "partner", "auditor", "admin")

accounts.use_cheap_hashing_for_tests()


@pytest.fixture
def app(db, keys, tmp_path):
    """The web app on the test database (both databases), with its own key store and a test secret."""
    application = create_app({"VIDORO_DATABASE_URL": db.url, "VIDORO_HOME": tmp_path / "instance",
                              "VIDORO_KEYS": keys.folder, "SECRET_KEY": "test-secret-" + "x" * 32,
                              "VIDORO_CHECKPOINT_INTERVAL": 0})
    application.testing = True
    yield application
    application.extensions["vidoro.db"].dispose()


class FakeClock:
    """The app's clock in a test (`VIDORO_CLOCK`): it stands still until the test moves it, so no test sleeps."""

    def __init__(self, moment: datetime | None = None) -> None:
        self.moment = moment or datetime.now(UTC)

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


@pytest.fixture
def accounts_by_role(db, staff):
    """A password for each account of the `staff` fixture (usernames `<role>-1`)."""
    for role in STAFF_ROLES:
        accounts.set_password(db, f"{role}-1", PASSWORD)
    return staff


def csrf_token(response) -> str:
    """The CSRF token of the first form on a page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True))
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(client, username: str, password: str = PASSWORD):
    token = csrf_token(client.get("/sign-in"))
    return client.post("/sign-in", data={"username": username, "password": password, "csrf_token": token})


@pytest.fixture
def client_as(app, accounts_by_role):
    """`client_as("caseworker")`: a test client signed in as that role's account."""

    def make(role: str):
        client = app.test_client()
        response = sign_in(client, f"{role}-1")
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return make


def post_form(client, url: str, data: dict, *, page: str | None = None):
    """POST a form as a browser would: with the CSRF token taken from `page` (default: `url` itself)."""
    token = csrf_token(client.get(page or url))
    return client.post(url, data={**data, "csrf_token": token})


def account(db, username: str) -> Staff | None:
    """The stored account of `username`, or None."""
    with db.read() as session:
        return session.scalars(select(Staff).where(Staff.username == username)).first()


def staff_count(db) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Staff))
