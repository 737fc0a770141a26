"""The engine: every branch of the flowchart for a child and an adult, and every refusal with its reason."""

from __future__ import annotations

import gc
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.workflow.sim import ADULT, CHILD, ENGINE, HEARD, SALT, Sim, actor, consent
from workflow import (
    CaseFacts,
    ConsentMissing,
    GuardFailed,
    InvalidInput,
    RoleNotAllowed,
    TransitionNotAllowed,
    UnknownTrigger,
    engine_for,
)
from workflow.engine import _Decision

SIG = ("sig", ["social_services", "police", "school"], ["identity", "concern", "assessment"])
EXIT = ("exit_support", ["exit_service"], ["identity", "concern", "assessment"])
FAMILY = ("family_support", ["family_support_service"], ["contact"])
INVESTIGATION = ("investigation", ["social_services"], ["identity", "concern"])
OTHER = ("other_support", ["social_services"], ["identity", "concern"])
TEXT = "Observerat beteende och behov"


def child_to_investigation() -> Sim:
    sim = Sim(CHILD)
    sim.fire("intake", "assess_protection")
    sim.fire("intake", "start_pre_assessment", protection_assessment=TEXT)
    sim.later(days=3).fire("decider", "open_investigation", reason=TEXT, legal_basis="sol_11_1")
    return sim


def adult_to_investigation() -> Sim:
    sim = Sim(ADULT).give(consent("subject", *INVESTIGATION))
    sim.fire("intake", "start_pre_assessment")
    sim.later(days=3).fire("decider", "open_investigation", reason=TEXT, legal_basis="sol_11_1")
    return sim


def to_awaiting(sim: Sim, proposal: str) -> Sim:
    sim.later(days=10).fire("caseworker", "request_consent", proposed_intervention=proposal)
    return sim


def close_from_follow_up(sim: Sim) -> None:
    sim.later(days=60).fire("caseworker", "start_follow_up")
    sim.later(days=30).fire("decider", "close_case", reason=TEXT, outcome="completed")


# --- every branch, child and adult, from registered to closed ---------------------------------------------




def test_child_without_investigation():
    sim = Sim(CHILD)
    sim.fire("intake", "assess_protection")
    sim.fire("intake", "start_pre_assessment", protection_assessment=TEXT)
    sim.later(days=5).fire("decider", "close_without_investigation", reason=TEXT, outcome="not_opened")
    assert sim.facts.state == "closed"
    assert sim.facts.deadlines == {}
    assert [e.trigger for e in sim.entries] == [
        "register", "assess_protection", "start_pre_assessment", "close_without_investigation"]


def test_adult_without_investigation():
    sim = Sim(ADULT)
    sim.fire("intake", "start_pre_assessment")
    sim.fire("decider", "close_without_investigation", reason=TEXT, outcome="referred_elsewhere")
    assert sim.facts.state == "closed"


@pytest.mark.parametrize("start", [child_to_investigation, adult_to_investigation], ids=["child", "adult"])
def test_investigation_closed_directly(start):
    sim = start().communicate("close_case", answer_by=date(2026, 4, 1))
    sim.later(days=40).fire("decider", "close_case", reason=TEXT, outcome="no_need")
    assert sim.facts.state == "closed"
    assert sim.facts.deadlines == {}


@pytest.mark.parametrize("start, guardians", [(child_to_investigation, True), (adult_to_investigation, False)],
                         ids=["child", "adult"])
@pytest.mark.usefixtures("flowchart_v2")
def test_sig_then_follow_up_then_closed(start, guardians):
    sim = to_awaiting(start(), "sig").give(consent("subject", *SIG))
    if guardians:
        sim.give(consent("guardians", *SIG))
    out = sim.fire("caseworker", "refer_sig", recipients=["police", "school"])
    assert out.state == "sig"
    assert out.shared_with == {"social_services", "police", "school"}
    close_from_follow_up(sim)
    assert sim.facts.state == "closed"


@pytest.mark.parametrize("start, guardians", [(child_to_investigation, True), (adult_to_investigation, False)],
                         ids=["child", "adult"])
