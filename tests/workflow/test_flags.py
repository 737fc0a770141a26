"""Flags on a case warn at the steps they affect, naming the flag, and the warning is in the step's entry."""

from __future__ import annotations

from dataclasses import replace

from policies.flags import load_flags
from tests.workflow.sim import ADULT, CHILD, Sim

TEXT = "Observerat beteende och behov"
HONOUR, CLOSE = "honour_violence", "close_relationship_violence"


def flagged(sim: Sim, *codes: str) -> Sim:
    sim.facts = replace(sim.facts, flags=frozenset(codes))
    return sim


def child_in_investigation(*codes: str) -> Sim:
    sim = flagged(Sim(CHILD), *codes)
    sim.fire("intake", "assess_protection")
    sim.fire("intake", "start_pre_assessment", protection_assessment=TEXT)
    sim.later(days=3).fire("decider", "open_investigation", reason=TEXT, legal_basis="sol_11_1")
    return sim


def test_a_flag_warns_at_the_decision_naming_the_flag_and_the_entry_records_it():
    sim = flagged(Sim(CHILD), CLOSE)
    routing = sim.fire("intake", "assess_protection")
    assert routing.warnings == () and "flags" not in routing.entry.codes  # not a step the flag affects
    sim.fire("intake", "start_pre_assessment", protection_assessment=TEXT)
    option = sim.options("decider")["open_investigation"]
    assert option.allowed and [w.code for w in option.warnings] == ["flagged"]
    assert "Våld i nära relationer" in option.warnings[0].text("sv")
    assert "Violence in close relationships" in option.warnings[0].text("en")
    outcome = sim.later(days=3).fire("decider", "open_investigation", reason=TEXT, legal_basis="sol_11_1")
    assert [w.code for w in outcome.warnings] == ["flagged"]
    assert outcome.entry.codes["warnings"] == ["flagged"] and outcome.entry.codes["flags"] == [CLOSE]


def test_without_a_flag_the_same_steps_do_not_warn():
    sim = child_in_investigation()
    assert sim.entries[-1].codes.get("warnings") is None
    assert sim.fire("caseworker", "request_consent", proposed_intervention="sig").warnings == ()


def test_a_flag_warns_only_at_the_steps_it_names():
    flag = load_flags()[CLOSE]
    sim = child_in_investigation(CLOSE)
    for trigger, option in sim.options("decider").items():
        expected = trigger in flag.warn_on
        assert ("flagged" in [w.code for w in option.warnings]) is expected, trigger


def test_honour_violence_on_a_childs_case_warns_at_the_guardians_consent():
    """The route change as data: seeking the guardians' consent may put the child at risk."""
    sim = child_in_investigation(HONOUR)
    outcome = sim.fire("caseworker", "request_consent", proposed_intervention="sig")
    assert [w.code for w in outcome.warnings] == ["flagged", "flag_guardians_risk"]
    risk = outcome.warnings[1]
    assert "vårdnadshavarna" in risk.text("sv") and "Hedersrelaterat" in risk.text("sv")
    assert "guardians" in risk.text("en") and "Honour-related" in risk.text("en")
    assert outcome.entry.codes["warnings"] == ["flagged", "flag_guardians_risk"]
    assert outcome.entry.codes["flags"] == [HONOUR]


def test_honour_violence_on_an_adults_case_gives_no_guardians_warning():
    sim = flagged(Sim(ADULT), HONOUR)
    sim.fire("intake", "start_pre_assessment")
    option = sim.options("decider")["close_without_investigation"]
    assert [w.code for w in option.warnings] == ["flagged"]


def test_close_relationship_violence_gives_no_guardians_warning_on_a_childs_case():
    sim = child_in_investigation(CLOSE)
    outcome = sim.fire("caseworker", "request_consent", proposed_intervention="sig")
    assert [w.code for w in outcome.warnings] == ["flagged"]


def test_both_flags_are_named():
    sim = child_in_investigation(CLOSE, HONOUR)
    outcome = sim.fire("caseworker", "request_consent", proposed_intervention="sig")
    assert outcome.entry.codes["flags"] == [CLOSE, HONOUR]
    assert sorted(w.code for w in outcome.warnings) == ["flag_guardians_risk", "flagged", "flagged"]


def test_the_entry_holds_codes_not_words():
    sim = child_in_investigation(HONOUR)
    entry = sim.fire("caseworker", "request_consent", proposed_intervention="sig").entry
    assert b"Hedersrelaterat" not in entry.canonical() and b"vardnadshavar" not in entry.canonical()


def test_recording_a_consent_warns_with_honour_violence_on_a_childs_case_only():
    from workflow.flags import recording_consent_warnings

    child = child_in_investigation(HONOUR)
    (warning,) = recording_consent_warnings(child.facts, child.now.date())
    assert warning.code == "flag_guardians_risk" and "vårdnadshavarna" in warning.text("sv")
    assert recording_consent_warnings(child_in_investigation(CLOSE).facts, child.now.date()) == ()
    assert recording_consent_warnings(child_in_investigation().facts, child.now.date()) == ()
    adult = flagged(Sim(ADULT), HONOUR)
    assert recording_consent_warnings(adult.facts, adult.now.date()) == ()
