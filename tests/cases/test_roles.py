"""Administration cannot be abused, on both databases: a role that reads case data waits for a second
administrator, the system account is nobody's to change, nobody changes their own role, and every change is
in the administration log, which `verify` covers."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from cases import InvalidConcern, NotPermitted
from cases.audit.verify import verify
from cases.errors import RecordNotFound, SignInRefused
from cases.models import AdministrationLogEntry, RoleGrant, Staff
from cases.staff import accounts
from cases.staff.administration import create_account, find_account, reset_password
from cases.staff.members import disable_staff, enable_staff, set_role
from cases.staff.roles import approve_grant, pending_grants, refuse_grant
from tests.conftest import NOW
from workflow import Actor

accounts.use_cheap_hashing_for_tests()
PASSWORD = "a long enough test password"  # noqa: S105 - a test password


@pytest.fixture
def admins(db, staff) -> tuple[Actor, Actor]:
    """Two active administrators: admin-1 (the `staff` fixture's) and admin-2."""
    second = create_account(db, None, "admin-2", "Second Admin", "admin", password=PASSWORD)
    return staff["admin"], second


def role_of(db, username: str) -> str | None:
    found = find_account(db, None, username)
    return None if found is None else found.role


def entries(db) -> list[dict]:
    with db.read() as session:
        return [json.loads(row) for row in session.scalars(
            select(AdministrationLogEntry.entry).order_by(AdministrationLogEntry.seq))]


def only_grant(db, by) -> str:
    (grant,) = pending_grants(db, by)
    return grant.id


# --- a role that reads case data needs a second administrator ----------------------------------------------


@pytest.mark.parametrize("role", ["intake", "caseworker", "decider"])
def test_a_reading_role_waits_for_a_second_administrator(db, staff, admins, role):
    first, second = admins
    start = "auditor" if role != "decider" else "caseworker"
    set_role(db, "auditor-1" if start == "auditor" else "caseworker-1", role, by=first)
    username = "auditor-1" if start == "auditor" else "caseworker-1"
    assert role_of(db, username) == start  # nothing changed yet
    grant = only_grant(db, second)
    with pytest.raises(InvalidConcern, match="another administrator"):
        approve_grant(db, first, grant)
    assert role_of(db, username) == start
    approve_grant(db, second, grant)
    assert role_of(db, username) == role and pending_grants(db, second) == []


def test_a_role_that_reads_nothing_takes_effect_at_once(db, staff, admins):
    assert set_role(db, "caseworker-1", "auditor", by=admins[0]) is None
    assert role_of(db, "caseworker-1") == "auditor" and pending_grants(db, admins[1]) == []


def test_the_operator_grants_directly(db, staff):
    assert set_role(db, "auditor-1", "decider", by=None) is None
    assert role_of(db, "auditor-1") == "decider"


def test_a_new_account_with_a_reading_role_cannot_sign_in_until_approved(db, staff, admins):
    first, second = admins
    create_account(db, first, "new.caseworker", "Ny Handläggare", "caseworker", password=PASSWORD)
    assert not find_account(db, None, "new.caseworker").active
    with pytest.raises(SignInRefused):
        accounts.sign_in(db, "new.caseworker", PASSWORD, "127.0.0.1")
    for by in admins:  # enabling it is no way round the approval
        with pytest.raises(InvalidConcern, match="waits for a second administrator"):
            enable_staff(db, "new.caseworker", by=by)
    # nor is asking for the role it already holds on paper: it was never approved
    set_role(db, "new.caseworker", "caseworker", by=first)
    with pytest.raises(InvalidConcern):
        enable_staff(db, "new.caseworker", by=first)
    (waiting,) = pending_grants(db, second)
    assert (waiting.username, waiting.role, waiting.new_account, waiting.requested_by) == (
        "new.caseworker", "caseworker", True, "admin-1")
    assert pending_grants(db, first)[0].own and not waiting.own
    approve_grant(db, second, waiting.id)
    assert accounts.sign_in(db, "new.caseworker", PASSWORD, "127.0.0.1").account.role == "caseworker"


def test_a_refused_new_account_is_removed(db, staff, admins):
    first, second = admins
    create_account(db, first, "new.decider", "Ny Beslutsfattare", "decider", password=PASSWORD)
    refuse_grant(db, first, only_grant(db, first))  # the one who asked may take it back
    assert find_account(db, None, "new.decider") is None
    with pytest.raises(RecordNotFound) as missing:  # no such request: not there, not a fault in a form
        approve_grant(db, second, "00000000-0000-0000-0000-000000000000")
    assert missing.value.kind == "role request" and not isinstance(missing.value, InvalidConcern)


def test_a_refused_role_change_leaves_the_role(db, staff, admins):
    first, second = admins
    set_role(db, "caseworker-1", "decider", by=first)
    refuse_grant(db, second, only_grant(db, second))
    assert role_of(db, "caseworker-1") == "caseworker"
    with db.read() as session:
        assert session.scalars(select(RoleGrant.status)).all() == ["refused"]


def test_a_later_role_change_withdraws_the_request(db, staff, admins):
    first, second = admins
    set_role(db, "auditor-1", "decider", by=first)
    grant = only_grant(db, second)
    set_role(db, "auditor-1", "reporter", by=second)
    assert role_of(db, "auditor-1") == "reporter" and pending_grants(db, first) == []
    with pytest.raises(InvalidConcern):
        approve_grant(db, second, grant)


def test_only_an_active_administrator_decides_and_never_on_their_own_account(db, staff, admins):
    first, second = admins
    set_role(db, "admin-2", "caseworker", by=first)
    grant = only_grant(db, first)
    with pytest.raises(InvalidConcern, match="own account"):
        approve_grant(db, second, grant)
    for role in ("decider", "auditor", "caseworker"):
        with pytest.raises(NotPermitted):
            approve_grant(db, staff[role], grant)
        with pytest.raises(NotPermitted):
            pending_grants(db, staff[role])
    assert role_of(db, "admin-2") == "admin"


def test_a_disabled_administrator_cannot_approve(db, staff, admins):
    first, second = admins
    set_role(db, "auditor-1", "caseworker", by=first)
    disable_staff(db, "admin-2", by=first)
    with pytest.raises(NotPermitted):
        approve_grant(db, second, only_grant(db, first))


# --- the system account, and one's own account ------------------------------------------------------------


@pytest.mark.parametrize("by", ["operator", "admin"])
def test_the_system_account_gets_no_role_password_or_sign_in(db, staff, by):
    actor = None if by == "operator" else staff["admin"]
    for change in (lambda: set_role(db, "system-1", "admin", by=actor),
                   lambda: reset_password(db, actor, "system-1", PASSWORD),
                   lambda: enable_staff(db, "system-1", by=actor),
                   lambda: disable_staff(db, "system-1", by=actor)):
        with pytest.raises(InvalidConcern, match="system account"):
            change()
    found = find_account(db, None, "system-1")
    assert (found.role, found.active, found.has_password) == ("system", True, False)
    with pytest.raises(SignInRefused):
        accounts.sign_in(db, "system-1", PASSWORD, "127.0.0.1")


def test_a_system_account_that_has_a_password_from_before_still_cannot_sign_in(db, staff):
    """No path gives the system account a password now; one given before this rule must not open a sign-in."""
    accounts.set_password(db, "auditor-1", PASSWORD)
    with db.write() as session:  # what an older instance may hold: the system account with a password
        hashed = session.scalar(select(Staff.password_hash).where(Staff.username == "auditor-1"))
        session.execute(update(Staff).where(Staff.username == "system-1").values(password_hash=hashed))
    with pytest.raises(SignInRefused):
        accounts.sign_in(db, "system-1", PASSWORD, "127.0.0.1")


@pytest.mark.parametrize("by", ["operator", "admin"])
def test_nobody_gets_the_system_role(db, staff, by):
    actor = None if by == "operator" else staff["admin"]
    with pytest.raises(InvalidConcern):
        set_role(db, "auditor-1", "system", by=actor)
    with pytest.raises(InvalidConcern):
        create_account(db, actor, "new-1", "Name", "system", password=PASSWORD)
    assert role_of(db, "auditor-1") == "auditor" and find_account(db, None, "new-1") is None


def test_an_administrator_changes_neither_their_own_role_nor_disables_themselves(db, staff, admins):
    first, _second = admins
    for change in (lambda: set_role(db, "admin-1", "decider", by=first),
                   lambda: set_role(db, "admin-1", "auditor", by=first),
                   lambda: disable_staff(db, "admin-1", by=first)):
        with pytest.raises(InvalidConcern, match="your own"):
            change()
    found = find_account(db, None, "admin-1")
    assert (found.role, found.active) == ("admin", True)


# --- the administration log ------------------------------------------------------------------------------


def test_every_change_is_logged_with_staff_ids_only(db, staff, admins):
    first, second = admins
    before = len(entries(db))
    new = create_account(db, first, "new.intake", "Ny Mottagare", "intake", password=PASSWORD, now=NOW)
    approve_grant(db, second, only_grant(db, second), now=NOW + timedelta(minutes=1))
    set_role(db, "caseworker-1", "auditor", by=first, now=NOW + timedelta(minutes=2))
    disable_staff(db, "caseworker-1", by=None, now=NOW + timedelta(minutes=3))
    enable_staff(db, "caseworker-1", by=first, now=NOW + timedelta(minutes=4))
    reset_password(db, first, "caseworker-1", PASSWORD, now=NOW + timedelta(minutes=5))
    logged = entries(db)[before:]
    worker = staff["caseworker"].id
    assert [(e["actor"], e["target"], e["action"]) for e in logged] == [
        (first.id, new.id, "create"), (first.id, new.id, "request_role"), (first.id, new.id, "reset_password"),
        (second.id, new.id, "approve_role"), (first.id, worker, "set_role"), ("operator", worker, "disable"),
        (first.id, worker, "enable"), (first.id, worker, "reset_password")]
    assert logged[0]["codes"] == {"role": "intake", "pending_role": "intake"}
    assert logged[3]["codes"]["to"] == "intake" and logged[4]["codes"] == {"from": "caseworker", "to": "auditor"}
    assert logged[2]["codes"] == {"first": True} and logged[3]["at"] == "2026-11-26T09:31:00.000000+00:00"
    with db.read() as session:
        raw = b"".join(session.scalars(select(AdministrationLogEntry.entry)))
    for secret in (b"new.intake", b"Ny Mottagare", PASSWORD.encode(), b"caseworker-1", b"Test caseworker"):
        assert secret not in raw


def test_a_refused_change_logs_nothing(db, staff, admins):
    before = len(entries(db))
    with pytest.raises(InvalidConcern):
        set_role(db, "system-1", "admin", by=None)
    with pytest.raises(InvalidConcern):
        reset_password(db, None, "system-1", PASSWORD)
    assert len(entries(db)) == before


def test_verify_finds_a_changed_administration_entry(db, staff, keys):
    disable_staff(db, "caseworker-1", by=None, now=NOW)
    assert verify(db, "unused").ok
    with db.write() as session:
        if db.is_sqlite:
            session.execute(text("DROP TRIGGER administration_log_no_update"))
        else:
            session.execute(text("SET LOCAL session_replication_role = replica"))
        forged = entries(db)[-1] | {"action": "enable"}
        session.execute(text("UPDATE administration_log SET entry = :e WHERE seq = (SELECT max(seq) FROM "
                             "administration_log)"), {"e": json.dumps(forged, sort_keys=True,
                                                                       separators=(",", ":")).encode()})
    report = verify(db, "unused")
    assert [(f.kind, f.log) for f in report.findings][:1] == [("entry_changed", "administration")]


def test_a_second_administrator_waits_for_approval_too(db, staff, admins):
    """Else one administrator makes an administrator account of their own and approves their requests with it."""
    first, second = admins
    create_account(db, first, "puppet", "Marionett", "admin", password=PASSWORD)
    assert not find_account(db, None, "puppet").active
    with pytest.raises(SignInRefused):
        accounts.sign_in(db, "puppet", PASSWORD, "127.0.0.1")
    set_role(db, "auditor-1", "admin", by=first)
    assert role_of(db, "auditor-1") == "auditor"
    assert sorted(g.role for g in pending_grants(db, second)) == ["admin", "admin"]


def test_only_the_operator_sets_another_administrators_password(db, staff, admins):
    """Else one administrator takes over another's account and approves their own requests with it."""
    first, _second = admins
    with pytest.raises(InvalidConcern, match="operator"):
        reset_password(db, first, "admin-2", PASSWORD + " taken over")
    with pytest.raises(SignInRefused):
        accounts.sign_in(db, "admin-2", PASSWORD + " taken over", "127.0.0.1")
    reset_password(db, first, "admin-1", PASSWORD + " mine")  # one's own
    reset_password(db, None, "admin-2", PASSWORD + " from the server")
    assert accounts.sign_in(db, "admin-2", PASSWORD + " from the server", "127.0.0.1").account.role == "admin"
