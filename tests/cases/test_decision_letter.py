"""The decision letter: a PDF in Swedish with the provision, the reasons and, for an appealable decision, how to
appeal; reading it is logged in the access log, and nothing of it reaches a log line."""

from __future__ import annotations

import io
import json
import logging
from datetime import date, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from cases import fire_trigger
from cases.crypto.identity import generate_identity_number
from cases.decisions import decision_letter
from cases.decisions.letter import LETTER_FIELDS, LetterContent, render_letter
from cases.errors import AccessDenied, KeyDestroyed, NotPermitted, RecordNotFound
from cases.models import AccessLogEntry
from tests.cases.route_v2 import PATHS, drive
from tests.cases.test_decisions import FAMILY, GIVEN, MARKER, decisions_of, register, to_investigation
from tests.conftest import NOW

TOWN = "Provkommun-Ytr"
# The erased path runs years back: an adult on those days too (a child is judged by age at each decision).
OLDER_ADULT = generate_identity_number(date(1990, 4, 12), 512)


def text_of(pdf: bytes) -> str:
    """The letter's text as a reader extracts it, lines joined (a long sentence wraps)."""
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages)


def granted(db, staff, number):
    """A case with a granted intervention whose reasons hold the marker: an appealable decision."""
    ref = register(db, staff, number)
    steps = PATHS["other_support"][1]
    drive(db, staff, ref, steps[:-1], NOW)
    fire_trigger(db, staff["caseworker"], ref, "start_other_support", {"reason": MARKER}, now=NOW + timedelta(days=40))
    return ref, decisions_of(db, ref)[-1]


def reads(db):
    with db.read() as s:
        return s.scalars(select(AccessLogEntry).order_by(AccessLogEntry.seq)).all()


@pytest.mark.usefixtures("flowchart_v2")
def test_an_appealable_decision_s_letter_names_provision_reasons_and_how_to_appeal_in_swedish(db, staff,
                                                                                           adult_number):
    """How to appeal to förvaltningsrätten through the municipality within three weeks (förvaltningslagen
    (2017:900), law.toml `fl_33` and `fl_44`), the provision cited in full (law.toml `sol_11_1`) and the reasons
    (law.toml `fl_32`)."""
    ref, decision = granted(db, staff, adult_number)
    letter = decision_letter(db, staff["decider"], decision.id, municipality=TOWN, now=NOW + timedelta(days=41))
    assert letter.pdf.startswith(b"%PDF-")
    text = text_of(letter.pdf)
    assert "11 kap. 1 § socialtjänstlagen (2025:400)" in text
    assert MARKER in text
    assert "Beslut om insats" in text and "Annan insats (SoL)" in text
    assert "Hur man överklagar" in text and "förvaltningsrätten" in text and "tre veckor" in text
    assert f"överklagandet till {TOWN}" in text
    assert "33 § förvaltningslagen (2017:900)" in text and "44 § förvaltningslagen (2017:900)" in text
    assert ref in text and f"{GIVEN} {FAMILY}" in text
    assert "Handläggare" in text and "delegationsordning" in text


def test_a_letter_cites_an_en_dash_range_and_says_when_a_decision_is_not_appealable(db, staff, adult_number):
    """A decision that is not appealed on its own says so, and a range of paragraphs keeps its dash
    (law.toml `sol_20_3_5`, "20 kap. 3–5 §§")."""
    ref = to_investigation(db, staff, adult_number)
    fire_trigger(db, staff["decider"], ref, "extend_investigation",
                 {"reason": MARKER, "new_due_on": (NOW + timedelta(days=200)).date()}, now=NOW + timedelta(days=30))
    extension = decisions_of(db, ref)[-1]
    text = text_of(decision_letter(db, staff["decider"], extension.id, municipality=TOWN,
                                   now=NOW + timedelta(days=31)).pdf)
    assert "20 kap. 3–5 §§ socialtjänstlagen (2025:400)" in text
    assert f"Nytt slutdatum {(NOW + timedelta(days=200)).date().isoformat()}" in text
    assert "Beslutet kan inte överklagas särskilt." in text and "förvaltningsrätten" not in text


