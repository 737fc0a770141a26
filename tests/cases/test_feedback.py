"""Feedback to a reporter on both databases: only received / investigation opened / not opened / already
running (SoL 14 kap 1 b §), only on their own concerns, read without decrypting anything."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cases import CaseNotFound, ConcernForm, NotPermitted, add_staff, fire_trigger, register_concern
from cases.casework.feedback import (
    ALREADY_RUNNING,
    NOT_OPENED,
    OPENED,
    RECEIVED,
    Feedback,
    concern_receipt,
    reporter_feedback,
)
from cases.crypto.identity import generate_identity_number
from cases.crypto.vault import CaseKey, Vault
from cases.reports.demo import PATHS, Step, drive
from tests.conftest import NOW, ROLES
from workflow import Actor

GIVEN, FAMILY = "Vera", "Testsson-Åberg"
NOT_OPENING = [*PATHS["pre_assessment"][1],
               Step("decider", "close_without_investigation", {"reason": "Ej aktuellt.", "outcome": "not_opened"})]


def concern(db, staff, number: str, steps=(), *, by: Actor | None = None, start=NOW, org="school"):
    """A concern registered by `by` (the reporter) at `start`, taken through `steps`; returns (ref, last moment)."""
    form = ConcernForm(concern="Eleven har slutat komma till skolan och behöver stöd.", reporter_org=org,
                       identity_number=number, given_name=GIVEN, family_name=FAMILY)
    ref = register_concern(db, by or staff["reporter"], form, now=start).ref
    return ref, drive(db, staff, ref, list(steps), start)


def adult(serial: int = 415) -> str:
    return generate_identity_number(date(2001, 3, 2), serial)


def child(serial: int = 238) -> str:
    return generate_identity_number(date(2012, 5, 17), serial)


@pytest.mark.parametrize(("path", "is_child", "expected"), [
    ("registered", False, RECEIVED),
    ("protection_assessment", True, RECEIVED),
    ("pre_assessment", False, RECEIVED),
    ("investigation", False, OPENED),
    ("sig", False, OPENED),
    ("follow_up", False, OPENED),
    ("closed", True, OPENED),  # opened, then closed: the reporter was told it was opened
    ("erased", False, NOT_OPENED),  # not opened, and later erased: the log still says so
])
def test_each_path_gives_the_category_the_law_allows(db, staff, path, is_child, expected):
    ref, last = concern(db, staff, child() if is_child else adult(), PATHS[path][1])
    (item,) = reporter_feedback(db, staff["reporter"])
    assert (item.ref, item.category) == (ref, expected)
    assert item == concern_receipt(db, staff["reporter"], ref)
    if expected == RECEIVED:
        assert item.since == item.received_at == NOW
    else:
        assert NOW < item.since <= last


def test_not_opened_while_an_investigation_about_the_same_person_runs_is_already_running(db, staff):
    number = adult()
    concern(db, staff, number, PATHS["investigation"][1], by=staff["intake"])  # the person's running case
    ref, _ = concern(db, staff, number, NOT_OPENING, start=NOW + timedelta(days=10))
    assert concern_receipt(db, staff["reporter"], ref).category == ALREADY_RUNNING
    other_person, _ = concern(db, staff, adult(416), NOT_OPENING, start=NOW + timedelta(days=10))
    assert concern_receipt(db, staff["reporter"], other_person).category == NOT_OPENED


def test_an_investigation_that_ended_before_the_decision_is_not_already_running(db, staff):
    number = adult()
    earlier, last = concern(db, staff, number, PATHS["investigation"][1], by=staff["intake"])
    fire_trigger(db, staff["decider"], earlier, "close_case", {"reason": "Klart.", "outcome": "referred_elsewhere"},
                 now=last + timedelta(days=1))
    ref, _ = concern(db, staff, number, NOT_OPENING, start=last + timedelta(days=2))
    assert concern_receipt(db, staff["reporter"], ref).category == NOT_OPENED


def test_an_investigation_opened_after_the_decision_changes_nothing(db, staff):
    number = adult()
    ref, last = concern(db, staff, number, NOT_OPENING)
    concern(db, staff, number, PATHS["investigation"][1], start=last + timedelta(days=1), by=staff["intake"])
    assert concern_receipt(db, staff["reporter"], ref).category == NOT_OPENED


def test_a_concern_without_identity_number_is_never_already_running(db, staff):
    number = adult()
    concern(db, staff, number, PATHS["investigation"][1], by=staff["intake"])
    form = ConcernForm(concern="Oro.", reporter_org="leisure", birth_date=date(2001, 3, 2))
    ref = register_concern(db, staff["reporter"], form, now=NOW + timedelta(days=10)).ref
    drive(db, staff, ref, NOT_OPENING, NOW + timedelta(days=10))
    assert concern_receipt(db, staff["reporter"], ref).category == NOT_OPENED


def test_reopening_a_concern_that_was_not_opened_opens_an_investigation(db, staff):
    ref, last = concern(db, staff, adult(), NOT_OPENING)
    assert concern_receipt(db, staff["reporter"], ref).category == NOT_OPENED
    fire_trigger(db, staff["decider"], ref, "reopen", {"reason": "Ny information."}, now=last + timedelta(days=3))
    item = concern_receipt(db, staff["reporter"], ref)
    assert (item.category, item.since) == (OPENED, last + timedelta(days=3))


def test_a_reporter_sees_only_their_own_concerns_newest_first(db, staff):
    other = add_staff(db, "reporter-2", "Another reporter", "reporter")
    mine_old, _ = concern(db, staff, adult(), start=NOW - timedelta(days=3))
    mine_new, _ = concern(db, staff, adult(416), start=NOW - timedelta(days=1), org="leisure")
    theirs, _ = concern(db, staff, adult(417), by=other)
    assert [i.ref for i in reporter_feedback(db, staff["reporter"])] == [mine_new, mine_old]
    assert [i.ref for i in reporter_feedback(db, other)] == [theirs]
    assert reporter_feedback(db, staff["reporter"])[0].reporter_org == "leisure"
    with pytest.raises(CaseNotFound):
        concern_receipt(db, staff["reporter"], theirs)
    with pytest.raises(CaseNotFound):
        concern_receipt(db, staff["reporter"], "VO-NOTACASE")
    assert concern_receipt(db, other, theirs).ref == theirs


def test_staff_who_registered_a_concern_in_another_role_get_no_feedback_page(db, staff):
    ref, _ = concern(db, staff, adult(), by=staff["intake"])
    for role in ROLES:
        if role == "reporter":
            continue
        with pytest.raises(NotPermitted):
            reporter_feedback(db, staff[role])
        with pytest.raises(NotPermitted):
            concern_receipt(db, staff[role], ref)
    with pytest.raises(NotPermitted):  # claiming the role is not enough: the account must hold it
        reporter_feedback(db, Actor(staff["intake"].id, "reporter"))


def test_feedback_decrypts_nothing_and_carries_no_personal_data(db, staff, monkeypatch):
    number = adult()
    concern(db, staff, number, PATHS["investigation"][1], by=staff["intake"])
    concern(db, staff, number, NOT_OPENING, start=NOW + timedelta(days=10))
    concern(db, staff, child(), PATHS["closed"][1])

    def refuse(*args, **kwargs):
        raise AssertionError("feedback must not open any sealed field")

    for name in ("open", "open_json"):
        monkeypatch.setattr(CaseKey, name, refuse)
    monkeypatch.setattr(Vault, "case_key", refuse)
    items = reporter_feedback(db, staff["reporter"])
    assert sorted(i.category for i in items) == [ALREADY_RUNNING, OPENED]
    assert set(Feedback.__dataclass_fields__) == {
        "ref", "received_at", "reporter_org", "acute_danger", "police_contacted_at", "category", "since"}
    for secret in (GIVEN, FAMILY, number, number[:8]):
        assert secret not in repr(items)


def test_the_receipt_keeps_what_the_reporter_said_about_acute_danger(db, staff):
    called = NOW - timedelta(minutes=20)
    form = ConcernForm(concern="Hot om våld i skolan i dag.", reporter_org="school", identity_number=adult(),
                       acute_danger=True, police_contacted_at=called)
    ref = register_concern(db, staff["reporter"], form, now=NOW).ref
    item = concern_receipt(db, staff["reporter"], ref)
    assert (item.acute_danger, item.police_contacted_at, item.category) == (True, called, RECEIVED)
