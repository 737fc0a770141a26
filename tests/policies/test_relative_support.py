"""The flowchart of a relative's own matter (`policies/relative_support.toml`, issue 18 item 2): loaded and
validated by the same loader as the subject's flowchart, its own version, the relative's own consent."""

from __future__ import annotations

import pytest

from policies import DEFAULT_PATH, RELATIVE_PATH, PolicyError, parse_flowchart
from workflow import GUARDS, default_flowchart

CHART = default_flowchart(RELATIVE_PATH)
SUBJECT = default_flowchart(DEFAULT_PATH)
TEXT = RELATIVE_PATH.read_text(encoding="utf-8")


def test_it_is_a_flowchart_of_its_own_with_its_own_version():
    assert CHART.name == "relative_support" != SUBJECT.name
    assert CHART.version != SUBJECT.version
    assert CHART.initial_state == "opened"
    assert set(CHART.states) == {"opened", "support", "closed", "erased"}
    assert CHART.states["erased"].erases and CHART.states["closed"].closing


def test_it_keeps_records_as_long_as_the_subjects_flowchart_and_in_the_same_time_zone():
    assert (CHART.retention_years, CHART.timezone) == (SUBJECT.retention_years, SUBJECT.timezone)


def test_support_is_granted_by_a_decision_maker_on_the_relatives_own_consent():
    grant = CHART.transition("grant_support", "opened")
    assert grant is not None and grant.dest == "support" and grant.roles == {"decider"}
    assert "consent" in grant.guards and "reason" in grant.requires
    assert grant.consent is not None
    # the relative is the person of their own matter: their own consent, never the subject's guardians'
    assert grant.consent.given_by == ("subject",) and grant.consent.purpose == "family_support"
    assert grant.consent.recipients == ("family_support_service",)
    assert CHART.states["support"].consent_purpose == "family_support"


@pytest.mark.parametrize(("trigger", "source", "roles"), [
    ("decline_support", "opened", {"decider"}),
    ("end_support", "support", {"caseworker", "decider"}),
])
def test_closing_the_matter_asks_for_an_outcome_and_a_reason(trigger, source, roles):
    step = CHART.transition(trigger, source)
    assert step is not None and step.dest == "closed" and step.roles == roles
    assert {"reason", "outcome"} <= set(step.requires) and step.choices["outcome"]


def test_withdrawing_the_consent_ends_the_support_and_only_the_system_erases():
    withdraw = CHART.transition("withdraw_consent", "support")
    assert withdraw is not None and withdraw.dest == "closed" and "consent_withdrawn" in withdraw.guards
    erase = CHART.transition("erase", "closed")
    assert erase is not None and erase.roles == {"system"} and "retention_over" in erase.guards


def test_its_relationships_and_every_label_have_both_languages():
    assert {"parent", "sibling", "partner", "other"} <= set(CHART.vocabularies["relationships"])
    for vocabulary in CHART.vocabularies.values():
        for label in vocabulary.values():
            assert label.sv and label.en
    for state in CHART.states.values():
        assert state.label.sv and state.label.en and "_" not in state.label.sv


def test_a_broken_definition_is_refused_like_the_subjects():
    with pytest.raises(PolicyError, match="unknown consent_givers"):
        parse_flowchart(TEXT.replace('given_by = ["subject"]', 'given_by = ["relative"]'), source="test.toml",
                        guards=GUARDS)
    with pytest.raises(PolicyError, match="unreachable"):
        parse_flowchart(TEXT.replace('to = "support"', 'to = "closed"'), source="test.toml", guards=GUARDS)
