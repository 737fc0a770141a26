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
