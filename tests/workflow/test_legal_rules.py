"""The legal rules the engine enforces beside the flowchart (policies/rules.toml; LAW.md, last section).

Each test is named after its rule and cites the provision by its law.toml key; a number that LAW.md has
not verified is cited in words there, never here.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from policies.rules import load_rules
from tests.workflow.sim import CHILD, Sim, actor, consent
from workflow import ConsentMissing, GuardFailed
from workflow import guards as guards_module

TEXT = "Observerat beteende och behov"
OTHER = ("other_support", ["social_services"], ["identity", "concern"])
INVESTIGATION = ("investigation", ["social_services"], ["identity", "concern"])
TURNS_18 = date(2008, 3, 10)  # 17 on receipt (2 March 2026), 18 from 10 March 2026
YOUNG_ADULT = date(2007, 1, 9)  # 19 on receipt
FIFTEEN = date(2011, 1, 9)  # 15 on receipt
FOURTEEN = date(2012, 1, 9)  # 14 on receipt


def to_pre_assessment_as_child(sim: Sim) -> Sim:
    sim.fire("intake", "assess_protection")
    sim.fire("intake", "start_pre_assessment", protection_assessment=TEXT)
    return sim


def child_awaiting_other_support(birth: date) -> Sim:
    sim = to_pre_assessment_as_child(Sim(birth))
    sim.later(days=3).fire("decider", "open_investigation", reason=TEXT, legal_basis="sol_11_1")
    sim.later(days=2).fire("caseworker", "request_consent", proposed_intervention="other_support")
    return sim


# --- 1. child or adult is decided at every decision ------------------------------------------------------


def test_child_or_adult_is_decided_at_each_decision():
    """A person who turned 18 since receipt is an adult for the next decision (law.toml sol_child_age:
    socialtjänstlagen (2025:400), the provision that a child is every person under 18)."""
    sim = Sim(TURNS_18)
    assert {"protection_assessment", "pre_assessment"} <= set(sim.facts.deadlines)  # a child on receipt
    sim.later(days=8)  # 18 now
    with pytest.raises(GuardFailed) as caught:
        sim.fire("intake", "assess_protection")
    assert caught.value.refusals[0].code == "not_child"
    assert "beslutsdagen" in caught.value.refusals[0].text("sv")
    sim.fire("intake", "start_pre_assessment")
    assert sim.facts.deadlines == {}  # a child's time limits stop once the person is an adult
    with pytest.raises(ConsentMissing) as refused:  # an adult's investigation needs their own consent
        sim.fire("decider", "open_investigation", reason=TEXT, legal_basis="sol_11_1")
    assert refused.value.refusals[0].params == {"given_by": "subject", "purpose": "investigation"}
    sim.give(consent("subject", *INVESTIGATION)).fire("decider", "open_investigation", reason=TEXT,
                                                       legal_basis="sol_11_1")
    assert "investigation" not in sim.facts.deadlines  # the four months are a child's investigation's


@pytest.mark.usefixtures("flowchart_v2")
def test_a_child_at_receipt_who_turns_18_before_the_intervention_needs_their_own_consent():
    """The decision to grant an intervention judges age on its own day (law.toml sol_child_age, in words)."""
    sim = to_pre_assessment_as_child(Sim(TURNS_18))
    sim.fire("decider", "open_investigation", reason=TEXT, legal_basis="sol_11_1")  # a child: no consent
    assert "investigation" in sim.facts.deadlines
    sim.fire("caseworker", "request_consent", proposed_intervention="other_support")
    sim.give(consent("guardians", *OTHER))
    assert sim.engine.check(sim.facts, actor("caseworker"), "start_other_support", {"reason": TEXT}, sim.now) == ()
    sim.later(days=10)  # 18 now: the guardians' consent no longer decides, the person's own does
    refusals = sim.engine.check(sim.facts, actor("caseworker"), "start_other_support", {"reason": TEXT}, sim.now)
    assert [(r.code, r.params["given_by"]) for r in refusals] == [("consent_missing", "subject")]
    outcome = sim.give(consent("subject", *OTHER)).fire("caseworker", "start_other_support", reason=TEXT)
    assert outcome.entry.codes["age_group"] == "young_adult"
    assert "investigation" not in outcome.starts and "investigation" in outcome.stops


def test_a_person_aged_18_to_20_is_flagged_at_each_decision():
    """18–20 is flagged to staff at a decision, and recorded with it as a code (law.toml sol_child_age;
    osl_10_18a: rules for those under 21 may still apply)."""
    sim = Sim(YOUNG_ADULT).give(consent("subject", *INVESTIGATION))
    routing = sim.fire("intake", "start_pre_assessment")
    assert routing.warnings == ()  # intake's routing is not a decision in rules.toml
    option = sim.options("decider")["open_investigation"]
    assert option.allowed and [w.code for w in option.warnings] == ["young_adult"]
    assert "18–20" in option.warnings[0].text("sv") and "18–20" in option.warnings[0].text("en")
    assert "socialtjänstlagen (2025:400)" in option.warnings[0].text("en")
    outcome = sim.fire("decider", "open_investigation", reason=TEXT, legal_basis="sol_11_1")
    assert [w.code for w in outcome.warnings] == ["young_adult"]
    assert (outcome.entry.codes["age_group"], outcome.entry.codes["warnings"]) == ("young_adult", ["young_adult"])
    adult = Sim(date(2001, 1, 9)).give(consent("subject", *INVESTIGATION))
    adult.fire("intake", "start_pre_assessment")
    assert adult.fire("decider", "open_investigation", reason=TEXT, legal_basis="sol_11_1").warnings == ()


def test_the_age_group_at_each_decision_is_logged_as_a_code_without_the_birth_date():
    """The log holds the age group (child, young_adult, adult) at receipt and at each decision, never the
    birth date (DESIGN.md §5; law.toml sol_child_age)."""
    sim = Sim(TURNS_18)
    assert sim.entries[0].codes["age_group"] == "child"
    to_pre_assessment_as_child(sim)
    assert "age_group" not in sim.entries[-1].codes  # not a decision
    closed = sim.later(days=9).fire("decider", "close_without_investigation", reason=TEXT, outcome="not_opened")
    assert closed.entry.codes == {"outcome": "not_opened", "age_group": "young_adult", "warnings": ["young_adult"]}
    for entry in sim.entries:
        assert b"2008" not in entry.canonical()


# --- 3. guardians' consent for a child's voluntary intervention ------------------------------------------


@pytest.mark.usefixtures("flowchart_v2")
def test_a_childs_voluntary_intervention_needs_the_guardians_consent():
    """Under 18 on the day of the decision, a voluntary intervention needs the guardians' consent (law.toml
    sol_child_consent: socialtjänstlagen (2025:400), the provisions on guardians' consent, in words)."""
    sim = child_awaiting_other_support(CHILD).give(consent("subject", *OTHER))
    with pytest.raises(ConsentMissing) as caught:
        sim.fire("caseworker", "start_other_support", reason=TEXT)
    refusal = caught.value.refusals[0]
    assert (refusal.code, refusal.params["given_by"]) == ("guardians_consent_missing", "guardians")
    assert "vårdnadshavarnas samtycke" in refusal.text("sv")
    assert "bestämmelserna om vårdnadshavares samtycke" in refusal.text("en")
    option = sim.options("caseworker")["start_other_support"]
    assert not option.allowed and option.refusals[0].code == "guardians_consent_missing"
    assert sim.give(consent("guardians", *OTHER)).fire("caseworker", "start_other_support", reason=TEXT)


