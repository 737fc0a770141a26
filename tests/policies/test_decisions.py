"""The decisions as data (`policies/decisions.toml`): every decision step has a kind, a provision from
`law.toml` and a delegation; a broken file is refused when it is loaded."""

from __future__ import annotations

import tomllib

import pytest

from policies import DEFAULT_PATH, RELATIVE_PATH, PolicyError
from policies.decisions import DEFAULT_DECISIONS_PATH, load_decisions, parse_decisions
from policies.law import load_law

DECISION_TRIGGERS = ("open_investigation", "close_without_investigation", "extend_investigation", "refer_sig",
                     "refer_exit", "offer_family_support", "start_other_support", "consent_refused", "close_case",
                     "reopen")
CHART = tomllib.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
RELATIVE_CHART = tomllib.loads(RELATIVE_PATH.read_text(encoding="utf-8"))  # a relative's own matter (issue 18)
TRIGGERS = {t["trigger"] for chart in (CHART, RELATIVE_CHART) for t in chart["transitions"]} | {
    f"intervention_{t['trigger']}" for t in CHART["interventions"]["transitions"]}
ROLES = set(CHART["roles"]) | set(RELATIVE_CHART["roles"])


def _parse(text: str):
    return parse_decisions(text, source="test.toml", triggers=TRIGGERS, roles=ROLES)


def _shipped_with(old: str, new: str) -> str:
    text = DEFAULT_DECISIONS_PATH.read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize("trigger", DECISION_TRIGGERS)
def test_every_decision_step_has_a_kind_a_provision_and_a_delegation(trigger):
    """A decision names the provision it rests on (förvaltningslagen (2017:900), the provision on reasons for
    decisions: law.toml `fl_32`) and the delegation under which it was taken."""
    decisions = load_decisions()
    kind = decisions.kind_of(trigger)
    assert kind is not None
    assert kind.provision in load_law()
    roles = {role for t in CHART["transitions"] if t["trigger"] == trigger for role in t["roles"]}
    for role in roles:
        assert decisions.delegation_for(role, kind.name) is not None, (trigger, role)


def test_steps_that_decide_nothing_are_no_decisions():
    decisions = load_decisions()
    for trigger in ("assess_protection", "start_pre_assessment", "request_consent", "withdraw_consent",
                    "start_follow_up", "erase"):
        assert decisions.kind_of(trigger) is None


def test_only_a_granted_intervention_is_appealable():
    """Only a decision that can go against the person is appealed (förvaltningslagen (2017:900), law.toml
    `fl_33`): the steps of an investigation are not appealed on their own."""
    decisions = load_decisions()
    assert {k.name for k in decisions.kinds.values() if k.appealable} == {
        "grant_intervention", "intervention_declined", "grant_relative_support", "decline_relative_support"}


def test_an_interventions_decision_steps_are_decisions_and_earlier_versions_steps_still_are():
    """Version 3: deciding and declining an intervention (logged as intervention_decide, intervention_decline) are
    decisions; declining goes against the person and is appealable. Version 2's steps (a case keeps its
    version) still record their decisions, so the file names them as earlier triggers."""
    decisions = load_decisions()
    assert decisions.kind_of("intervention_decide").name == "grant_intervention"
    declined = decisions.kind_of("intervention_decline")
    assert declined.appealable and declined.provision in load_law()
    assert decisions.delegation_for("decider", declined.name) is not None
    for step in ("intervention_start", "intervention_end", "intervention_propose", "begin_interventions"):
        assert decisions.kind_of(step) is None
    assert decisions.kind_of("refer_sig").name == "grant_intervention"
    with pytest.raises(PolicyError, match="earlier_triggers"):
        _parse(_shipped_with('earlier_triggers = [', 'earlier_triggers = "refer_sig"\nx = ['))


@pytest.mark.parametrize(("trigger", "kind"), [("grant_support", "grant_relative_support"),
                                               ("decline_support", "decline_relative_support")])
def test_a_relatives_support_is_decided_under_the_provision_on_interventions(trigger, kind):
    """Support to a relative is an intervention in the relative's own matter (relative_support.toml): its
    decisions cite law.toml `sol_11_1` and are taken by a decision maker under a delegation of their own."""
    decisions = load_decisions()
    found = decisions.kind_of(trigger)
    assert found is not None and (found.name, found.provision) == (kind, "sol_11_1")
    roles = {role for t in RELATIVE_CHART["transitions"] if t["trigger"] == trigger for role in t["roles"]}
    assert roles == {"decider"}
    assert decisions.delegation_for("decider", kind) is not None
    assert decisions.delegation_for("caseworker", kind) is None
    for other in ("end_support", "withdraw_consent", "erase"):
        assert decisions.kind_of(other) is None


def test_a_decision_of_a_trigger_neither_flowchart_has_is_refused():
    text = DEFAULT_DECISIONS_PATH.read_text(encoding="utf-8")
    with pytest.raises(PolicyError, match="trigger the flowchart does not have"):
        parse_decisions(text, source="test.toml", triggers={t["trigger"] for t in CHART["transitions"]}, roles=ROLES)


def test_the_appeal_text_names_the_court_the_municipality_three_weeks_and_fl_in_swedish():
    """How to appeal and the time for it: förvaltningslagen (2017:900), law.toml `fl_33` and `fl_44`."""
    text = load_decisions().appeal_text("Provkommunen")
    assert "förvaltningsrätten" in text and "Provkommunen" in text and "tre veckor" in text
    assert "33 § förvaltningslagen (2017:900)" in text and "44 § förvaltningslagen (2017:900)" in text


def test_a_role_without_a_delegation_may_not_decide():
    decisions = load_decisions()
    assert decisions.delegation_for("intake", "open_investigation") is None
    assert decisions.delegation_for("caseworker", "close_case") is None


@pytest.mark.parametrize(("old", "new", "fault"), [
    ('triggers = ["open_investigation"]', 'triggers = ["open_the_case"]', "trigger the flowchart does not have"),
    ('provision = "sol_14_2_1"', 'provision = "sol_11_kap_1_a"', "no provision of law.toml"),
    ('role = "caseworker"', 'role = "janitor"', "role the flowchart does not know"),
    ('kinds = ["grant_intervention", "intervention_not_started"]', 'kinds = ["grant_everything"]',
     "kinds, each a kind"),
    ('limit = "fl_44"', 'limit = "fl_99"', "no provision of law.toml"),
    ('appealable = false\ntriggers = ["reopen"]', 'appealable = "no"\ntriggers = ["reopen"]', "appealable"),
    ('triggers = ["reopen"]', 'triggers = ["close_case"]', "two kinds"),
    ('roles = ["caseworker", "decider"]', 'roles = ["caseworker", "mayor"]', "[notification] needs roles"),
])
def test_a_broken_decisions_file_is_refused_at_load(old, new, fault):
    with pytest.raises(PolicyError, match=fault.replace("[", r"\[").replace("]", r"\]")):
        _parse(_shipped_with(old, new))


def test_the_shipped_file_loads():
    assert _parse(DEFAULT_DECISIONS_PATH.read_text(encoding="utf-8")).kinds
