"""Kommunicering and structured assessments as data (policies/hearing.toml): the shipped rules, and a broken
file refused with its fault named."""

from __future__ import annotations

import pytest

from policies import PolicyError
from policies.hearing import DEFAULT_HEARING_PATH, load_hearing, parse_hearing
from policies.law import load_law


def test_the_shipped_rules_name_provisions_of_law_toml_and_words_in_both_languages():
    hearing = load_hearing()
    law = load_law()
    assert hearing.provision == "fl_25" and all(a.provision in law for a in hearing.assessments)
    for vocabulary in (hearing.recipients, hearing.methods, hearing.exceptions, hearing.decisions,
                       hearing.not_heard_reasons):
        assert vocabulary and all(label.sv and label.en for label in vocabulary.values())


def test_closing_an_investigation_finding_no_need_goes_against_the_person():
    """Förvaltningslagen (2017:900) 25 § (fl_25): closing the investigation with no need is communicated first;
    closing a follow-up, or with another outcome, is not a decision against the person."""
    hearing = load_hearing()
    assert hearing.is_adverse("close_case", "investigation", "no_need")
    assert not hearing.is_adverse("close_case", "investigation", "referred_elsewhere")
    assert not hearing.is_adverse("close_case", "follow_up", "no_need")
    assert not hearing.is_adverse("close_without_investigation", "pre_assessment", "not_opened")


@pytest.mark.parametrize("change, fault", [
    (('provision = "fl_25"', 'provision = "fl_99"'), "names no provision"),
    (("default_answer_days = 14", "default_answer_days = 0"), "default_answer_days"),
    (('outcomes = ["no_need"]', "outcomes = []"), "outcomes"),
    (('decisions = ["do_not_open"]', 'decisions = ["maybe"]'), "decisions"),
])
def test_a_broken_file_is_refused_naming_its_fault(change, fault):
    text = DEFAULT_HEARING_PATH.read_text(encoding="utf-8")
    assert change[0] in text
    with pytest.raises(PolicyError, match=fault):
        parse_hearing(text.replace(change[0], change[1]), source="test")