def test_a_childs_investigation_needs_no_consent():
    """Investigating a child needs no consent (DESIGN.md §2; law.toml sol_14_2_1, the duty to investigate)."""
    sim = to_pre_assessment_as_child(Sim(CHILD))
    assert sim.fire("decider", "open_investigation", reason=TEXT, legal_basis="sol_11_1").state == "investigation"


@pytest.fixture
def own_consent_for_other_support(monkeypatch):
    rules = load_rules()
    child = replace(rules.child_consent, own_consent_interventions=frozenset({"other_support"}))
    monkeypatch.setattr(guards_module, "rules", lambda: replace(rules, child_consent=child))


@pytest.mark.usefixtures("flowchart_v2")
def test_from_15_a_child_may_consent_alone_to_the_open_interventions_policy_lists(own_consent_for_other_support):
    """From 15, the child's own consent suffices for the open interventions rules.toml lists (law.toml
    sol_child_own_consent, in words); younger, the guardians' consent is needed."""
    fifteen = child_awaiting_other_support(FIFTEEN).give(consent("subject", *OTHER))
    assert fifteen.fire("caseworker", "start_other_support", reason=TEXT).state == "other_support"
    fourteen = child_awaiting_other_support(FOURTEEN).give(consent("subject", *OTHER))
    with pytest.raises(ConsentMissing):
        fourteen.fire("caseworker", "start_other_support", reason=TEXT)


@pytest.mark.usefixtures("flowchart_v2")
def test_the_shipped_rules_let_no_child_consent_alone_until_a_lawyer_lists_the_interventions():
    """The list of open interventions a child of 15 may consent to is policy data, empty as shipped."""
    assert load_rules().child_consent.own_consent_interventions == frozenset()
    sim = child_awaiting_other_support(FIFTEEN).give(consent("subject", *OTHER))
    with pytest.raises(ConsentMissing):
        sim.fire("caseworker", "start_other_support", reason=TEXT)