@pytest.mark.usefixtures("flowchart_v2")
def test_exit_support_consent_withdrawn_then_reopened_and_closed(start, guardians):
    sim = to_awaiting(start(), "exit_support").give(consent("subject", *EXIT))
    if guardians:
        sim.give(consent("guardians", *EXIT))
    sim.fire("caseworker", "refer_exit")
    with pytest.raises(GuardFailed) as caught:
        sim.fire("caseworker", "withdraw_consent", reason=TEXT)
    assert caught.value.refusals[0].code == "consent_still_active"
    sim.withdraw_all().fire("caseworker", "withdraw_consent", reason=TEXT)
    assert sim.facts.state == "follow_up" and sim.facts.shared_with == frozenset()
    sim.fire("decider", "reopen", reason=TEXT)
    assert sim.facts.state == "investigation"
    sim.fire("decider", "close_case", reason=TEXT, outcome="consent_missing")
    assert sim.facts.state == "closed"


@pytest.mark.parametrize("start, guardians", [(child_to_investigation, True), (adult_to_investigation, False)],
                         ids=["child", "adult"])
@pytest.mark.usefixtures("flowchart_v2")
def test_family_support_needs_the_relatives_consent(start, guardians):
    sim = to_awaiting(start(), "family_support")
    with pytest.raises(ConsentMissing) as caught:
        sim.fire("caseworker", "offer_family_support")
    assert {r.params["given_by"] for r in caught.value.refusals} == ({"relative", "guardians"} if guardians
                                                                     else {"relative"})
    sim.give(consent("relative", *FAMILY))
    if guardians:
        sim.give(consent("guardians", *FAMILY))
    sim.fire("caseworker", "offer_family_support")
    close_from_follow_up(sim)
    assert sim.facts.state == "closed"


@pytest.mark.usefixtures("flowchart_v2")
def test_other_support_needs_the_guardians_consent_for_a_child_and_the_adults_own():
    child = to_awaiting(child_to_investigation(), "other_support")
    with pytest.raises(ConsentMissing):
        child.fire("caseworker", "start_other_support", reason=TEXT)
    child.give(consent("guardians", *OTHER)).fire("caseworker", "start_other_support", reason=TEXT)
    close_from_follow_up(child)
    assert child.facts.state == "closed"

    adult = to_awaiting(adult_to_investigation(), "other_support")
    with pytest.raises(ConsentMissing):
        adult.fire("caseworker", "start_other_support", reason=TEXT)
    adult.give(consent("subject", *OTHER)).fire("caseworker", "start_other_support", reason=TEXT)
    close_from_follow_up(adult)
    assert adult.facts.state == "closed"


@pytest.mark.parametrize("start", [child_to_investigation, adult_to_investigation], ids=["child", "adult"])
@pytest.mark.usefixtures("flowchart_v2")
def test_consent_refused_goes_back_to_investigation(start):
    sim = to_awaiting(start(), "sig")
    sim.fire("caseworker", "consent_refused", reason=TEXT)
    assert sim.facts.state == "investigation"
    sim.fire("decider", "close_case", reason=TEXT, outcome="consent_missing")
    assert sim.facts.state == "closed"


def test_closed_case_is_reopened_or_erased_after_retention():
    sim = Sim(ADULT)
    sim.fire("intake", "start_pre_assessment")
    sim.fire("decider", "close_without_investigation", reason=TEXT, outcome="not_opened")
    with pytest.raises(GuardFailed) as caught:
        sim.later(days=365).fire("system", "erase")
    assert caught.value.refusals[0].code == "retention_not_over"
    assert caught.value.refusals[0].params["until"] == "2031-03-02"
    sim.later(days=4 * 366).fire("system", "erase")
    assert sim.facts.state == "erased"
    assert ENGINE.options(sim.facts, actor("decider"), sim.now) == ()


def test_a_closed_case_is_not_reopened():
    """A new concern about the same person is a new case, not a reopened one (LAW.md; flowchart version 2)."""
    sim = Sim(ADULT)
    sim.fire("intake", "start_pre_assessment")
    sim.fire("decider", "close_without_investigation", reason=TEXT, outcome="moved")
    with pytest.raises(TransitionNotAllowed):
        sim.later(days=20).fire("decider", "reopen", reason=TEXT)
    assert sim.facts.state == "closed"


@pytest.mark.parametrize(("outcome", "allowed"), [("completed", False), ("not_opened", False), ("no_need", True),
                                                   ("consent_missing", True), ("moved", True)])
