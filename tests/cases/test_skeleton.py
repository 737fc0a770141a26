"""The opening every case operation shares (cases.casework.skeleton): its order, its ending, and that it is the only
one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm.exc import StaleDataError

from cases import ConcernForm, register_concern
from cases.casework.idempotency import claim, recall
from cases.casework.skeleton import case_read, case_write, staff_write
from cases.errors import AccessDenied, CaseNotFound, NotPermitted, StaleCase
from cases.models import IdempotencyRecord
from tests.conftest import NOW
from workflow import Actor

CASES = Path(__file__).resolve().parents[2] / "cases"
MISSING = "VO-NOPE0000"


def render(result: object) -> tuple[int, dict[str, str]]:
    return 200, {"answer": str(result)}


def registered(db, staff, number: str) -> str:
    form = ConcernForm(concern="Oro för en elev.", reporter_org="school", identity_number=number)
    return register_concern(db, staff["reporter"], form, now=NOW).ref


def held(db) -> list[IdempotencyRecord]:
    with db.read() as session:
        return list(session.scalars(select(IdempotencyRecord)))


# --- the order of the opening: each step refuses before the next is taken -----------------------------------


def test_the_actor_is_checked_before_the_case_is_looked_up(db, staff):
    stranger = Actor("no-such-id", "intake")
    with pytest.raises(NotPermitted), case_write(db, stranger, MISSING, now=NOW):
        pytest.fail("opened")
    with pytest.raises(NotPermitted), case_read(db, stranger, MISSING):
        pytest.fail("opened")


def test_a_missing_case_leaves_no_held_key(db, staff):
    mine = claim(db, staff["intake"], "k-missing", b"fire", render)
    with pytest.raises(CaseNotFound), case_write(db, staff["intake"], MISSING, now=NOW, claim=mine):
        pytest.fail("opened")
    assert held(db) == []


def test_the_ground_is_checked_before_the_version(db, staff, child_number):
    ref = registered(db, staff, child_number)
    # The reporter has no ground on the case: refused as if it were not there, even with a stale version.
    with pytest.raises(AccessDenied), case_write(db, staff["reporter"], ref, now=NOW, expected_version=99):
        pytest.fail("opened")
    with pytest.raises(AccessDenied), case_read(db, staff["reporter"], ref):
        pytest.fail("opened")


def test_a_stale_version_names_both_versions_and_keeps_nothing(db, staff, child_number):
    ref = registered(db, staff, child_number)
    mine = claim(db, staff["intake"], "k-stale", b"fire", render)
    with pytest.raises(StaleCase) as caught, case_write(db, staff["intake"], ref, now=NOW, claim=mine,
                                                        expected_version=7):
        pytest.fail("opened")
    assert (caught.value.ref, caught.value.expected, caught.value.current) == (ref, 7, 1)
    assert held(db) == []


# --- the ending ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("expected", [None, 1])
def test_a_concurrent_change_noticed_by_sqlalchemy_is_stale_case(db, staff, child_number, expected):
    ref = registered(db, staff, child_number)
    mine = claim(db, staff["intake"], "k-race", b"fire", render)
    with pytest.raises(StaleCase) as caught, case_write(db, staff["intake"], ref, now=NOW, claim=mine,
                                                        expected_version=expected):
        raise StaleDataError("UPDATE statement on table 'cases' expected to update 1 row(s); 0 were matched.")
    # The version the caller saw, or, without one, the version the operation read; nothing is kept.
    assert (caught.value.ref, caught.value.expected, caught.value.current) == (ref, 1, None)
    assert held(db) == []


def test_the_answer_is_kept_with_the_change(db, staff, child_number):
    ref = registered(db, staff, child_number)
    mine = claim(db, staff["intake"], "k-kept", b"fire", render)
    with case_write(db, staff["intake"], ref, now=NOW, claim=mine) as opened:
        assert (opened.case.ref, opened.staff.id) == (ref, staff["intake"].id)
        assert opened.settled("done") == "done"
    answer = recall(db, mine, now=NOW)
    assert answer is not None and (answer.status, dict(answer.body)) == (200, {"answer": "done"})


def test_a_write_without_a_case_holds_the_key_too(db, staff):
    mine = claim(db, staff["reporter"], "k-staff", b"register", render)
    with staff_write(db, staff["reporter"], now=NOW, claim=mine) as acting:
        assert [r.key for r in acting.session.scalars(select(IdempotencyRecord))] == ["k-staff"]
        acting.settled("registered")
    assert [(r.key, r.status) for r in held(db)] == [("k-staff", 200)]


@pytest.mark.parametrize("lock", [True, False])
def test_the_case_row_is_locked_for_a_change(db, staff, child_number, lock):
    """On PostgreSQL the opening's read of the case row takes its lock (SQLite serialises writers anyway)."""
    ref = registered(db, staff, child_number)
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", seen)
    try:
        with case_write(db, staff["intake"], ref, now=NOW, lock=lock):
            pass
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
    locking = [s for s in statements if "FOR UPDATE" in s.upper()]
    assert bool(locking) == (lock and not db.is_sqlite), statements


# --- written once ------------------------------------------------------------------------------------------


def _openings(tree: ast.AST) -> list[str]:
    """The steps of the opening and the ending that `cases.casework.skeleton` owns, wherever else they are written."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in {"hold", "settle"}:
                found.append(f"line {node.lineno}: the idempotency claim's {name}")
            if name == "load_case" and any(k.arg == "for_update" for k in node.keywords):
                found.append(f"line {node.lineno}: the case row locked by hand")
            if name == "StaleCase":
                found.append(f"line {node.lineno}: StaleCase raised by hand")
        if isinstance(node, ast.ExceptHandler) and "StaleDataError" in ast.unparse(node.type or ast.Constant(None)):
            found.append(f"line {node.lineno}: StaleDataError mapped by hand")
    return found


def test_the_opening_is_written_once():
    """No module in `cases/` but the skeleton (and the claim itself) holds a key, locks a case row by hand,
    raises `StaleCase` or maps `StaleDataError`: a new operation opens through `cases.casework.skeleton`."""
    owners = {CASES / "casework" / "skeleton.py", CASES / "casework" / "idempotency.py"}
    elsewhere = {
        str(path.relative_to(CASES.parent)): found
        for path in sorted(CASES.rglob("*.py"))
        if path not in owners and "migrations" not in path.parts
        and (found := _openings(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert elsewhere == {}
