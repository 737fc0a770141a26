"""Flags on a case warn at the steps they affect, naming the flag, and the warning is in the step's entry.

On version 3 (the flowchart new cases start on) the decisions of the case and an intervention's steps (deciding,
declining, starting: `workflow.interventions`) warn; on version 2, kept for the cases running on it, the case's
steps that sought consent and began an intervention warn too (those tests ask for `flowchart_v2`).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from policies.flags import load_flags
from tests.workflow.sim import ADULT, CHILD, Sim, consent
from workflow import Actor, InterventionFacts, machine_for

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


@pytest.mark.usefixtures("flowchart_v2")
def test_without_a_flag_the_same_steps_do_not_warn_on_version_2():
    sim = child_in_investigation()
    assert sim.entries[-1].codes.get("warnings") is None
    assert sim.fire("caseworker", "request_consent", proposed_intervention="sig").warnings == ()


@pytest.mark.parametrize("version", ["3", "2"])
def test_a_flag_warns_only_at_the_steps_it_names(request, version):
    if version == "2":
        request.getfixturevalue("flowchart_v2")
    flag = load_flags()[CLOSE]
    sim = child_in_investigation(CLOSE)
    for trigger, option in sim.options("decider").items():
        expected = trigger in flag.warn_on
        assert ("flagged" in [w.code for w in option.warnings]) is expected, trigger


@pytest.mark.usefixtures("flowchart_v2")
def test_honour_violence_on_a_childs_case_warns_at_the_guardians_consent_on_version_2():
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


@pytest.mark.usefixtures("flowchart_v2")
def test_close_relationship_violence_gives_no_guardians_warning_on_a_childs_case_on_version_2():
    sim = child_in_investigation(CLOSE)
    outcome = sim.fire("caseworker", "request_consent", proposed_intervention="sig")
    assert [w.code for w in outcome.warnings] == ["flagged"]


@pytest.mark.usefixtures("flowchart_v2")
def test_both_flags_are_named_on_version_2():
    sim = child_in_investigation(CLOSE, HONOUR)
    outcome = sim.fire("caseworker", "request_consent", proposed_intervention="sig")
    assert outcome.entry.codes["flags"] == [CLOSE, HONOUR]
    assert sorted(w.code for w in outcome.warnings) == ["flag_guardians_risk", "flagged", "flagged"]


@pytest.mark.usefixtures("flowchart_v2")
def test_the_entry_holds_codes_not_words_on_version_2():
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


# --- version 3: an intervention's steps (workflow.interventions), named in flags.toml as the log names them ---

OTHER = ("other_support", ["social_services"], ["identity", "concern"])  # no warnings of its own kind


def intervention_step(sim: Sim, state: str, role: str, trigger: str, **payload):
    """Take `trigger` on an other-support intervention in `state` on the simulated case, as `cases/` would."""
    iv = InterventionFacts("iv-1", OTHER[0], state, frozenset(OTHER[1]), frozenset(OTHER[2]))
    return machine_for(sim.engine.chart).fire(sim.facts, iv, Actor(f"staff-{role}", role), trigger, payload, sim.now,
                                              salt=b"0123456789abcdef")


def with_consent(sim: Sim, given_by: str) -> Sim:
    return sim.give(consent(given_by, OTHER[0], OTHER[1], OTHER[2]))


def test_version_3_is_the_one_these_tests_run_on():
    assert Sim(CHILD).engine.chart.interventions is not None
    assert {"intervention_decide", "intervention_decline", "intervention_start"} <= load_flags()[CLOSE].warn_on


@pytest.mark.parametrize("trigger, state, role, payload", [
    ("decide", "proposed", "decider", {"reason": TEXT}),
    ("decline", "proposed", "decider", {"reason": TEXT}),
    ("start", "decided", "caseworker", {}),
])
def test_a_flag_warns_at_deciding_and_starting_an_intervention_and_the_entry_records_it(trigger, state, role,
                                                                                        payload):
    sim = with_consent(child_in_investigation(CLOSE), "guardians")
    step = intervention_step(sim, state, role, trigger, **payload)
    assert [w.code for w in step.warnings] == ["flagged"]
    assert "Våld i nära relationer" in step.warnings[0].text("sv")
    assert step.entry.trigger == f"intervention_{trigger}"
    assert step.entry.codes["warnings"] == ["flagged"] and step.entry.codes["flags"] == [CLOSE]


def test_an_interventions_options_show_the_flag_before_the_form():
    sim = child_in_investigation(HONOUR)
    iv = InterventionFacts("iv-1", OTHER[0], "proposed", frozenset(OTHER[1]), frozenset(OTHER[2]))
    options = {o.trigger: o for o in machine_for(sim.engine.chart).options(sim.facts, iv, Actor("d", "decider"),
                                                                         sim.now)}
    assert [w.code for w in options["decide"].warnings] == ["flagged"]
    assert [w.code for w in options["decline"].warnings] == ["flagged"]
    assert [w.code for w in options["withdraw_proposal"].warnings] == []  # not a step the flag affects


def test_without_a_flag_an_interventions_steps_do_not_warn():
    sim = with_consent(child_in_investigation(), "guardians")
    for trigger, state, role, payload in [("decide", "proposed", "decider", {"reason": TEXT}),
                                          ("start", "decided", "caseworker", {})]:
        step = intervention_step(sim, state, role, trigger, **payload)
        assert step.warnings == () and "warnings" not in step.entry.codes and "flags" not in step.entry.codes


def test_ending_an_intervention_is_not_a_step_the_flag_affects():
    sim = child_in_investigation(CLOSE, HONOUR)
    step = intervention_step(sim, "running", "caseworker", "end", end_reason="completed", reason=TEXT)
    assert step.warnings == () and "flags" not in step.entry.codes


def test_honour_violence_on_a_childs_case_warns_at_starting_on_the_guardians_consent():
    """The route change on version 3: starting an intervention rests on the guardians' consent."""
    sim = with_consent(child_in_investigation(HONOUR), "guardians")
    decided = intervention_step(sim, "proposed", "decider", "decide", reason=TEXT)
    assert [w.code for w in decided.warnings] == ["flagged"]  # deciding does not ask the guardians
    started = intervention_step(sim, "decided", "caseworker", "start")
    assert [w.code for w in started.warnings] == ["flagged", "flag_guardians_risk"]
    risk = started.warnings[1]
    assert "vårdnadshavarna" in risk.text("sv") and "guardians" in risk.text("en")
    assert started.entry.codes["warnings"] == ["flagged", "flag_guardians_risk"]
    assert started.entry.codes["flags"] == [HONOUR]
    assert b"Hedersrelaterat" not in started.entry.canonical() and b"guardians'" not in started.entry.canonical()


def test_honour_violence_on_an_adults_case_warns_at_starting_without_the_guardians_warning():
    sim = flagged(Sim(ADULT), HONOUR)
    sim.fire("intake", "start_pre_assessment")
    sim.give(consent("subject", "investigation", ["social_services"], ["identity", "concern"]))
    sim.later(days=3).fire("decider", "open_investigation", reason=TEXT, legal_basis="sol_11_1")
    step = intervention_step(with_consent(sim, "subject"), "decided", "caseworker", "start")
    assert [w.code for w in step.warnings] == ["flagged"]


def test_both_flags_are_named_at_an_interventions_start():
    sim = with_consent(child_in_investigation(CLOSE, HONOUR), "guardians")
    step = intervention_step(sim, "decided", "caseworker", "start")
    assert step.entry.codes["flags"] == [CLOSE, HONOUR]
    assert sorted(w.code for w in step.warnings) == ["flag_guardians_risk", "flagged", "flagged"]