def test_closing_an_investigation_offers_only_the_outcomes_that_fit_it(outcome, allowed):
    """No intervention has run during an investigation: not "completed"; "not opened" is the pre-assessment's."""
    sim = adult_to_investigation().communicate("close_case", answered=True)  # no_need goes against the person
    if not allowed:
        with pytest.raises(InvalidInput):
            sim.later(days=30).fire("decider", "close_case", reason=TEXT, outcome=outcome)
        assert sim.facts.state == "investigation"
    else:
        sim.later(days=30).fire("decider", "close_case", reason=TEXT, outcome=outcome)
        assert (sim.facts.state, sim.entries[-1].codes["outcome"]) == ("closed", outcome)


@pytest.mark.usefixtures("flowchart_v2")
def test_closing_after_follow_up_offers_completed_but_never_not_opened():
    sim = to_awaiting(adult_to_investigation(), "other_support").give(consent("subject", *OTHER))
    sim.fire("caseworker", "start_other_support", reason=TEXT)
    sim.later(days=60).fire("caseworker", "start_follow_up")
    with pytest.raises(InvalidInput):
        sim.fire("decider", "close_case", reason=TEXT, outcome="not_opened")
    sim.fire("decider", "close_case", reason=TEXT, outcome="completed")
    assert sim.facts.state == "closed"


@pytest.mark.usefixtures("flowchart_v2")
def test_consent_can_be_withdrawn_from_other_support_too():
    """Consent withdrawal is available wherever an intervention runs (LAW.md; flowchart version 2)."""
    sim = to_awaiting(adult_to_investigation(), "other_support").give(consent("subject", *OTHER))
    sim.fire("caseworker", "start_other_support", reason=TEXT)
    with pytest.raises(GuardFailed) as caught:
        sim.fire("caseworker", "withdraw_consent", reason=TEXT)
    assert caught.value.refusals[0].code == "consent_still_active"
    sim.withdraw_all().fire("caseworker", "withdraw_consent", reason=TEXT)
    assert sim.facts.state == "follow_up"


# --- deadlines ----------------------------------------------------------------------------------------------


def test_child_deadlines_follow_the_law():
    sim = child_to_investigation()
    # registered 2026-03-02 10:00 Stockholm: protection same day, pre-assessment within 14 days;
    # opened 2026-03-05: 4 months
    assert sim.entries[0].to_state == "registered"
    assert sim.facts.deadlines == {"investigation": date(2026, 7, 5)}
    sim.fire("decider", "extend_investigation", reason=TEXT, new_due_on="2026-09-01")
    assert sim.facts.deadlines == {"investigation_extended": date(2026, 9, 1)}
    sim.fire("decider", "extend_investigation", reason=TEXT, new_due_on="2026-10-01")
    assert sim.facts.deadlines == {"investigation_extended": date(2026, 10, 1)}


def test_registration_deadlines_for_child_and_adult():
    assert Sim(CHILD).facts.deadlines == {"protection_assessment": date(2026, 3, 2),
                                          "pre_assessment": date(2026, 3, 16)}
    assert Sim(ADULT).facts.deadlines == {}


def test_protection_assessment_received_late_is_due_the_next_day():
    late = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)  # 16:30 in Stockholm
    assert Sim(CHILD, late).facts.deadlines["protection_assessment"] == date(2026, 3, 3)
    night = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)  # 00:30 on 3 March in Stockholm: that day counts
    assert Sim(CHILD, night).facts.deadlines["protection_assessment"] == date(2026, 3, 3)
    summer = datetime(2026, 7, 1, 14, 30, tzinfo=UTC)  # 16:30 in summer time
    assert Sim(CHILD, summer).facts.deadlines["protection_assessment"] == date(2026, 7, 2)


def test_late_pre_assessment_needs_exceptional_reasons():
    sim = Sim(CHILD)
    sim.fire("intake", "assess_protection")
    sim.fire("intake", "start_pre_assessment", protection_assessment=TEXT)
    sim.later(days=15)
    with pytest.raises(InvalidInput) as caught:
        sim.fire("decider", "open_investigation", reason=TEXT, legal_basis="sol_11_1")
    assert caught.value.refusals[0].code == "late_pre_assessment"
    assert caught.value.refusals[0].params == {"due": "2026-03-16", "field": "special_reason"}
    option = sim.options("decider")["open_investigation"]
    assert option.allowed and "special_reason" in option.requires
    sim.fire("decider", "open_investigation", reason=TEXT, legal_basis="sol_11_1", special_reason=TEXT)
    assert sim.facts.state == "investigation"


