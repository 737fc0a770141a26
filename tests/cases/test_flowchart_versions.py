"""Running cases keep their flowchart version: a database holding cases of version 1 (before issue 17) goes on
working after version 2 ships, and cases of version 2 (its interventions states of the case) after a later version
ships, on both databases (DESIGN.md §2: running cases stay on the version they started on). Versions 1 and 2 are
kept byte for byte in tests/cases/fixtures/."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from cases import ConcernForm, ConsentForm, available_triggers, fire_trigger, record_consent, register_concern
from cases import withdraw_consent as withdraw
from cases.crypto.identity import generate_identity_number
from cases.flowcharts import chart_of, current_engine
from cases.models import Case, Consent, FlowchartVersion, ReferralPacket
from cases.reports.demo import PATHS, drive
from policies import DEFAULT_PATH
from policies.law import cite
from tests.cases import route_v2
from tests.conftest import NOW
from tests.flowchart_v2 import V2
from workflow import TransitionNotAllowed, UnknownTrigger, default_flowchart, flowchart_from_text

V1 = Path(__file__).with_name("fixtures") / "vid_oro_v1.toml"
CLOSING = [*PATHS["pre_assessment"][1]]


def _concern(db, staff, serial: int, start, *, close: bool, steps=CLOSING, walk=drive) -> str:
    """A concern taken through `steps` by `walk` (the demo's walk; `route_v2.drive` for version 2's steps)."""
    form = ConcernForm(concern="Personen har slutat komma till skolan.", reporter_org="school",
                       identity_number=generate_identity_number(date(2001, 3, 2), serial),
                       given_name="Test", family_name="Testsson")
    ref = register_concern(db, staff["reporter"], form, now=start).ref
    last = walk(db, staff, ref, list(steps), start)
    if close:
        fire_trigger(db, staff["decider"], ref, "close_without_investigation",
                     {"reason": "Ej aktuellt.", "outcome": "not_opened"}, now=last + timedelta(days=1))
    return ref


def _version(db, ref: str) -> str:
    with db.read() as session:
        return session.scalars(select(Case.flowchart_version).where(Case.ref == ref)).one()


# --- version 2's cases after a later version ships (version 1's below) ----------------------------------------

V2_ONLY_STATES = ("awaiting_consent", "sig", "exit_support", "family_support", "other_support")
V2_ONLY_TRIGGERS = ("request_consent", "refer_sig", "refer_exit", "offer_family_support", "start_other_support",
                    "consent_refused", "withdraw_consent", "start_follow_up")
# What takes their place in the later version below, as in version 3: a state the case is in while interventions
# (records of their own) run.
INTERVENTIONS = """[states.interventions]
label = { sv = "Insatser pågår", en = "Interventions running" }
"""
INTERVENTION_STEPS = """
[[transitions]]
trigger = "begin_interventions"
label = { sv = "Insatser påbörjas", en = "Interventions begin" }
from = ["investigation", "follow_up"]
to = "interventions"
roles = ["caseworker", "decider"]
stops = ["investigation", "investigation_extended"]

