"""Running cases keep their flowchart version: a database holding cases of version 1 (before issue 17) goes on
working after version 2 ships, on both databases (DESIGN.md §2: running cases stay on the version they started
on). Version 1 is kept byte for byte in tests/cases/fixtures/vid_oro_v1.toml."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from cases import ConcernForm, fire_trigger, register_concern
from cases.crypto.identity import generate_identity_number
from cases.flowcharts import chart_of, current_engine
from cases.models import Case, FlowchartVersion
from cases.reports.demo import PATHS, drive
from policies import DEFAULT_PATH
from policies.law import cite
from tests.conftest import NOW
from workflow import TransitionNotAllowed, flowchart_from_text

V1 = Path(__file__).with_name("fixtures") / "vid_oro_v1.toml"
CLOSING = [*PATHS["pre_assessment"][1]]


def _concern(db, staff, serial: int, start, *, close: bool, steps=CLOSING) -> str:
    form = ConcernForm(concern="Personen har slutat komma till skolan.", reporter_org="school",
                       identity_number=generate_identity_number(date(2001, 3, 2), serial),
                       given_name="Test", family_name="Testsson")
    ref = register_concern(db, staff["reporter"], form, now=start).ref
    last = drive(db, staff, ref, list(steps), start)
    if close:
        fire_trigger(db, staff["decider"], ref, "close_without_investigation",
                     {"reason": "Ej aktuellt.", "outcome": "not_opened"}, now=last + timedelta(days=1))
    return ref


def _version(db, ref: str) -> str:
    with db.read() as session:
        return session.scalars(select(Case.flowchart_version).where(Case.ref == ref)).one()


@pytest.fixture
def v1_cases(db, staff, monkeypatch):
    """Two cases started on version 1, one of them closed; then version 2 is what new cases start on."""
    monkeypatch.setenv("VIDORO_FLOWCHART", str(V1))
    closed = _concern(db, staff, 411, NOW, close=True)
    running = _concern(db, staff, 412, NOW, close=False, steps=PATHS["investigation"][1])
    monkeypatch.delenv("VIDORO_FLOWCHART")
    assert current_engine().chart.source == str(DEFAULT_PATH)
    return closed, running


def test_a_case_closed_on_version_1_can_still_be_reopened_there(db, staff, v1_cases):
    closed, _ = v1_cases
    later = NOW + timedelta(days=30)
    fired = fire_trigger(db, staff["decider"], closed, "reopen", {"reason": "Ny information."}, now=later)
    assert fired.state == "investigation"
    assert _version(db, closed) != current_engine().version


def test_a_case_closed_on_version_2_is_not_reopened(db, staff, v1_cases):
    """A closed case is not reopened: a new concern about the person is a new case (LAW.md, version 2)."""
    ref = _concern(db, staff, 413, NOW, close=True)
    assert _version(db, ref) == current_engine().version
    with pytest.raises(TransitionNotAllowed):
        fire_trigger(db, staff["decider"], ref, "reopen", {"reason": "Ny information."}, now=NOW + timedelta(days=30))


def test_a_running_version_1_case_finishes_on_version_1(db, staff, v1_cases):
    _, running = v1_cases
    version = _version(db, running)
    # Version 1 closes an investigation as "completed" without an intervention; version 2 refuses that.
    fired = fire_trigger(db, staff["decider"], running, "close_case", {"reason": "Klart.", "outcome": "completed"},
                         now=NOW + timedelta(days=20))
    assert fired.state == "closed" and _version(db, running) == version


def test_both_versions_are_stored_and_hash_to_themselves(db, staff, v1_cases):
    _concern(db, staff, 414, NOW, close=False)
    with db.read() as session:
        stored = {row.version: row.source_text for row in session.scalars(select(FlowchartVersion))}
    assert len(stored) == 2
    for version, text in stored.items():
        assert flowchart_from_text(text, source="stored").version == version


def test_labels_and_citations_render_for_both_versions(db, staff, v1_cases):
    """Version 1 cited the repealed act in its own words; it is shown with today's citation from law.toml."""
    closed, _ = v1_cases
    old, new = chart_of(db, _version(db, closed)), current_engine().chart
    assert old.version != new.version
    for chart in (old, new):
        assert chart.states["closed"].label("sv") == "Avslutat"
        assert chart.legal_bases["sol_11_1"] == "sol_14_2_1"
        basis = chart.vocabularies["legal_bases"]["sol_11_1"]
        assert basis("sv") == "14 kap. 2 § första stycket socialtjänstlagen (2025:400), skyldighet att utreda"
        assert basis("en") == "14 kap. 2 § första stycket socialtjänstlagen (2025:400), duty to investigate"
        laws = {name: cite(d.law) for name, d in chart.deadlines.items() if d.law}
        assert laws["pre_assessment"] == "20 kap. 2 § socialtjänstlagen (2025:400)"
        assert laws["protection_assessment"] == "socialtjänstlagen (2025:400), bestämmelsen om skyddsbedömning"
        assert all("2001:453" not in text and "11 kap" not in text for text in laws.values())


# --- version 2 (interventions as states of the case) beside version 3 (interventions as records) ----------

V2 = Path(__file__).with_name("fixtures") / "vid_oro_v2.toml"


def test_a_version_2_case_in_sig_keeps_its_route_after_version_3_ships(db, staff, monkeypatch):
    """Running cases keep their version (issue 18): a case in SIG on version 2 is shown in its state, withdrawing
    its consent moves it on by version 2's own step, and no intervention record can be proposed on it."""
    from cases.casework.consents import withdraw_consent
    from cases.errors import InvalidConcern
    from cases.interventions import InterventionForm, propose_intervention
    from cases.models import Consent
    from cases.reports.demo import Step
    from tests.cases.intervention_helpers import ADULT_STEPS

    monkeypatch.setenv("VIDORO_FLOWCHART", str(V2))
    steps = [*ADULT_STEPS, Step("caseworker", "request_consent", {"proposed_intervention": "sig"}, days_later=2),
             Step("caseworker", consent=("subject", "sig"), days_later=1),
             Step("caseworker", "refer_sig", {"recipients": ["police", "school", "social_services"]}, days_later=1)]
    ref = _concern(db, staff, 415, NOW, close=False, steps=steps)
    monkeypatch.delenv("VIDORO_FLOWCHART")
    v2 = chart_of(db, _version(db, ref))
    assert v2.interventions is None and v2.version != current_engine().version
    assert current_engine().chart.interventions is not None
    with db.read() as session:
        case = session.scalars(select(Case).where(Case.ref == ref)).one()
        state, case_id = case.state, case.id
        held = session.scalars(select(Consent.id).where(Consent.case_id == case_id, Consent.status == "given")
                               .order_by(Consent.recorded_at.desc())).first()
    assert state == "sig" and v2.states[state].label("sv") == "Social insatsgrupp"
    later = NOW + timedelta(days=40)
    with pytest.raises(InvalidConcern):
        propose_intervention(db, staff["caseworker"], ref, InterventionForm("sig", "Mål."), now=later)
    withdrawn = withdraw_consent(db, staff["caseworker"], ref, held, "Återkallat.", now=later)
    assert withdrawn.state == "follow_up" and withdrawn.seq is not None
    assert _version(db, ref) == v2.version
