"""The interventions' lifecycle engine (`workflow.interventions`): roles, the consent guard for an adult, a child
and the guardians, warnings, automatic steps, and log entries that stay in the case's state and hold no text."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from workflow import Actor, CaseFacts, ConsentFacts, InterventionFacts, default_flowchart, engine_for, machine_for
from workflow.errors import ConsentMissing, InvalidInput, RoleNotAllowed, TransitionNotAllowed, TransitionRefused

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
SALT = b"s" * 16
CASEWORKER, DECIDER, REPORTER = Actor("cw", "caseworker"), Actor("d", "decider"), Actor("r", "reporter")
ADULT, CHILD_17, CHILD_12 = date(2005, 1, 1), date(2009, 6, 1), date(2014, 6, 1)
SIG_DATA = frozenset({"identity", "concern", "assessment"})


@pytest.fixture(scope="module")
def machine():
    return machine_for(default_flowchart())


def _consent(given_by, purpose="sig", recipients=("social_services", "police"), data=SIG_DATA, **kw):
    return ConsentFacts(given_by=given_by, purposes=frozenset({purpose}), recipients=frozenset(recipients),
                        data_categories=frozenset(data), valid_from=date(2026, 1, 1), **kw)


def _case(birth, *consents, state="investigation", origin="school", running=0):
    return CaseFacts(ref="VO-TEST0001", state=state, received_at=NOW, birth_date=birth, consents=consents,
                     origin=origin, interventions_running=running)


SIG = InterventionFacts("iv-1", "sig", "decided", frozenset({"police"}))


@pytest.mark.parametrize("birth, consents, allowed", [
    (ADULT, (), False),
    (ADULT, (_consent("subject"),), True),
    (ADULT, (_consent("guardians"),), False),  # an adult consents themself
    (ADULT, (_consent("subject", recipients=("social_services",)),), False),  # the police are not covered
    (ADULT, (_consent("subject", data=("identity",)),), False),
    (ADULT, (_consent("subject", purpose="exit_support"),), False),
    (ADULT, (_consent("subject", status="withdrawn"),), False),
    (ADULT, (_consent("subject", valid_until=date(2026, 11, 25)),), False),  # expired yesterday
    (CHILD_17, (_consent("subject"),), False),  # rules.toml lists no intervention a child consents to alone
    # SIG here shares with the police: for a child, on the child's consent and the guardians' (12 kap. 2, 3 §§ OSL)
    (CHILD_17, (_consent("guardians"),), False),
    (CHILD_17, (_consent("guardians"), _consent("subject")), True),
    (CHILD_12, (_consent("guardians"), _consent("subject")), True),
], ids=["none", "adult", "guardians for an adult", "recipient", "data", "purpose", "withdrawn", "expired",
        "a child alone", "guardians of 17 alone", "guardians and child of 17", "guardians and child of 12"])
def test_starting_needs_the_consent_that_covers_the_intervention(machine, birth, consents, allowed):
    case = _case(birth, *consents)
    if allowed:
        step = machine.fire(case, SIG, CASEWORKER, "start", {}, NOW, salt=SALT)
        assert step.state == "running"
    else:
        with pytest.raises(ConsentMissing):
            machine.fire(case, SIG, CASEWORKER, "start", {}, NOW, salt=SALT)


def test_within_social_services_a_childs_intervention_rests_on_the_guardians_consent(machine):
    """Other support shares with no one outside social services: the guardians' consent covers it for a child."""
    other = InterventionFacts("iv-3", "other_support", "decided")
    guardians = _consent("guardians", purpose="other_support", recipients=("social_services",),
                         data=("identity", "concern"))
    assert machine.fire(_case(CHILD_12, guardians), other, CASEWORKER, "start", {}, NOW, salt=SALT).state == "running"
    with pytest.raises(ConsentMissing):
        machine.fire(_case(CHILD_12), other, CASEWORKER, "start", {}, NOW, salt=SALT)


def test_roles_and_states(machine):
    proposed = InterventionFacts("iv-2", "other_support", "proposed")
    with pytest.raises(RoleNotAllowed):
        machine.fire(_case(ADULT), proposed, CASEWORKER, "decide", {"reason": "x"}, NOW, salt=SALT)
    with pytest.raises(TransitionNotAllowed):
        machine.fire(_case(ADULT), proposed, CASEWORKER, "end", {"end_reason": "completed", "reason": "x"}, NOW,
                     salt=SALT)
    with pytest.raises(InvalidInput):
        machine.fire(_case(ADULT), proposed, DECIDER, "decide", {}, NOW, salt=SALT)
    step = machine.fire(_case(ADULT), proposed, DECIDER, "decide", {"reason": "Beviljas."}, NOW, salt=SALT)
    assert step.state == "decided" and step.decision and step.entry.trigger == "intervention_decide"
    declined = machine.fire(_case(ADULT), proposed, DECIDER, "decline", {"reason": "Nej."}, NOW, salt=SALT)
    assert (declined.state, declined.end_reason, declined.decision) == ("ended", "not_granted", True)


def test_ending_takes_a_reason_from_its_choices(machine):
    running = InterventionFacts("iv-3", "other_support", "running")
    with pytest.raises(InvalidInput):  # consent_withdrawn is the withdrawal's, not a choice of staff
        machine.fire(_case(ADULT), running, CASEWORKER, "end", {"end_reason": "consent_withdrawn", "reason": "x"},
                     NOW, salt=SALT)
    step = machine.fire(_case(ADULT), running, CASEWORKER, "end", {"end_reason": "moved", "reason": "Flytt."}, NOW,
                        salt=SALT)
    assert (step.state, step.end_reason) == ("ended", "moved")
    assert step.entry.codes["end_reason"] == "moved" and "Flytt" not in step.entry.canonical().decode()


