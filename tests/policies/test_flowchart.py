"""The flowchart definition: the shipped one is valid, broken ones are refused naming file and fault."""

from __future__ import annotations

import re

import pytest

from policies import DEFAULT_PATH, PolicyError, load_flowchart, parse_flowchart
from workflow import GUARDS

TEXT = DEFAULT_PATH.read_text(encoding="utf-8")


def parse(text: str):
    return parse_flowchart(text, source="broken.toml", guards=GUARDS)


def test_shipped_flowchart_has_every_state_of_design():
    chart = load_flowchart(guards=GUARDS)
    assert set(chart.states) == {
        "registered", "protection_assessment", "pre_assessment", "investigation", "interventions", "follow_up",
        "closed", "erased",
    }
    assert chart.states["interventions"].label("sv") == "Insatser pågår"
    assert chart.states["registered"].label("sv") == "Oro anmäld"
    assert chart.states["registered"].label("en") == "Concern registered"
    assert chart.initial_state == "registered"
    assert set(chart.vocabularies["outcomes"]) >= {"not_opened", "no_need", "completed"}


def test_every_transition_carries_roles_and_labels():
    chart = load_flowchart(guards=GUARDS)
    for t in chart.transitions:
        assert t.roles, t.trigger
        assert t.label.sv and t.label.en, t.trigger


def test_version_is_a_content_hash():
    chart = parse(TEXT)
    assert re.fullmatch(r"[0-9a-f]{64}", chart.version)
    assert parse("# a comment\n" + TEXT).version == chart.version  # formatting is not meaning
    changed = TEXT.replace('retention_years = 5', 'retention_years = 6')
    assert parse(changed).version != chart.version


def _replace(old: str, new: str, count: int = 1) -> str:
    assert old in TEXT, old
    return TEXT.replace(old, new, count)


BROKEN = {
    "unknown state": (_replace('to = "follow_up"\n', 'to = "folow_up"\n'), "unknown state 'folow_up'"),
    "unknown source state": (_replace('from = ["registered"]\nto = "protection_assessment"',
                                      'from = ["registred"]\nto = "protection_assessment"'),
                             "unknown state 'registred'"),
    "unreachable state": (
        _replace("[states.erased]", '[states.limbo]\nlabel = { sv = "Limbo", en = "Limbo" }\n[states.erased]'),
        "state 'limbo' is unreachable",
    ),
    "no way to closed": (
        _replace('from = ["follow_up"]\nto = "closed"', 'from = ["follow_up"]\nto = "follow_up"')
        .replace('from = ["follow_up"]\nto = "investigation"', 'from = ["follow_up"]\nto = "interventions"'),
        "has no path to 'closed'",
    ),
    "trigger without roles": (
        _replace('roles = ["decider"]\nguards = ["due_date_in_future"]', 'roles = []\nguards = ["due_date_in_future"]'),
        "'extend_investigation' has no roles",
    ),
    "unknown role": (_replace('roles = ["system"]', 'roles = ["robot"]'), "unknown role 'robot'"),
    "unknown guard": (_replace('guards = ["child"]', 'guards = ["is_minor"]'), "unknown guard 'is_minor'"),
    "unknown warning": (_replace('guards = ["child"]', 'guards = ["child"]\nwarnings = ["too_old"]'),
                        "unknown guard 'too_old'"),
    "duplicate trigger": (
        TEXT.replace("\n[interventions]", '\n[[transitions]]\ntrigger = "reopen"\nlabel = { sv = "x", en = "x" }\n'
                     'from = ["follow_up"]\nto = "investigation"\nroles = ["decider"]\n\n[interventions]'),
        "duplicate trigger 'reopen' from state 'follow_up'",
    ),
    "unknown field": (_replace('requires = ["reason", "new_due_on"]', 'requires = ["reason", "new_due"]'),
                      "requires unknown field 'new_due'"),
    "unknown deadline": (_replace('starts = ["investigation_extended"]', 'starts = ["investigation_longer"]'),
                         "unknown deadline 'investigation_longer'"),
    "missing English label": (_replace('label = { sv = "Utredning", en = "Investigation" }',
                                       'label = { sv = "Utredning" }'), "label with Swedish (sv) and English (en)"),
    "unknown vocabulary code": (_replace('choices = { legal_basis = ["sol_11_1"] }',
                                         'choices = { legal_basis = ["sol_99"] }'), "unknown legal_bases ['sol_99']"),
    "consent guard without rule": (
        _replace('guards = ["no_intervention_running"]', 'guards = ["no_intervention_running", "consent"]'),
        "consent guard but no 'consent' table",
    ),
    "unknown consent purpose": (_replace('consent = { purpose = "exit_support"', 'consent = { purpose = "exit"'),
                                "intervention kind 'exit_support' consent names unknown purposes ['exit']"),
    "deadline rule": (_replace('rule = "months"', 'rule = "weeks"'), "unknown rule 'weeks'"),
    "terminal state with exits": (
        TEXT + '\n[[transitions]]\ntrigger = "restore"\nlabel = { sv = "x", en = "x" }\n'
               'from = ["erased"]\nto = "closed"\nroles = ["admin"]\n',
        "terminal state 'erased' has transitions out of it",
    ),
    "deadline citing no provision of law.toml": (
        _replace('law = "sol_20_2"', 'law = "SoL 20 kap 2 §"'),
        "deadline 'pre_assessment' cites unknown provision 'SoL 20 kap 2 §' (not a key of law.toml)",
    ),
    "legal basis citing no provision of law.toml": (
        _replace('osl_10_28 = { law = "osl_10_28" }', 'osl_10_28 = { law = "osl_10_99" }'),
        "entry 'osl_10_28' cites unknown provision 'osl_10_99'",
    ),
    "legal basis with a label instead of a provision": (
        _replace('osl_10_28 = { law = "osl_10_28" }', 'osl_10_29 = { sv = "OSL 10 kap. 29 §", en = "x" }'),
        "entry 'osl_10_29' cites unknown provision 'osl_10_29'",
    ),
    "not TOML": ("name = [", "is not valid TOML"),
    "no transitions": (TEXT.split("[[transitions]]")[0], "has no [[transitions]]"),
}