def test_extension_must_move_the_date_forward():
    sim = child_to_investigation()
    for bad in ("2026-03-01", "2026-07-05", "2026-06-30"):
        with pytest.raises(GuardFailed) as caught:
            sim.fire("decider", "extend_investigation", reason=TEXT, new_due_on=bad)
        assert caught.value.refusals[0].code == "due_date_not_future"


# --- refusals, each with its reason -------------------------------------------------------------------------


def test_unknown_trigger():
    with pytest.raises(UnknownTrigger, match="unknown trigger 'fly'"):
        Sim(ADULT).fire("intake", "fly")


def test_trigger_not_allowed_from_this_state():
    with pytest.raises(TransitionNotAllowed) as caught:
        Sim(ADULT).fire("decider", "close_case", reason=TEXT, outcome="no_need")
    refusal = caught.value.refusals[0]
    assert refusal.code == "wrong_state"
    assert refusal.params == {"state": "registered", "allowed": ["follow_up", "investigation"]}
    assert "cannot be done in state registered" in str(caught.value)
    assert "kan inte göras i läget registered" in caught.value.text("sv")


@pytest.mark.parametrize("role", ["reporter", "coordinator", "caseworker", "decider", "partner", "auditor", "admin"])
def test_role_not_allowed(role):
    with pytest.raises(RoleNotAllowed) as caught:
        Sim(ADULT).fire(role, "start_pre_assessment")
    assert caught.value.refusals[0].params == {"role": role, "allowed": ["intake"]}


def test_role_not_allowed_to_register():
    with pytest.raises(RoleNotAllowed):
        ENGINE.register("VO-X", actor("partner"), datetime.now(UTC), ADULT, datetime.now(UTC), salt=SALT)


def test_adult_cannot_take_the_child_path_and_vice_versa():
    with pytest.raises(GuardFailed) as caught:
        Sim(ADULT).fire("intake", "assess_protection")
    assert caught.value.refusals[0].code == "not_child"
    with pytest.raises(GuardFailed) as caught:
        Sim(CHILD).fire("intake", "start_pre_assessment")
    assert caught.value.refusals[0].code == "not_adult"


BAD_FIELDS = {
    "missing": ({"legal_basis": "sol_11_1"}, "missing_field", "reason"),
    "blank": ({"reason": "   ", "legal_basis": "sol_11_1"}, "missing_field", "reason"),
    "not text": ({"reason": 42, "legal_basis": "sol_11_1"}, "invalid_field", "reason"),
    "too long": ({"reason": "x" * 20_001, "legal_basis": "sol_11_1"}, "invalid_field", "reason"),
    "unknown code": ({"reason": TEXT, "legal_basis": "gdpr"}, "invalid_field", "legal_basis"),
    "code not allowed here": ({"reason": TEXT, "legal_basis": "osl_10_18a"}, "invalid_field", "legal_basis"),
    "unexpected field": ({"reason": TEXT, "legal_basis": "sol_11_1", "notes": "x"}, "unexpected_field", "notes"),
}


@pytest.mark.parametrize("payload, code, field", BAD_FIELDS.values(), ids=BAD_FIELDS.keys())
def test_bad_form_is_refused_naming_the_field(payload, code, field):
    sim = Sim(CHILD)
    sim.fire("intake", "assess_protection")
    sim.fire("intake", "start_pre_assessment", protection_assessment=TEXT)
    with pytest.raises(InvalidInput) as caught:
        sim.fire("decider", "open_investigation", **payload)
    assert (caught.value.refusals[0].code, caught.value.refusals[0].params["field"]) == (code, field)
    assert sim.facts.state == "pre_assessment"
    if isinstance(payload.get("reason"), str) and payload["reason"].strip():
        assert payload["reason"][:20] not in str(caught.value)  # the text typed is never echoed


@pytest.mark.usefixtures("flowchart_v2")
def test_bad_date_and_bad_code_list():
    sim = child_to_investigation()
    with pytest.raises(InvalidInput) as caught:
        sim.fire("decider", "extend_investigation", reason=TEXT, new_due_on="next week")
    assert caught.value.refusals[0].params == {"field": "new_due_on", "problem": "not_a_date"}
    to_awaiting(sim, "sig").give(consent("subject", *SIG), consent("guardians", *SIG))
    for bad in ("police", ["police", "mi5"]):
        with pytest.raises(InvalidInput):
            sim.fire("caseworker", "refer_sig", recipients=bad)


# --- consent -------------------------------------------------------------------------------------------------


