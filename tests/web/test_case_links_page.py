"""The case page names the earlier and later cases about the same person, in words, to those who may read
both, and the step pages cite the law from law.toml the Swedish way (LAW.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from cases import ConcernForm, fire_trigger, register_concern
from cases.crypto.identity import generate_identity_number
from tests.web.test_case_actions import as_english, text

NUMBER = generate_identity_number(date(2001, 3, 2), 419)


def _earlier_and_new(db, staff) -> tuple[str, str]:
    start = datetime.now(UTC) - timedelta(days=3)
    form = ConcernForm(concern="Personen har slutat komma till skolan.", reporter_org="school",
                       identity_number=NUMBER)
    earlier = register_concern(db, staff["reporter"], form, now=start).ref
    fire_trigger(db, staff["intake"], earlier, "start_pre_assessment", {}, now=start + timedelta(hours=1))
    fire_trigger(db, staff["decider"], earlier, "close_without_investigation",
                 {"reason": "Ej aktuellt.", "outcome": "not_opened"}, now=start + timedelta(hours=2))
    new = register_concern(db, staff["reporter"], form, now=datetime.now(UTC) - timedelta(minutes=5)).ref
    return earlier, new


def test_the_case_page_names_the_earlier_case_in_words(client_as, db, staff):
    earlier, new = _earlier_and_new(db, staff)
    page = text(client_as("decider").get(f"/cases/{new}"))
    assert "Länkade ärenden" in page and "Tidigare ärende" in page
    assert f'href="/cases/{earlier}"' in page and "Avslutat" in page
    english = text(as_english(client_as("decider")).get(f"/cases/{earlier}"))
    assert "Later case" in english and f'href="/cases/{new}"' in english and "Concern registered" in english


def test_the_link_is_not_shown_without_a_ground_on_the_earlier_case(client_as, db, staff):
    earlier, new = _earlier_and_new(db, staff)
    page = text(client_as("intake").get(f"/cases/{new}"))  # intake: the new case only, not the closed one
    assert earlier not in page and "Länkade ärenden" not in page


def test_the_step_page_shows_the_citation_the_swedish_way(client_as, db, staff):
    """The time limit of an investigation cites 20 kap. 3–5 §§ socialtjänstlagen (2025:400) (law.toml)."""
    _, new = _earlier_and_new(db, staff)
    fire_trigger(db, staff["intake"], new, "start_pre_assessment", {}, now=datetime.now(UTC) - timedelta(minutes=1))
    page = text(client_as("decider").get(f"/cases/{new}/actions/open_investigation"))
    assert "20 kap. 3–5 §§ socialtjänstlagen (2025:400)" in page
    assert "SoL 11 kap" not in page
