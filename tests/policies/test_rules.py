"""The legal rules beside the flowchart (rules.toml, disclosure.toml): loaded, validated, citing law.toml."""

from __future__ import annotations

import pytest

from policies import PolicyError
from policies.law import load_law
from policies.rules import (
    DEFAULT_DISCLOSURE_PATH,
    DEFAULT_RULES_PATH,
    load_disclosure_rules,
    load_rules,
    parse_disclosure_rules,
    parse_rules,
)
from workflow import default_flowchart


def test_the_shipped_rules_cite_provisions_of_law_toml_and_name_the_flowcharts_codes():
    rules, bases, chart = load_rules(), load_disclosure_rules(), default_flowchart()
    law = load_law()
    for name in (rules.age_law, rules.child_consent.law, rules.child_consent.own_consent_law, rules.feedback_law,
                 rules.feedback_disclosure_law, *(b.law for b in bases.bases.values())):
        assert name in law
    assert rules.child_consent.interventions <= set(chart.vocabularies["purposes"])
    assert rules.mandatory_reporters <= set(chart.vocabularies["reporter_orgs"])
    known = {*chart.vocabularies["recipients"], *bases.recipients}
    assert all(b.recipients is None or b.recipients <= known for b in bases.bases.values())
    assert set(bases.bases) == {"osl_10_2", "osl_10_18a", "osl_10_18b", "osl_10_28", "osl_26_9a"}


def test_age_groups():
    rules = load_rules()
    assert [rules.age_group(a) for a in (0, 17, 18, 20, 21, 90)] == [
        "child", "child", "young_adult", "young_adult", "adult", "adult"]


BROKEN_RULES = {
    "not toml": ("[age", "not valid TOML"),
    "unknown law": (DEFAULT_RULES_PATH.read_text().replace('law = "sol_child_age"', 'law = "sol_99_1"'),
                    "naming a provision"),
    "age not a number": (DEFAULT_RULES_PATH.read_text().replace("adult = 18", 'adult = "18"'), "whole number"),
}


@pytest.mark.parametrize("text, message", BROKEN_RULES.values(), ids=BROKEN_RULES.keys())
def test_broken_rules_are_refused_naming_the_problem(text, message):
    with pytest.raises(PolicyError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_rules(text, source="rules.toml")


BROKEN_BASES = {
    "unknown condition": ('under_age = 21', 'under_age = 21\nwhen_convenient = true', "unknown conditions"),
    "unknown purpose": ('purposes = ["prevent_crime"]', 'purposes = ["curiosity"]', "not in \\[purposes\\]"),
    "unknown law": ('law = "osl_10_28"', 'law = "osl_10_99"', "naming a provision"),
}


@pytest.mark.parametrize("old, new, message", BROKEN_BASES.values(), ids=BROKEN_BASES.keys())
def test_broken_disclosure_bases_are_refused_naming_the_problem(old, new, message):
    text = DEFAULT_DISCLOSURE_PATH.read_text()
    assert old in text
    with pytest.raises(PolicyError, match=message):
        parse_disclosure_rules(text.replace(old, new, 1), source="disclosure.toml")