def test_the_consent_ended_step_is_automatic_and_only_when_no_consent_covers(machine):
    running = InterventionFacts("iv-4", "sig", "running", frozenset({"police"}))
    with pytest.raises(TransitionRefused) as caught:
        machine.fire(_case(ADULT), running, CASEWORKER, "consent_ended", {"end_reason": "consent_withdrawn"}, NOW,
                     salt=SALT)
    assert caught.value.refusals[0].code == "automatic_step"
    with pytest.raises(TransitionRefused) as caught:
        machine.fire(_case(ADULT, _consent("subject")), running, CASEWORKER, "consent_ended",
                     {"end_reason": "consent_withdrawn"}, NOW, salt=SALT, automatic=True)
    assert caught.value.refusals[0].code == "consent_still_covers"
    step = machine.fire(_case(ADULT), running, CASEWORKER, "consent_ended", {"end_reason": "consent_withdrawn"}, NOW,
                        salt=SALT, automatic=True)
    assert step.state == "ended"
    assert "consent_ended" not in {o.trigger for o in machine.options(_case(ADULT), running, CASEWORKER, NOW)}


def test_sig_outside_15_to_25_warns_and_the_warning_is_logged(machine):
    old = _case(date(1980, 1, 1), _consent("subject"))
    step = machine.fire(old, SIG, CASEWORKER, "start", {}, NOW, salt=SALT)
    assert [w.code for w in step.warnings] == ["sig_age_range"] and step.entry.codes["warnings"] == ["sig_age_range"]
    assert not machine.fire(_case(ADULT, _consent("subject")), SIG, CASEWORKER, "start", {}, NOW, salt=SALT).warnings


def test_a_step_is_logged_in_the_cases_state(machine):
    step = machine.fire(_case(ADULT, _consent("subject"), state="interventions"), SIG, CASEWORKER, "start", {}, NOW,
                        salt=SALT)
    entry = step.entry
    assert (entry.from_state, entry.to_state) == ("interventions", "interventions")
    assert entry.codes == {"intervention": "iv-1", "kind": "sig", "intervention_from": "decided",
                           "intervention_to": "running"}


def test_proposing(machine):
    new = InterventionFacts("iv-5", "exit_support", "proposed")
    step = machine.propose(_case(ADULT), CASEWORKER, new, None, NOW, salt=SALT, sealed={"goal": "Mål."})
    assert step.state == "proposed" and step.entry.trigger == "intervention_propose"
    assert "Mål" not in step.entry.canonical().decode()
    refusals = machine.propose_refusals(_case(ADULT, state="pre_assessment"), CASEWORKER, "exit_support",
                                        frozenset(), frozenset(), None)
    assert [r.code for r in refusals] == ["propose_wrong_state"]
    early = _case(ADULT, state="pre_assessment", origin="police_exit_programme")
    assert machine.propose_refusals(early, CASEWORKER, "exit_support", frozenset(), frozenset(),
                                    "police_exit_programme") == []
    assert machine.propose_refusals(early, CASEWORKER, "sig", frozenset(), frozenset(), "police_exit_programme")
    assert [r.code for r in machine.propose_refusals(_case(ADULT), REPORTER, "nope", frozenset(), frozenset(), None)
            ] == ["role", "kind_unknown"]


def test_the_case_steps_that_follow_the_interventions_are_automatic_and_guarded():
    engine = engine_for(default_flowchart())
    case = _case(ADULT, running=1)
    assert "begin_interventions" not in {o.trigger for o in engine.options(case, CASEWORKER, NOW)}
    with pytest.raises(TransitionRefused) as caught:
        engine.fire(case, CASEWORKER, "begin_interventions", {}, NOW, salt=SALT)
    assert caught.value.refusals[0].code == "automatic_step"
    outcome = engine.fire(case, CASEWORKER, "begin_interventions", {}, NOW, salt=SALT, automatic=True)
    assert outcome.state == "interventions"
    with pytest.raises(TransitionRefused):  # none runs yet
        engine.fire(_case(ADULT), CASEWORKER, "begin_interventions", {}, NOW, salt=SALT, automatic=True)
    with pytest.raises(TransitionRefused):  # from the pre-assessment only on the programme's referral
        engine.fire(_case(ADULT, state="pre_assessment", running=1), CASEWORKER, "begin_interventions", {}, NOW,
                    salt=SALT, automatic=True)
    early = _case(ADULT, state="pre_assessment", origin="police_exit_programme", running=1)
    assert engine.fire(early, CASEWORKER, "begin_interventions", {}, NOW, salt=SALT, automatic=True).state \
        == "interventions"
    with pytest.raises(TransitionRefused):  # one still runs
        engine.fire(_case(ADULT, state="interventions", running=1), CASEWORKER, "end_interventions", {}, NOW,
                    salt=SALT, automatic=True)
    assert engine.fire(_case(ADULT, state="interventions"), Actor("sys", "system"), "end_interventions", {}, NOW,
                       salt=SALT, automatic=True).state == "follow_up"


@pytest.mark.parametrize("trigger", ["fly", ["start"], None, 3])
def test_an_unknown_step_is_refused_by_name(machine, trigger):
    from workflow.errors import UnknownTrigger

    with pytest.raises(UnknownTrigger):
        machine.fire(_case(ADULT), SIG, CASEWORKER, trigger, {}, NOW, salt=SALT)
