"""The reminders (`policies/routines/reminders.toml`): lead times for the flowchart's own deadlines, roles that exist,
and who holds a case nobody is assigned to."""

from __future__ import annotations

import tomllib
from datetime import timedelta

import pytest

from policies import PolicyError
from policies.routines.reminders import DEFAULT_REMINDERS_PATH, load_reminders, parse_reminders

DEADLINES = frozenset({"protection_assessment", "pre_assessment", "investigation", "investigation_extended"})
ROLES = frozenset({"intake", "decider", "caseworker"})


def raw() -> dict:
    with DEFAULT_REMINDERS_PATH.open("rb") as handle:
        return tomllib.load(handle)


def test_the_shipped_policy_loads_and_names_every_statutory_deadline():
    policy = load_reminders()
    assert set(policy.remind_before) == DEADLINES
    assert policy.escalation == ("decider",) and policy.acute == ("intake",)
    assert policy.acute_within == timedelta(hours=48)


def test_a_case_nobody_holds_is_intakes_in_intake_and_the_decision_makers_after():
    policy = load_reminders()
    assert policy.unassigned_role("registered") == "intake"
    assert policy.unassigned_role("pre_assessment") == "intake"
    assert policy.unassigned_role("investigation") == "decider"


@pytest.mark.parametrize(("change", "message"), [
    (lambda r: r["remind_before"].update(unknown=2), "unknown deadline 'unknown'"),
    (lambda r: r["remind_before"].update(pre_assessment=-1), "whole number"),
    (lambda r: r["remind_before"].update(pre_assessment="2 days"), "whole number"),
    (lambda r: r["remind_before"].update(pre_assessment=True), "whole number"),
    (lambda r: r["recipients"].update(escalation=["mayor"]), "unknown role 'mayor'"),
    (lambda r: r["recipients"].update(acute=[]), "non-empty list"),
    (lambda r: r["acute"].update(within_hours=0), "within_hours"),
])
def test_a_mistake_in_the_policy_is_refused(change, message):
    broken = raw()
    change(broken)
    with pytest.raises(PolicyError, match=message):
        parse_reminders(broken, deadlines=DEADLINES, roles=ROLES)