def awaiting_sig(birth: date) -> Sim:
    start = child_to_investigation if birth == CHILD else adult_to_investigation
    return to_awaiting(start(), "sig")


CONSENT_CASES = {
    "none": (ADULT, [], {("consent_missing", "subject")}),
    "wrong purpose": (ADULT, [consent("subject", *EXIT)], {("consent_missing", "subject")}),
    "recipient not covered": (ADULT, [consent("subject", "sig", ["social_services", "police"], SIG[2])],
                              {("consent_incomplete", "subject")}),
    "data category not covered": (ADULT, [consent("subject", "sig", SIG[1], ["identity"])],
                                  {("consent_incomplete", "subject")}),
    "expired": (ADULT, [consent("subject", *SIG, valid_until=date(2026, 3, 3))], {("consent_missing", "subject")}),
    "not yet valid": (ADULT, [consent("subject", *SIG, valid_from=date(2027, 1, 1))],
                      {("consent_missing", "subject")}),
    "withdrawn": (ADULT, [consent("subject", *SIG, status="withdrawn")], {("consent_missing", "subject")}),
    "refused": (ADULT, [consent("subject", *SIG, status="refused")], {("consent_missing", "subject")}),
    "guardian only for an adult": (ADULT, [consent("guardians", *SIG)], {("consent_missing", "subject")}),
    "child without guardians": (CHILD, [consent("subject", *SIG)], {("consent_missing", "guardians")}),
    "child without own consent": (CHILD, [consent("guardians", *SIG)], {("consent_missing", "subject")}),
    "adult covered": (ADULT, [consent("subject", *SIG)], set()),
    "child covered": (CHILD, [consent("subject", *SIG), consent("guardians", *SIG)], set()),
}


@pytest.mark.parametrize("birth, consents, expected", CONSENT_CASES.values(), ids=CONSENT_CASES.keys())
@pytest.mark.usefixtures("flowchart_v2")
def test_refer_sig_needs_consent_covering_purpose_recipients_and_data(birth, consents, expected):
    sim = awaiting_sig(birth).give(*consents)
    refusals = sim.engine.check(sim.facts, actor("caseworker"), "refer_sig", {"recipients": ["police", "school"]},
                                sim.now)
    assert {(r.code, r.params["given_by"]) for r in refusals} == expected
    if expected:
        with pytest.raises(ConsentMissing):
            sim.fire("caseworker", "refer_sig", recipients=["police", "school"])
    else:
        assert sim.fire("caseworker", "refer_sig", recipients=["police", "school"]).state == "sig"


@pytest.mark.usefixtures("flowchart_v2")
def test_guardians_consent_is_not_needed_once_the_person_has_turned_18():
    turns_18 = date(2008, 4, 1)  # a child on receipt (2 March 2026), 18 from 1 April 2026
    sim = Sim(turns_18)
    sim.fire("intake", "assess_protection")
    sim.fire("intake", "start_pre_assessment", protection_assessment=TEXT)
    sim.fire("decider", "open_investigation", reason=TEXT, legal_basis="sol_11_1")
    to_awaiting(sim, "sig").give(consent("subject", *SIG))
    with pytest.raises(ConsentMissing):
        sim.fire("caseworker", "refer_sig", recipients=["police"])
    sim.later(days=30).fire("caseworker", "refer_sig", recipients=["police"])
    assert sim.facts.state == "sig"


def test_adult_investigation_needs_consent():
    sim = Sim(ADULT)
    sim.fire("intake", "start_pre_assessment")
    with pytest.raises(ConsentMissing) as caught:
        sim.fire("decider", "open_investigation", reason=TEXT, legal_basis="sol_11_1")
    assert caught.value.refusals[0].params == {"given_by": "subject", "purpose": "investigation"}
    option = sim.options("decider")["open_investigation"]
    assert not option.allowed and option.refusals[0].code == "consent_missing"


@pytest.mark.usefixtures("flowchart_v2")
def test_sig_outside_15_to_25_warns_but_is_allowed():
    sim = adult_to_investigation()  # 25 on receipt, 26 by the referral
    to_awaiting(sim, "sig").give(consent("subject", *SIG)).later(days=365)
    out = sim.fire("caseworker", "refer_sig", recipients=["police"])
    assert out.state == "sig"
    assert [w.code for w in out.warnings] == ["sig_age_range"]
    assert "15–25" in out.warnings[0].text("en")


# --- what the engine answers and keeps ---------------------------------------------------------------------


