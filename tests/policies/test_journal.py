"""The journal's vocabulary as policy data (`policies/journal.toml`): kinds with Swedish and English words,
apart from the flowchart so that a new kind makes no new flowchart version."""

from __future__ import annotations

import pytest

from policies.errors import PolicyError
from policies.journal import NOTE_ROLES, load_journal, parse_journal
from workflow import default_flowchart


def test_the_kinds_the_issue_names_are_there_in_both_languages():
    kinds = load_journal().kinds
    assert list(kinds)[:6] == ["contact", "meeting", "home_visit", "phone_call", "information_received", "other"]
    assert list(kinds)[6:] == ["rectification"]  # a correction at the person's request (subjects.toml)
    assert kinds["home_visit"].sv == "Hembesök" and kinds["home_visit"].en == "Home visit"


def test_only_the_roles_with_a_ground_keep_a_journal():
    """Deny by default: reporters, partners, auditors, coordinators, administrators and the system never do."""
    assert frozenset({"intake", "caseworker", "decider"}) == NOTE_ROLES


def test_the_flowchart_does_not_hold_the_journals_vocabulary():
    assert "journal_kinds" not in default_flowchart().vocabularies


@pytest.mark.parametrize("text", [
    "",  # no kinds
    "[kinds.visit]\nsv = 'Besök'\n",  # no English
    "[kinds.Visit]\nsv = 'Besök'\nen = 'Visit'\n",  # not a code
    "[kinds.visit]\nsv = ' '\nen = 'Visit'\n",  # empty words
    "kinds = [",  # not TOML
])
def test_a_bad_vocabulary_is_refused(text):
    with pytest.raises(PolicyError):
        parse_journal(text, source="journal.toml")
