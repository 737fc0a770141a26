"""The provisions as data (`policies/law.toml`) and the Swedish form of every citation (LAW.md)."""

from __future__ import annotations

import re

import pytest

from policies import PolicyError
from policies.law import cite, load_law, parse_law

_ACTS = """
[acts.sol]
title = "socialtjänstlagen (2025:400)"
short = "SoL"
"""


def test_a_citation_names_the_paragraph_before_the_act_with_its_sfs_number() -> None:
    assert cite("sol_14_2_1") == "14 kap. 2 § första stycket socialtjänstlagen (2025:400)"
    assert cite("sol_20_2") == "20 kap. 2 § socialtjänstlagen (2025:400)"
    assert cite("fl_33") == "33 § förvaltningslagen (2017:900)"


def test_after_the_act_is_named_once_the_short_name_follows() -> None:
    assert cite("sol_20_2", short=True) == "20 kap. 2 § SoL"


def test_an_unverified_number_is_never_shown_the_rule_is_named_in_words() -> None:
    text = cite("sol_protection_assessment")
    assert text == "socialtjänstlagen (2025:400), bestämmelsen om skyddsbedömning"
    assert "§" not in text


def test_no_citation_uses_the_repealed_act_or_the_old_form() -> None:
    for name, provision in load_law().provisions.items():
        text = provision.cite()
        assert "2001:453" not in text, name
        assert not re.search(r"\bkap\b(?!\.)", text), name   # always "kap." with a full stop
        assert not text.startswith("SoL"), name               # never "SoL 11 kap 1 a §"


def test_a_number_without_a_source_is_refused() -> None:
    text = _ACTS + '[provisions.x]\nact = "sol"\nchapter = "20"\nsection = "1 §"\nwords = { sv = "a", en = "b" }\n'
    with pytest.raises(PolicyError, match="verified"):
        parse_law(text, source="test")


def test_a_chapter_without_a_section_is_refused() -> None:
    text = _ACTS + '[provisions.x]\nact = "sol"\nchapter = "20"\nwords = { sv = "a", en = "b" }\n'
    with pytest.raises(PolicyError, match="no verified section"):
        parse_law(text, source="test")


def test_an_unknown_act_or_provision_is_refused() -> None:
    with pytest.raises(PolicyError, match="no known act"):
        parse_law(_ACTS + '[provisions.x]\nact = "lvu"\nwords = { sv = "a", en = "b" }\n', source="test")
    with pytest.raises(PolicyError, match="no provision 'sol_99_1'"):
        load_law()["sol_99_1"]