def test_options_list_each_trigger_with_its_reasons():
    sim = Sim(CHILD)
    intake = sim.options("intake")
    assert set(intake) == {"assess_protection", "start_pre_assessment"}
    assert intake["assess_protection"].allowed
    assert not intake["start_pre_assessment"].allowed
    assert intake["start_pre_assessment"].refusals[0].code == "not_adult"
    reporter = sim.options("reporter")
    assert not reporter["assess_protection"].allowed
    assert reporter["assess_protection"].refusals[0].code == "role"
    sim.fire("intake", "assess_protection")
    assert sim.options("intake")["start_pre_assessment"].requires == ("protection_assessment", "assessment")


def test_log_entry_holds_codes_and_a_salted_hash_but_no_free_text():
    sim = Sim(CHILD)
    sim.fire("intake", "assess_protection")
    out = sim.fire("intake", "start_pre_assessment", protection_assessment="Hemlig fritext om personen")
    data = out.entry.canonical()
    assert b"Hemlig" not in data and b"Barnets" not in data
    assert set(out.entry.codes) == {"assessment", "assessment_decision", "child_heard", "assessment_hash"}
    closed = sim.fire("decider", "close_without_investigation", reason="Hemlig motivering", outcome="not_opened")
    assert closed.entry.codes["outcome"] == "not_opened"
    assert closed.entry.codes["age_group"] == "child"
    assert b"Hemlig" not in closed.entry.canonical()
    other_salt = ENGINE.fire(
        CaseFacts("VO-TEST0001", "pre_assessment", sim.facts.received_at, CHILD, deadlines={}),
        actor("decider"), "close_without_investigation", {"reason": "Hemlig motivering", "outcome": "not_opened"},
        sim.now, salt=b"another salt 16b", assessment=HEARD,
    )
    assert other_salt.entry.payload_hash != closed.entry.payload_hash


def test_engine_is_compiled_once_per_version_and_keeps_nothing_per_case():
    assert engine_for(ENGINE.chart) is ENGINE
    for i in range(2_000):
        facts = CaseFacts(f"VO-{i:08d}", "registered", datetime(2026, 3, 2, 9, tzinfo=UTC), ADULT)
        ENGINE.fire(facts, actor("intake"), "start_pre_assessment", {}, datetime(2026, 3, 2, 10, tzinfo=UTC),
                    salt=SALT)
        ENGINE.options(facts, actor("intake"), datetime(2026, 3, 2, 10, tzinfo=UTC))
    gc.collect()
    assert ENGINE.machine.models == []
    assert not [o for o in gc.get_objects() if isinstance(o, _Decision)]
    assert ENGINE.machine.get_triggers("registered") != []  # the graph is still there


def test_no_automatic_transitions_are_compiled():
    triggers = set(ENGINE.machine.events)
    assert triggers == set(ENGINE.chart.triggers)
    assert not any(t.startswith("to_") for t in triggers)


def test_time_must_be_timezone_aware():
    sim = Sim(ADULT)
    with pytest.raises(ValueError):
        ENGINE.fire(sim.facts, actor("intake"), "start_pre_assessment", {}, datetime(2026, 3, 3), salt=SALT)
    with pytest.raises(ValueError):
        ENGINE.fire(sim.facts, actor("intake"), "start_pre_assessment", {}, sim.now + timedelta(1), salt=b"short")


def test_a_moment_is_not_a_date_and_odd_keys_are_refused_cleanly():
    sim = child_to_investigation()
    with pytest.raises(InvalidInput) as caught:
        sim.fire("decider", "extend_investigation", reason=TEXT, new_due_on=datetime(2027, 1, 1, tzinfo=UTC))
    assert caught.value.refusals[0].params == {"field": "new_due_on", "problem": "not_a_date"}
    with pytest.raises(InvalidInput):
        ENGINE.fire(sim.facts, actor("decider"), "extend_investigation",
                    {"reason": TEXT, "new_due_on": "2026-09-01", 1: "x"}, sim.now, salt=SALT)


def test_protection_assessment_is_due_from_receipt_not_registration():
    received = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)  # 14:00 in Stockholm
    registered = received + timedelta(days=2, hours=3)
    outcome = ENGINE.register("VO-LATE0001", actor("intake"), received, CHILD, registered, salt=SALT)
    assert outcome.starts["protection_assessment"] == date(2026, 3, 2)
    assert outcome.starts["pre_assessment"] == date(2026, 3, 16)
