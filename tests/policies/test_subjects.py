"""`subjects.toml`: who registers and decides register extracts (deny by default), and the reasons data is held
back for, each resting on a provision law.toml names (never a guessed paragraph)."""

from __future__ import annotations

import pytest

from policies.errors import PolicyError
from policies.subjects import DEFAULT_SUBJECTS_PATH, load_subjects, parse_subjects

ROLES = ("reporter", "coordinator", "intake", "caseworker", "decider", "partner", "auditor", "admin")
KINDS = ("meeting", "rectification")


def test_only_social_services_staff_register_and_only_decision_makers_decide():
    policy = load_subjects()
    assert policy.requesting_roles == {"caseworker", "intake", "decider"}
    assert policy.deciding_roles == {"decider"}
    assert policy.refusal_appealable and policy.correction_kind == "rectification"


def test_the_screening_s_reasons_cite_the_law_through_law_toml():
    reasons = load_subjects().reasons
    assert {name for name, r in reasons.items() if r.automatic} == {"reporter", "other_person"}
    assert reasons["other_person"].provision.cite() == "26 kap. 1 § offentlighets- och sekretesslagen (2009:400)"
    # the reporter's provision is not verified: cited by the act and the rule in words, no paragraph number
    assert not reasons["reporter"].provision.numbered and "§" not in reasons["reporter"].text()


def test_every_access_log_code_falls_back_to_words():
    policy = load_subjects()
    assert policy.ground("assignment").sv == "tilldelad handläggare"
    assert policy.ground("never_heard_of").sv == "annan grund" and policy.action("x").en == "Other action"


@pytest.mark.parametrize(("old", "new", "words"), [
    ('deciding_roles = ["decider"]', 'deciding_roles = ["boss"]', "roles the flowchart does not have"),
    ('provision = "osl_26_1"\nautomatic = true', 'provision = "osl_99_9"\nautomatic = true', "names no provision"),
    ('correction_kind = "rectification"', 'correction_kind = "gossip"', "not a kind"),
    ("show_reader_names = true", 'show_reader_names = "yes"', "true or false"),
])
def test_a_broken_file_is_refused(old, new, words):
    text = DEFAULT_SUBJECTS_PATH.read_text(encoding="utf-8")
    assert old in text
    with pytest.raises(PolicyError, match=words):
        parse_subjects(text.replace(old, new), source="subjects.toml", roles=ROLES, note_kinds=KINDS)