[[transitions]]
trigger = "end_interventions"
label = { sv = "Insatserna har avslutats", en = "Interventions ended" }
from = ["interventions"]
to = "follow_up"
roles = ["caseworker", "decider"]
"""


def without_v2_interventions(text: str) -> str:
    """Version 2 with its intervention states, their steps and the proposed-intervention field taken out, and a
    state for running interventions put in: the shape of version 3, whatever version 3 says in detail."""
    gone = {f"[states.{name}]" for name in V2_ONLY_STATES} | {"[fields.proposed_intervention]"}
    blocks = text.split("\n[")
    kept = [blocks[0]] + [f"[{block}" for block in blocks[1:]]
    kept = [block for block in kept if block.split("\n", 1)[0] not in gone and not (
        block.startswith("[[transitions]]") and any(f'trigger = "{t}"\n' in block for t in V2_ONLY_TRIGGERS))]
    later = "\n".join(kept)
    assert "[states.follow_up]" in later and all(f'"{t}"' not in later for t in V2_ONLY_TRIGGERS)
    return later.replace("[states.follow_up]", INTERVENTIONS + "[states.follow_up]", 1) + INTERVENTION_STEPS


def _v2_case(db, staff, serial: int, state: str) -> str:
    """An adult's case started on version 2 and taken to `state` on version 2's path."""
    form = ConcernForm(concern="Personen sprider våldsbejakande material.", reporter_org="school",
                       identity_number=generate_identity_number(date(2001, 3, 2), serial),
                       given_name="Test", family_name="Testsson")
    ref = register_concern(db, staff["reporter"], form, now=NOW).ref
    route_v2.drive(db, staff, ref, route_v2.PATHS[state][1], NOW)
    return ref


@pytest.fixture
def shaped_as_version_3(tmp_path) -> Path:
    path = tmp_path / "vid_oro_later.toml"
    path.write_text(without_v2_interventions(V2.read_text(encoding="utf-8")), encoding="utf-8")
    return path


@pytest.fixture(params=["shaped_as_version_3", "version_1"])
def v2_cases(request, db, staff, monkeypatch):
    """An adult's case started on version 2 awaiting consent to SIG, and one referred to SIG; then a later version
    without the intervention states (or version 1, another version again) is what new cases start on."""
    monkeypatch.setenv("VIDORO_FLOWCHART", str(V2))
    awaiting, in_sig = _v2_case(db, staff, 421, "awaiting_consent"), _v2_case(db, staff, 422, "sig")
    later = request.getfixturevalue("shaped_as_version_3") if request.param == "shaped_as_version_3" else V1
    monkeypatch.setenv("VIDORO_FLOWCHART", str(later))
    assert current_engine().version != _version(db, awaiting)
    return awaiting, in_sig


def test_the_later_version_shaped_as_version_3_loads_without_any_intervention_state(shaped_as_version_3):
    later = default_flowchart(shaped_as_version_3)
    version_2 = default_flowchart(V2)
    assert set(version_2.states) - set(later.states) == set(V2_ONLY_STATES)
    assert set(later.states) - set(version_2.states) == {"interventions"}
    assert not set(V2_ONLY_TRIGGERS) & set(later.triggers)
    assert "proposed_intervention" not in later.fields and later.version != version_2.version


def test_a_version_2_case_awaiting_consent_is_referred_to_sig_on_version_2(db, staff, v2_cases):
    """Its steps, their labels and its states' labels come from version 2, whatever new cases start on."""
    awaiting, _ = v2_cases
    version = _version(db, awaiting)
    later = NOW + timedelta(days=60)
    record_consent(db, staff["caseworker"], awaiting, ConsentForm(
        given_by="subject", purposes=("sig",), recipients=tuple(route_v2.SIG_RECIPIENTS),
        data_categories=("identity", "concern", "assessment"), method="written", evidence="Skriftligt samtycke.",
        valid_from=later.date()), now=later)
    options = {o.trigger: o for o in available_triggers(db, staff["caseworker"], awaiting, now=later)}
    assert set(options) == {"refer_sig", "refer_exit", "offer_family_support", "start_other_support",
                            "consent_refused"}
    assert options["refer_sig"].allowed
    assert options["refer_sig"].label("sv") == "Remittera till social insatsgrupp"
    assert options["refer_sig"].label("en") == "Refer to social intervention group"
    fired = fire_trigger(db, staff["caseworker"], awaiting, "refer_sig", {"recipients": ["police", "school"]},
                         now=later)
    assert (fired.state, _version(db, awaiting)) == ("sig", version)
    chart = chart_of(db, version)
    assert chart.version == version and chart.version != current_engine().version
    assert chart.states[fired.state].label("sv") == "Social insatsgrupp"
    assert chart.states[fired.state].label("en") == "Social intervention group"
    with db.read() as session:
        packet = session.scalars(select(ReferralPacket).join(Case, Case.id == ReferralPacket.case_id)
                                 .where(Case.ref == awaiting)).one()
    assert packet.purpose == "sig" and packet.closed_at is None


def test_a_version_2_case_in_sig_moves_on_by_withdrawal_and_closes_on_version_2(db, staff, v2_cases):
    _, in_sig = v2_cases
    version = _version(db, in_sig)
    later = NOW + timedelta(days=90)
    with db.read() as session:
        consents = session.scalars(select(Consent).join(Case, Case.id == Consent.case_id)
                                   .where(Case.ref == in_sig)).all()
        consent_id = next(c.id for c in consents if c.purposes == ["sig"])
    withdrawn = withdraw(db, staff["caseworker"], in_sig, consent_id, "Vill inte längre delta.", now=later)
    assert (withdrawn.state, withdrawn.seq is not None) == ("follow_up", True)  # version 2: the case moves on
    fired = fire_trigger(db, staff["decider"], in_sig, "close_case", {"reason": "Klart.", "outcome": "completed"},
                         now=later + timedelta(days=1))
    assert fired.state == "closed" and _version(db, in_sig) == version


def test_a_new_case_on_the_later_version_has_no_referral_step(db, staff, shaped_as_version_3, monkeypatch):
    monkeypatch.setenv("VIDORO_FLOWCHART", str(V2))
    earlier = _v2_case(db, staff, 424, "investigation")
    monkeypatch.setenv("VIDORO_FLOWCHART", str(shaped_as_version_3))
    ref = _concern(db, staff, 423, NOW, close=False, steps=route_v2.PATHS["investigation"][1],
                   walk=route_v2.drive)
    assert _version(db, ref) == current_engine().version != _version(db, earlier)
    later = NOW + timedelta(days=30)
    assert "request_consent" not in {o.trigger for o in available_triggers(db, staff["caseworker"], ref, now=later)}
    assert "request_consent" in {o.trigger for o in available_triggers(db, staff["caseworker"], earlier, now=later)}
    with pytest.raises(UnknownTrigger):
        fire_trigger(db, staff["caseworker"], ref, "request_consent", {"proposed_intervention": "sig"}, now=later)
    fired = fire_trigger(db, staff["caseworker"], earlier, "request_consent", {"proposed_intervention": "sig"},
                         now=later)
    assert fired.state == "awaiting_consent"


# --- version 1's cases after version 2 ships ----------------------------------------------------------------


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