@pytest.mark.usefixtures("flowchart_v2")
def test_reading_a_letter_is_logged_in_the_access_log_by_fields_never_values(db, staff, adult_number):
    """Every read of personal data is logged: who, role, when, which case, which fields, on what ground."""
    ref, decision = granted(db, staff, adult_number)
    before = len(reads(db))
    decision_letter(db, staff["decider"], decision.id, municipality=TOWN, now=NOW + timedelta(days=41))
    [entry] = reads(db)[before:]
    assert (entry.case_ref, entry.actor_id, entry.action, entry.ground) == (ref, staff["decider"].id, "read",
                                                                            "role")
    body = json.loads(entry.entry)
    assert body["fields"] == sorted(LETTER_FIELDS)
    assert body["codes"] == {"decision": decision.id, "document": "decision_letter"}
    assert MARKER not in entry.entry.decode() and GIVEN not in entry.entry.decode()


@pytest.mark.usefixtures("flowchart_v2")
def test_producing_a_letter_puts_no_personal_data_in_any_log_line(db, staff, adult_number, caplog):
    """No personal data in log lines (GDPR art. 5.1 c): the reasons and the name stay in the letter."""
    caplog.set_level(logging.DEBUG)
    _, decision = granted(db, staff, adult_number)
    decision_letter(db, staff["decider"], decision.id, municipality=TOWN, now=NOW + timedelta(days=41))
    logged = "\n".join(f"{r.getMessage()} {json.dumps(getattr(r, 'vidoro', None), ensure_ascii=False)}"
                       for r in caplog.records)
    assert "decision_letter_read" in logged  # the operation was logged, by codes
    for personal in (MARKER, GIVEN, FAMILY, adult_number):
        assert personal not in logged


@pytest.mark.usefixtures("flowchart_v2")
def test_a_letter_is_refused_without_a_ground_and_nothing_is_logged(db, staff, adult_number):
    """Deny by default: an intake officer has no ground on a case in an intervention."""
    _, decision = granted(db, staff, adult_number)
    before = len(reads(db))
    for role in ("intake", "system", "auditor", "coordinator"):  # the system's scheduled jobs read no letters
        with pytest.raises((AccessDenied, NotPermitted)):
            decision_letter(db, staff[role], decision.id, municipality=TOWN, now=NOW + timedelta(days=41))
    with pytest.raises(RecordNotFound):
        decision_letter(db, staff["decider"], "00000000-0000-0000-0000-000000000000", municipality=TOWN)
    assert len(reads(db)) == before


def test_an_erased_case_has_no_letter_any_more(db, staff):
    ref = register(db, staff, OLDER_ADULT)
    drive(db, staff, ref, PATHS["erased"][1], NOW - timedelta(days=2000))
    [decision] = decisions_of(db, ref)
    with pytest.raises(KeyDestroyed):
        decision_letter(db, staff["decider"], decision.id, municipality=TOWN)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(AccessLogEntry)) == 0


def test_the_letter_draws_any_character_a_reason_may_hold():
    content = LetterContent(
        municipality="Kommunen", ref="VO-00000000", decided_on=date(2026, 12, 7), kind="Beslut om insats",
        provision="20 kap. 3–5 §§ socialtjänstlagen (2025:400)", provision_words="utredning",
        person="Åsa Öberg-Ärlig", reasons="Skäl: “citat” – ½ € ≥ 3 ŞĞ ø ß", decider="Test", role="Handläggare",
        delegation="Delegation", appealable=False, appeal="")
    text = text_of(render_letter(content))
    assert "“citat” – ½ € ≥ 3 ŞĞ ø ß" in text and "Åsa Öberg-Ärlig" in text
    assert "Skäl" not in repr(content)


def test_a_letter_not_to_open_an_investigation_names_the_outcome_in_words(db, staff, adult_number):
    ref = register(db, staff, adult_number)
    drive(db, staff, ref, PATHS["pre_assessment"][1], NOW)
    fire_trigger(db, staff["decider"], ref, "close_without_investigation", {"reason": MARKER, "outcome": "moved"},
                 now=NOW + timedelta(days=3))
    [decision] = decisions_of(db, ref)
    text = text_of(decision_letter(db, staff["decider"], decision.id, municipality=TOWN,
                                   now=NOW + timedelta(days=3)).pdf)
    assert "Beslut att inte inleda utredning" in text and "Utfall Flyttat från kommunen" in text
    assert "moved" not in text
