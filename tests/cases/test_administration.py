"""Accounts as administrators manage them, on both databases: only an administrator (or the operator) may,
a refused account leaves nothing behind, and nobody is given the system role."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from cases import InvalidConcern, NotPermitted
from cases.errors import InvalidPassword, RecordNotFound, SignInRefused
from cases.models import Staff
from cases.staff import accounts
from cases.staff.administration import account_roles, create_account, find_account, list_accounts, reset_password
from cases.staff.members import disable_staff

accounts.use_cheap_hashing_for_tests()
PASSWORD = "a long enough test password"  # noqa: S105 - a test password
IDLE = {"idle": timedelta(hours=1), "absolute": timedelta(hours=8)}


def staff_count(db) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Staff))


def test_an_administrator_adds_an_account_that_can_sign_in(db, staff):
    create_account(db, staff["admin"], " Anna.B ", "  Anna   Berg ", "coordinator", password=PASSWORD)
    found = find_account(db, staff["admin"], "anna.b")
    assert (found.display_name, found.role, found.unit, found.active, found.has_password) == (
        "Anna Berg", "coordinator", None, True, True)
    assert accounts.sign_in(db, "anna.b", PASSWORD, "127.0.0.1").account.role == "coordinator"


def test_a_partner_needs_a_unit(db, staff):
    with pytest.raises(InvalidConcern) as caught:
        create_account(db, None, "partner-2", "Polis Person", "partner", password=PASSWORD)
    assert caught.value.field == "unit"
    create_account(db, None, "partner-2", "Polis Person", "partner", unit="school", password=PASSWORD)
    assert find_account(db, None, "partner-2").unit == "school"


@pytest.mark.parametrize(("username", "name", "role", "unit", "password", "field"), [
    ("x", "Name", "caseworker", None, PASSWORD, "username"),
    ("with space", "Name", "caseworker", None, PASSWORD, "username"),
    ("caseworker-1", "Name", "caseworker", None, PASSWORD, "username"),
    ("new-1", "   ", "caseworker", None, PASSWORD, "display_name"),
    ("new-1", "N" * 201, "caseworker", None, PASSWORD, "display_name"),
    ("new-1", "Name", "system", None, PASSWORD, "role"),
    ("new-1", "Name", "superuser", None, PASSWORD, "role"),
    ("new-1", "Name", "caseworker", "police", PASSWORD, "unit"),
    ("new-1", "Name", "partner", "social_services", PASSWORD, "unit"),
    ("new-1", "Name", "caseworker", None, "short", "password"),
])
def test_a_refused_account_leaves_nothing(db, staff, username, name, role, unit, password, field):
    before = staff_count(db)
    with pytest.raises((InvalidConcern, InvalidPassword)) as caught:
        create_account(db, staff["admin"], username, name, role, unit=unit, password=password)
    assert getattr(caught.value, "field", "password") == field
    assert staff_count(db) == before


def test_only_an_active_administrator_manages_accounts(db, staff):
    for role in ("auditor", "decider", "system"):
        for call in (lambda by: list_accounts(db, by), lambda by: find_account(db, by, "caseworker-1"),
                     lambda by: create_account(db, by, "new-1", "Name", "reporter", password=PASSWORD),
                     lambda by: reset_password(db, by, "caseworker-1", PASSWORD)):
            with pytest.raises(NotPermitted):
                call(staff[role])
    create_account(db, None, "admin-2", "Second Admin", "admin", password=PASSWORD)
    disable_staff(db, "admin-1", by=None)
    with pytest.raises(NotPermitted):
        list_accounts(db, staff["admin"])
    assert find_account(db, None, "new-1") is None


def test_a_new_password_ends_the_sessions_and_the_old_one(db, staff):
    reset_password(db, staff["admin"], "caseworker-1", PASSWORD)
    token = accounts.start_session(db, accounts.sign_in(db, "caseworker-1", PASSWORD, "127.0.0.1").account)
    reset_password(db, staff["admin"], "caseworker-1", PASSWORD + " changed")
    assert accounts.open_session(db, token, **IDLE) is None
    with pytest.raises(SignInRefused):
        accounts.sign_in(db, "caseworker-1", PASSWORD, "127.0.0.1")
    with pytest.raises(InvalidPassword):
        reset_password(db, staff["admin"], "caseworker-1", "aaaaaaaaaaaaaaaa")
    with pytest.raises(RecordNotFound) as missing:  # an unknown account is not there, not a fault in a form
        reset_password(db, staff["admin"], "nobody-here", PASSWORD)
    assert missing.value.kind == "account" and not isinstance(missing.value, InvalidConcern)


def test_the_list_and_the_roles_offered(db, staff):
    rows = list_accounts(db, staff["admin"])
    assert [r.username for r in rows] == sorted(f"{role}-1" for role in staff)
    assert "system" not in account_roles() and "admin" in account_roles()
