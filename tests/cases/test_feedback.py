"""Feedback to a reporter on both databases: only received / investigation opened / not opened / already
running, only to a mandatory reporter about a child, unless it was decided not to give it (law.toml
sol_feedback: socialtjänstlagen (2025:400), the provision on feedback to the reporter, in words; osl_26_9a),
only on their own concerns, read without decrypting anything."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from cases import CaseNotFound, ConcernForm, NotPermitted, add_staff, fire_trigger, register_concern
from cases.casework import feedback as feedback_module
from cases.casework.feedback import (
    ALREADY_RUNNING,
    NOT_OPENED,
    OPENED,
    RECEIVED,
    Feedback,
    concern_receipt,
    reporter_feedback,
    withhold_feedback,
)
from cases.crypto.identity import generate_identity_number
from cases.crypto.vault import CaseKey, Vault
from cases.errors import AccessDenied, InvalidConcern
from cases.models import Case, CaseEvent, TransitionLogEntry
from tests.cases.route_v2 import PATHS, Step, drive
from tests.conftest import NOW, ROLES
from workflow import GENESIS, Actor, chain_hash
from workflow.hearing import Assessment

V1 = Path(__file__).with_name("fixtures") / "vid_oro_v1.toml"
GIVEN, FAMILY = "Vera", "Testsson-Åberg"
# A child's paths (feedback is about a concern about a child): to the pre-assessment, opened, not opened.
CHILD_PRE = PATHS["closed"][1][:2]
OPENING = PATHS["closed"][1][:3]
NOT_OPENING = [*CHILD_PRE,
               Step("decider", "close_without_investigation", {"reason": "Ej aktuellt.", "outcome": "not_opened"},
                    assessment=Assessment("Oron och behoven.", not_heard_reason="not_reached"))]


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


ERASING = [*NOT_OPENING, Step("system", "erase", {}, days_later=366 * 5 + 30)]
CHILD_PATHS = {"pre_assessment": CHILD_PRE, "investigation": OPENING, "not_opened": NOT_OPENING, "erased": ERASING}


@pytest.mark.parametrize(("path", "is_child", "expected"), [
    ("registered", True, RECEIVED),
    ("protection_assessment", True, RECEIVED),
    ("pre_assessment", True, RECEIVED),
    ("investigation", True, OPENED),
    ("closed", True, OPENED),  # opened, then closed: the reporter was told it was opened
    ("not_opened", True, NOT_OPENED),
    ("erased", True, NOT_OPENED),  # not opened, and later erased: the log still says so
    ("investigation", False, RECEIVED),  # an adult's concern: no feedback beyond "received"
    ("sig", False, RECEIVED),
    ("erased", False, RECEIVED),
])
@pytest.mark.usefixtures("flowchart_v2")
def test_each_path_gives_the_category_the_law_allows(db, staff, path, is_child, expected):
    steps = CHILD_PATHS[path] if is_child and path in CHILD_PATHS else PATHS[path][1]
    ref, last = concern(db, staff, child() if is_child else adult(), steps,
                        start=NOW - timedelta(days=2000) if path == "erased" else NOW)
    (item,) = reporter_feedback(db, staff["reporter"])
    assert (item.ref, item.category) == (ref, expected)
    assert item == concern_receipt(db, staff["reporter"], ref)
    if expected == RECEIVED:
        assert item.since == item.received_at
    else:
        assert item.received_at < item.since <= last


def test_not_opened_while_an_investigation_about_the_same_person_runs_is_already_running(db, staff):
    number = child()
    concern(db, staff, number, OPENING, by=staff["intake"])  # the person's running case
    ref, _ = concern(db, staff, number, NOT_OPENING, start=NOW + timedelta(days=10))
    assert concern_receipt(db, staff["reporter"], ref).category == ALREADY_RUNNING
    other_person, _ = concern(db, staff, child(239), NOT_OPENING, start=NOW + timedelta(days=10))
    assert concern_receipt(db, staff["reporter"], other_person).category == NOT_OPENED


def test_an_investigation_that_ended_before_the_decision_is_not_already_running(db, staff):
    number = child()
    earlier, last = concern(db, staff, number, OPENING, by=staff["intake"])
    fire_trigger(db, staff["decider"], earlier, "close_case", {"reason": "Klart.", "outcome": "referred_elsewhere"},
                 now=last + timedelta(days=1))
    ref, _ = concern(db, staff, number, NOT_OPENING, start=last + timedelta(days=2))
    assert concern_receipt(db, staff["reporter"], ref).category == NOT_OPENED


def test_an_investigation_opened_after_the_decision_changes_nothing(db, staff):
    number = child()
    ref, last = concern(db, staff, number, NOT_OPENING)
    concern(db, staff, number, OPENING, start=last + timedelta(days=1), by=staff["intake"])
    assert concern_receipt(db, staff["reporter"], ref).category == NOT_OPENED


def test_a_concern_without_identity_number_is_never_already_running(db, staff):
    number = child()
    concern(db, staff, number, OPENING, by=staff["intake"])
    form = ConcernForm(concern="Oro.", reporter_org="leisure", birth_date=date(2012, 5, 17))
    ref = register_concern(db, staff["reporter"], form, now=NOW + timedelta(days=10)).ref
    drive(db, staff, ref, NOT_OPENING, NOW + timedelta(days=10))
    assert concern_receipt(db, staff["reporter"], ref).category == NOT_OPENED


def test_reopening_a_concern_that_was_not_opened_opens_an_investigation(db, staff, monkeypatch):
    # Only a case of flowchart version 1 can be reopened once closed; it keeps that version to the end.
    monkeypatch.setenv("VIDORO_FLOWCHART", str(V1))
    ref, last = concern(db, staff, child(), NOT_OPENING)
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
    number = child()
    concern(db, staff, number, OPENING, by=staff["intake"])
    concern(db, staff, number, NOT_OPENING, start=NOW + timedelta(days=10))
    concern(db, staff, child(239), PATHS["closed"][1])

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


# --- where the law gives no feedback, and the decision not to give it ------------------------------------


def test_feedback_is_given_only_to_a_mandatory_reporter_about_a_child(db, staff, monkeypatch):
    """Feedback is for a mandatory reporter's concern about a child (under 18 on receipt); an adult's concern
    gets "received" only, whatever is decided (law.toml sol_feedback, in words; osl_26_9a)."""
    about_child, _ = concern(db, staff, child(), OPENING)
    about_adult, _ = concern(db, staff, adult(), PATHS["investigation"][1])
    assert concern_receipt(db, staff["reporter"], about_child).category == OPENED
    assert concern_receipt(db, staff["reporter"], about_adult).category == RECEIVED
    from_elsewhere, _ = concern(db, staff, child(239), OPENING, org="leisure")
    assert concern_receipt(db, staff["reporter"], from_elsewhere).category == OPENED
    policy = feedback_module.rules()
    narrower = replace(policy, mandatory_reporters=policy.mandatory_reporters - {"leisure"})
    monkeypatch.setattr(feedback_module, "rules", lambda: narrower)
    assert concern_receipt(db, staff["reporter"], from_elsewhere).category == RECEIVED  # not a mandatory reporter
    assert concern_receipt(db, staff["reporter"], about_child).category == OPENED


def test_a_decision_not_to_give_feedback_leaves_the_reporter_with_received(db, staff):
    """Where feedback would be inappropriate, the decider or caseworker records a decision not to give it,
    with a sealed reason; the reporter then sees "received" only (law.toml sol_feedback, in words)."""
    ref, last = concern(db, staff, child(), OPENING)
    assert concern_receipt(db, staff["reporter"], ref).category == OPENED
    reason = "Återkoppling kan utsätta barnet för fara i hemmet."
    done = withhold_feedback(db, staff["decider"], ref, reason, now=last + timedelta(hours=1))
    seq = done.seq
    assert (done.ref, done.state) == (ref, "investigation")
    item = concern_receipt(db, staff["reporter"], ref)
    assert (item.category, item.since) == (RECEIVED, item.received_at)
    assert [i.category for i in reporter_feedback(db, staff["reporter"])] == [RECEIVED]
    with db.read() as s:
        entry = s.get(TransitionLogEntry, seq)
        body = json.loads(entry.entry)
        assert (entry.trigger, entry.case_ref, body["codes"]) == ("withhold_feedback", ref, {"feedback": "withheld"})
        assert body["from"] == body["to"] == "investigation"
        assert reason[:20].encode() not in entry.entry
        event = s.get(CaseEvent, seq)
        assert reason[:20].encode() not in event.payload
        case = s.scalars(select(Case).where(Case.ref == ref)).one()
        fields = db.vault.case_key(case.id).open_json("case_events", str(seq), "payload", event.payload)["fields"]
        assert fields == {"reason": reason}
    previous = GENESIS
    with db.read() as s:  # the chain still holds over the new entry
        for row in s.scalars(select(TransitionLogEntry).order_by(TransitionLogEntry.seq)):
            previous = chain_hash(previous, row.entry)
            assert row.chain_hash == previous


def test_only_staff_with_a_ground_decide_not_to_give_feedback_and_they_say_why(db, staff):
    """The decision not to give feedback is a caseworker's or decision maker's, with a reason (law.toml
    sol_feedback); nobody else's, and never without a reason."""
    ref, last = concern(db, staff, child(), OPENING)
    for role in ("reporter", "coordinator", "intake", "partner", "auditor", "admin"):
        with pytest.raises(NotPermitted):
            withhold_feedback(db, staff[role], ref, "Olämpligt.", now=last)
    for reason in ("", "   "):
        with pytest.raises(InvalidConcern) as caught:
            withhold_feedback(db, staff["decider"], ref, reason, now=last)
        assert caught.value.field == "reason"
    with pytest.raises(AccessDenied):  # a caseworker who is not assigned has no ground on the case
        withhold_feedback(db, staff["caseworker"], ref, "Olämpligt.", now=last)
    assert concern_receipt(db, staff["reporter"], ref).category == OPENED


def test_a_case_registered_before_the_age_group_was_logged_is_judged_by_its_birth_date(db, staff):
    """Without the age group in its first entry (cases registered before it was logged), whether the concern
    was about a child is decided from the birth date, opened for that decision only (law.toml sol_feedback)."""
    about_child, _ = concern(db, staff, child())
    about_adult, _ = concern(db, staff, adult())
    with db.read() as s:
        for ref, expected in ((about_child, True), (about_adult, False)):
            case = s.scalars(select(Case).where(Case.ref == ref)).one()
            assert feedback_module._about_child(db, s, case, None) is expected
            assert feedback_module._about_child(db, s, case, "child") is True  # the logged code decides first
