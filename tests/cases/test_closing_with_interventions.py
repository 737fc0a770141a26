"""A version-3 case is not closed while an intervention is proposed or decided (both databases): the decision
maker is told in words to withdraw or decide the proposed interventions first, from the investigation and from
the follow-up alike; once none waits, the case closes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cases.casework.operations import available_triggers, fire_trigger
from cases.interventions import InterventionForm, fire_intervention, propose_intervention
from tests.cases.intervention_helpers import case_state, consent, investigating
from tests.conftest import NOW
from workflow.errors import GuardFailed

ADULT = date(2001, 3, 4)
CLOSE = {"reason": "Ärendet avslutas.", "outcome": "no_need"}


def _propose(db, staff, ref, kind, now) -> str:
    return propose_intervention(db, staff["caseworker"], ref, InterventionForm(kind, "Stöd ut ur miljön."),
                                now=now).id


def _refused_close(db, staff, ref, now, count: int) -> None:
    with pytest.raises(GuardFailed) as refused:
        fire_trigger(db, staff["decider"], ref, "close_case", CLOSE, now=now)
    # closing the investigation also waits for the communication of the material (förvaltningslagen): not here
    (why,) = [r for r in refused.value.refusals if r.code != "communication_missing"]
    assert (why.code, why.params) == ("interventions_pending", {"count": count})
    assert "withdraw or decide the proposed interventions first" in why.text("en")
    assert "återkalla eller besluta om de föreslagna insatserna först" in why.text("sv")


def test_closing_from_the_investigation_waits_for_the_proposed_and_decided_interventions(db, staff):
    ref, now = investigating(db, staff, birth=ADULT, serial=301, start=NOW)
    sig, other = _propose(db, staff, ref, "sig", now), _propose(db, staff, ref, "other_support", now)
    _refused_close(db, staff, ref, now, 2)
    fire_intervention(db, staff["decider"], sig, "decide", {"reason": "Beviljas."}, now=now)
    _refused_close(db, staff, ref, now, 2)  # decided is not started: it would hang as well
    fire_intervention(db, staff["decider"], other, "decline", {"reason": "Avslås."}, now=now)
    _refused_close(db, staff, ref, now, 1)
    fire_intervention(db, staff["caseworker"], sig, "withdraw_proposal", {"reason": "Behövs inte."}, now=now)
    assert _close_refusals(db, staff, ref, now) == []  # none waits any more: only the communication is left
    with pytest.raises(GuardFailed) as refused:
        fire_trigger(db, staff["decider"], ref, "close_case", CLOSE, now=now)
    assert [r.code for r in refused.value.refusals] == ["communication_missing"]


def _close_refusals(db, staff, ref, now) -> list[str]:
    (close,) = [o for o in available_triggers(db, staff["decider"], ref, now=now) if o.trigger == "close_case"]
    return [r.code for r in close.refusals]


def test_closing_from_the_follow_up_waits_for_a_proposal_made_there(db, staff):
    ref, now = investigating(db, staff, birth=ADULT, serial=302, start=NOW)
    sig = _propose(db, staff, ref, "sig", now)
    fire_intervention(db, staff["decider"], sig, "decide", {"reason": "Beviljas."}, now=now)
    consent(db, staff, ref, "sig", now)
    fire_intervention(db, staff["caseworker"], sig, "start", {}, now=now)
    later = now + timedelta(days=30)
    fire_intervention(db, staff["caseworker"], sig, "end", {"end_reason": "completed", "reason": "Klart."}, now=later)
    assert case_state(db, ref) == "follow_up"
    waiting = _propose(db, staff, ref, "other_support", later)
    _refused_close(db, staff, ref, later, 1)
    # the step is offered with its refusal in words, not hidden
    assert _close_refusals(db, staff, ref, later) == ["interventions_pending"]
    fire_intervention(db, staff["caseworker"], waiting, "withdraw_proposal", {"reason": "Behövs inte."}, now=later)
    done = fire_trigger(db, staff["decider"], ref, "close_case", dict(CLOSE, outcome="completed"), now=later)
    assert done.state == "closed"