@pytest.mark.parametrize("text, fault", BROKEN.values(), ids=BROKEN.keys())
def test_broken_definition_is_refused_naming_file_and_fault(text, fault):
    with pytest.raises(PolicyError) as caught:
        parse(text)
    assert str(caught.value).startswith("broken.toml: ")
    assert fault in str(caught.value)


def test_unreadable_file_is_named(tmp_path):
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(PolicyError, match=r"nowhere\.toml: cannot be read"):
        load_flowchart(missing, guards=GUARDS)


def test_loading_checks_guards_against_what_the_engine_implements():
    with pytest.raises(PolicyError, match="unknown guard 'child'"):
        parse_flowchart(TEXT, source="x.toml", guards=set(GUARDS) - {"child"})


# --- the interventions' lifecycle (version 3) ------------------------------------------------------------


def test_the_shipped_lifecycle():
    lifecycle = load_flowchart(guards=GUARDS).interventions
    assert set(lifecycle.kinds) == {"sig", "exit_support", "other_support"}  # support to relatives is its own matter
    assert (lifecycle.initial, lifecycle.running) == ("proposed", "running")
    assert set(lifecycle.states) == {"proposed", "decided", "running", "ended"} and lifecycle.ended("ended")
    assert lifecycle.kinds["sig"].warnings == ("sig_age_range",)
    assert lifecycle.kinds["exit_support"].referral_sources == ("police_exit_programme",)
    assert lifecycle.kinds["exit_support"].consent.recipients == ("exit_service",)
    start = lifecycle.transition("start", "decided")
    assert start.guards == ("consent",) and start.roles == {"caseworker"}
    assert lifecycle.transition("decide", "proposed").roles == {"decider"}
    assert lifecycle.transition("consent_ended", "running").automatic
    assert (lifecycle.begin, lifecycle.end) == ("begin_interventions", "end_interventions")


def test_an_earlier_version_without_the_section_still_loads():
    """Running cases keep their version: version 2 (kept byte for byte as a test fixture) has no lifecycle."""
    from pathlib import Path

    v2 = Path(__file__).parents[1] / "cases" / "fixtures" / "vid_oro_v2.toml"
    chart = parse(v2.read_text(encoding="utf-8"))
    assert chart.interventions is None and "sig" in chart.states


BROKEN_LIFECYCLE = {
    "unknown kind's purpose": (('consent = { purpose = "other_support"', 'consent = { purpose = "othr"'),
                               "unknown purposes ['othr']"),
    "kind without consent": (('consent = { purpose = "other_support", recipients = ["social_services"], '
                              'data_categories = ["identity", "concern"] }\n', ''),
                             "intervention kind 'other_support' needs a 'consent' table"),
    "unknown warning": (('warnings = ["sig_age_range"]', 'warnings = ["too_young"]'),
                        "intervention kind 'sig' names unknown warning 'too_young'"),
    "unknown referral source": (('referral_sources = ["police_exit_programme"]', 'referral_sources = ["fbi"]'),
                                "unknown reporter_orgs ['fbi']"),
    "unknown state": (('from = ["decided"]\nto = "running"', 'from = ["decided"]\nto = "runing"'),
                      "unknown intervention state 'runing'"),
    "unknown role": (('roles = ["decider"]\nrequires = ["reason"]\n\n', 'roles = ["boss"]\nrequires = ["reason"]\n\n'),
                     "intervention step #1 'decide' names unknown role 'boss'"),
    "unknown step": (('trigger = "withdraw_proposal"', 'trigger = "abandon"'),
                     "intervention step #5 'abandon' is no step the engine knows"),
    "unknown guard": (('guards = ["consent"]\n', 'guards = ["consent", "full_moon"]\n'),
                      "names unknown guard 'full_moon'"),
    "unknown end reason": (('end_reason = "not_granted"', 'end_reason = "nope"'),
                           "ends with unknown end_reason 'nope'"),
    "ending without a reason": (('requires = ["end_reason", "reason"]', 'requires = ["reason"]'),
                                "step 'end' ends an intervention but gives no end reason"),
    "two running states": (('[interventions.states.decided]\n', '[interventions.states.decided]\nrunning = true\n'),
                           "exactly one state marked running = true"),
    "terminal with steps out": (('from = ["proposed", "decided", "running"]', 'from = ["proposed", "ended"]'),
                                "terminal state 'ended' has steps out of it"),
    "proposing in an unknown case state": (('propose_in = ["investigation",', 'propose_in = ["limbo",'),
                                           "propose_in names unknown case state 'limbo'"),
    "begin naming no case step": (('begin = "begin_interventions"', 'begin = "start_interventions"'),
                                  "begin names 'start_interventions'"),
}


@pytest.mark.parametrize("change, fault", BROKEN_LIFECYCLE.values(), ids=BROKEN_LIFECYCLE.keys())
def test_a_broken_lifecycle_is_refused_naming_the_fault(change, fault):
    old, new = change
    section = TEXT.index("\n[interventions]")
    assert old in TEXT[section:], old
    text = TEXT[:section] + TEXT[section:].replace(old, new, 1)
    with pytest.raises(PolicyError) as caught:
        parse(text)
    assert str(caught.value).startswith("broken.toml: ")
    assert fault in str(caught.value)
