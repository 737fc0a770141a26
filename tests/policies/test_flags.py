"""Flags that change a case's route as policy data (`policies/flags.toml`): words, routines, roles, steps."""

from __future__ import annotations

import pytest

from policies.access import CASE_READING_ROLES
from policies.errors import PolicyError
from policies.flags import FLAG_READING_ROLES, load_flags, parse_flags
from policies.law import load_law
from workflow import default_flowchart

GOOD = """
[flags.vold]
label = { sv = "Våld", en = "Violence" }
set_roles = ["caseworker"]
clear_roles = ["decider"]
warn_on = ["close_case"]
routine = [{ sv = "Träffa personen ensam.", en = "Meet the person alone." }]
"""


def test_the_two_flags_the_issue_names_are_there_in_both_languages():
    flags = load_flags()
    assert flags.codes() == ("close_relationship_violence", "honour_violence")
    assert flags["close_relationship_violence"].label.sv == "Våld i nära relationer"
    assert flags["close_relationship_violence"].label.en == "Violence in close relationships"
    assert flags["honour_violence"].label.sv == "Hedersrelaterat våld och förtryck"
    assert flags["honour_violence"].label.en == "Honour-related violence and oppression"
    for flag in flags:
        assert len(flag.routine) >= 4
        assert all(step.sv.strip() and step.en.strip() for step in flag.routine)


def test_the_routines_name_no_paragraph_number_and_cite_only_keys_of_the_law():
    """Never a guessed paragraph: the routine is in words, its law by keys of law.toml (LAW.md)."""
    law = load_law()
    for flag in load_flags():
        assert all(key in law for key in flag.law)
        for step in flag.routine:
            assert "§" not in step.sv and "§" not in step.en and "kap." not in step.sv


def test_only_roles_with_a_ground_set_clear_and_read_flags():
    """Deny by default: reporters and partners never see a flag, let alone set one."""
    assert FLAG_READING_ROLES == CASE_READING_ROLES
    assert not {"reporter", "partner", "coordinator", "auditor", "admin", "system"} & FLAG_READING_ROLES
    for flag in load_flags():
        assert flag.set_roles <= CASE_READING_ROLES and flag.clear_roles <= CASE_READING_ROLES
        assert flag.clear_roles == {"decider"}


def test_the_flags_warn_at_the_decisions_and_the_steps_that_seek_consent():
    triggers = set(default_flowchart().triggers)
    for flag in load_flags():
        assert {"open_investigation", "close_without_investigation", "close_case", "request_consent"} <= flag.warn_on
        assert flag.warn_on & triggers  # at least some steps of the current flowchart


def test_honour_violence_on_a_childs_case_warns_at_the_guardians_consent_only():
    honour = load_flags()["honour_violence"]
    warning = honour.guardians_warning("request_consent", child=True)
    assert warning is not None and "vårdnadshavarna" in warning.sv and "guardians" in warning.en
    assert honour.guardians_warning("request_consent", child=False) is None
    assert honour.guardians_warning("open_investigation", child=True) is None
    assert load_flags()["close_relationship_violence"].guardians_warning("request_consent", child=True) is None


def test_a_good_definition_loads():
    flag = parse_flags(GOOD, source="flags.toml")["vold"]
    assert flag.set_roles == {"caseworker"} and flag.warn_on == {"close_case"} and flag.guardians is None


@pytest.mark.parametrize("text", [
    "",  # no flags
    "flags = [",  # not TOML
    GOOD.replace("[flags.vold]", "[flags.Vold]"),  # not a code
    GOOD.replace('en = "Violence" ', ""),  # no English label
    GOOD.replace('routine = [{ sv = "Träffa personen ensam.", en = "Meet the person alone." }]', "routine = []"),
    GOOD.replace('set_roles = ["caseworker"]', 'set_roles = ["reporter"]'),  # no ground: never
    GOOD.replace('clear_roles = ["decider"]', 'clear_roles = ["partner"]'),
    GOOD.replace('warn_on = ["close_case"]', "warn_on = []"),
    GOOD + 'law = ["sol_14_kap_99"]\n',  # not a key of law.toml
    GOOD + '[flags.vold.guardians]\napplies_to = "children"\nwarn_on = ["refer_sig"]\n'
           'warning = { sv = "Fara", en = "Danger" }\n',
    GOOD + '[flags.vold.guardians]\napplies_to = "child"\nwarn_on = ["refer_sig"]\n',  # no warning words
])
def test_a_bad_definition_is_refused(text):
    with pytest.raises(PolicyError):
        parse_flags(text, source="flags.toml")


def test_the_guardians_rule_of_honour_violence_covers_recording_a_consent():
    rule = load_flags()["honour_violence"].guardians
    assert rule is not None and rule.when_recording_consent and rule.applies(child=True) and not rule.applies(False)


def test_when_recording_consent_must_be_a_truth_value():
    text = GOOD + ('[flags.vold.guardians]\napplies_to = "child"\nwarn_on = ["refer_sig"]\n'
                   'warning = { sv = "Fara", en = "Danger" }\nwhen_recording_consent = "ja"\n')
    with pytest.raises(PolicyError):
        parse_flags(text, source="flags.toml")
