"""Every citation comes from policy data (law.toml) in the Swedish form, and nothing in the repository cites
the repealed numbering of socialtjänstlagen (2001:453) as current law (LAW.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from policies import DEFAULT_PATH, PolicyError, parse_flowchart
from policies.law import DEFAULT_LAW_PATH, cite, load_law
from workflow import GUARDS, default_flowchart

ROOT = Path(__file__).resolve().parents[2]
V1 = ROOT / "tests" / "cases" / "fixtures" / "vid_oro_v1.toml"

# The old form and the old numbering: the act before the paragraph ("SoL 11 kap"), "kap" without its full stop
# ("12 kap 1 §"), the repealed act's number, and the English "ch. 11 s. 1".
OLD_FORMS = {
    "act before the paragraph": re.compile(r"\b(?:SoL|OSL|FL)\s+\d+\s*kap\b"),
    "'kap' without a full stop": re.compile(r"\b\d+\s*kap(?![.\w])"),
    "the repealed act as current law": re.compile(r"2001:453"),
    "English chapter-section form": re.compile(r"\bch\.\s*\d+\s*s\.\s*\d"),
}
# Where the old numbering is the subject itself: the frozen version 1, law.toml's map of old citations (cut
# below), and the tests that show an old citation being refused or never shown.
EXEMPT = {V1, Path(__file__).resolve(), *(ROOT / "tests" / name for name in (
    "policies/test_law.py", "policies/test_flowchart.py", "cases/test_flowchart_versions.py",
    "web/test_case_links_page.py"))}


KEEP = (".py", ".html", ".toml", ".md", ".po", ".txt", ".cfg", ".json", ".yml", ".yaml", ".svg", ".js", ".css")
SKIP = {".git", ".venv", "venv", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache",
        ".hypothesis", "instance", "vectors"}  # tools' folders, and test vectors copied from peers byte for byte


def _tracked_text_files() -> list[Path]:
    return [path for path in ROOT.rglob("*") if path.suffix in KEEP and path.is_file()
            and not SKIP & set(path.relative_to(ROOT).parts) and ".egg-info" not in str(path)]


def _text_of(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    if path == DEFAULT_LAW_PATH:  # the [formerly] tables map old citations on purpose: they end the file
        text = text.split("# --- how flowchart versions written before this file cited the law", 1)[0]
    return text


def test_no_file_cites_the_old_numbering_or_the_old_form():
    """socialtjänstlagen (2025:400) replaced the 2001:453 act on 1 July 2025 with new numbering (LAW.md)."""
    found = []
    for path in _tracked_text_files():
        if path.resolve() in EXEMPT or not path.is_file():
            continue
        for number, line in enumerate(_text_of(path).splitlines(), start=1):
            for name, pattern in OLD_FORMS.items():
                if pattern.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {name}: {line.strip()[:100]}")
    assert not found, "\n".join(found)


def test_the_check_finds_an_old_citation():
    lines = ["law = \"SoL 11 kap 1 a § st 1\"", "(OSL 12 kap 3 §)", "SoL 2001:453", "SoL ch. 11 s. 1"]
    for line in lines:
        assert any(p.search(line) for p in OLD_FORMS.values()), line
    assert not any(p.search("20 kap. 2 § socialtjänstlagen (2025:400)") for p in OLD_FORMS.values())


def test_every_deadline_cites_a_provision_of_law_toml():
    """A deadline's `law` is a key of law.toml, written by `cite` (20 kap. 2 § socialtjänstlagen (2025:400))."""
    chart = default_flowchart()
    law = load_law()
    for name, deadline in chart.deadlines.items():
        if deadline.law is not None:
            assert deadline.law in law, name
    assert cite(chart.deadlines["pre_assessment"].law) == "20 kap. 2 § socialtjänstlagen (2025:400)"
    assert "§" not in cite(chart.deadlines["protection_assessment"].law)  # unverified: the rule in words


def test_a_legal_basis_is_labelled_by_its_provision():
    chart = default_flowchart()
    assert chart.legal_bases == {"sol_11_1": "sol_14_2_1", "osl_10_18a": "osl_10_18a", "osl_10_18b": "osl_10_18b",
                                 "osl_10_28": "osl_10_28", "osl_26_9a": "osl_26_9a"}
    labels = chart.vocabularies["legal_bases"]
    assert labels["osl_10_18b"]("sv") == ("10 kap. 18 b § offentlighets- och sekretesslagen (2009:400), "
                                          "uppgifter för att förhindra vissa brott")
    assert labels["sol_11_1"]("en").startswith("14 kap. 2 § första stycket socialtjänstlagen (2025:400)")


def test_the_header_no_longer_names_the_repealed_act():
    assert "2001:453" not in DEFAULT_PATH.read_text(encoding="utf-8")


@pytest.mark.parametrize("old, key", [("SoL 11 kap 1 a § st 1", "sol_protection_assessment"),
                                      ("SoL 11 kap 1 a § st 2", "sol_20_2"), ("SoL 11 kap 2 §", "sol_20_3_5")])
def test_version_1_citations_map_to_todays_provisions(old, key):
    assert load_law().resolve(old).name == key
    chart = parse_flowchart(V1.read_text(encoding="utf-8"), source="v1", guards=GUARDS)
    assert key in {d.law for d in chart.deadlines.values()}


def test_an_unknown_old_citation_is_refused_naming_it():
    text = V1.read_text(encoding="utf-8").replace('law = "SoL 11 kap 2 §"', 'law = "SoL 99 kap 9 §"', 1)
    with pytest.raises(PolicyError, match="cites unknown provision 'SoL 99 kap 9 §'"):
        parse_flowchart(text, source="v1", guards=GUARDS)
