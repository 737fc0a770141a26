"""An in-memory stand-in for `cases/` to drive the pure engine through whole paths in tests."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import cache

from policies import DEFAULT_PATH
from policies.hearing import load_hearing
from workflow import Actor, CaseFacts, CommunicationFacts, ConsentFacts, Engine, age_on, default_flowchart, engine_for
from workflow.hearing import Assessment


@cache
def _engine(path: str) -> Engine:
    return engine_for(default_flowchart(path))


def current_engine() -> Engine:
    """The flowchart a new case starts on, chosen as `cases.flowcharts` chooses it: `VIDORO_FLOWCHART` (which the
    `flowchart_v2` fixture sets for the tests of version 2's route), or the one shipped in `policies/`."""
    return _engine(os.environ.get("VIDORO_FLOWCHART") or str(DEFAULT_PATH))


ENGINE = _engine(str(DEFAULT_PATH))
SALT = b"0123456789abcdef"
RECEIVED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning in Stockholm (10:00 CET)
CHILD = date(2012, 5, 17)  # 13 on receipt
ADULT = date(2001, 1, 9)  # 25 on receipt
# What a child's protection assessment or pre-assessment records, as staff would fill it in (workflow.hearing).
HEARD = Assessment(assessed="Barnets situation och skyddsbehov", decision=None, child_view="Barnets egen bild")


def actor(role: str) -> Actor:
    return Actor(f"staff-{role}", role)


def consent(given_by: str, purpose: str, recipients, data, *, valid_from=date(2026, 1, 1), valid_until=None,
            status="given") -> ConsentFacts:
    return ConsentFacts(given_by, frozenset([purpose]), frozenset(recipients), frozenset(data), valid_from,
                        valid_until, status)


class Sim:
    """One case: registers it, fires triggers, applies outcomes as `cases/` would."""

    def __init__(self, birth_date: date, received_at: datetime = RECEIVED) -> None:
        self.engine = current_engine()  # a case stays on the version it started on
        outcome = self.engine.register("VO-TEST0001", actor("reporter"), received_at, birth_date, received_at,
                                       salt=SALT)
        self.now = received_at
        self.facts = CaseFacts("VO-TEST0001", outcome.state, received_at, birth_date, deadlines=outcome.starts)
        self.entries = [outcome.entry]

    def later(self, **delta) -> Sim:
        self.now += timedelta(**delta)
        return self

    def give(self, *consents: ConsentFacts) -> Sim:
        self.facts = replace(self.facts, consents=self.facts.consents + consents)
        return self

    def withdraw_all(self) -> Sim:
        self.facts = replace(self.facts, consents=tuple(replace(c, status="withdrawn") for c in self.facts.consents))
        return self

    def communicate(self, decision: str, *, answer_by: date | None = None, answered: bool = False,
                    exception: str | None = None) -> Sim:
        """The material before `decision` was communicated (or an exception recorded), as `cases/` records it."""
        fact = CommunicationFacts(decision, answer_by, answered, exception)
        self.facts = replace(self.facts, communications=(*self.facts.communications, fact))
        return self

    def fire(self, role: str, trigger: str, *, assessment: Assessment | None = None, **payload):
        """Fire `trigger`; a step that records an assessment gets the usual one unless one is given."""
        rule = load_hearing().assessment_for(trigger, self.facts.state)
        if assessment is None and rule is not None and age_on(self.facts.birth_date, self.now.date()) < 18:
            decision = "no_protection_needed" if rule.kind == "protection" else None
            assessment = replace(HEARD, decision=decision)
        outcome = self.engine.fire(self.facts, actor(role), trigger, payload, self.now, salt=SALT,
                                   assessment=assessment)
        deadlines = {k: v for k, v in self.facts.deadlines.items() if k not in outcome.stops}
        deadlines.update(outcome.starts)
        shared = outcome.shared_with if self.engine.chart.states[outcome.state].consent_purpose else frozenset()
        self.facts = replace(self.facts, state=outcome.state, deadlines=deadlines, shared_with=shared,
                             last_entry_at=self.now)
        self.entries.append(outcome.entry)
        return outcome

    def options(self, role: str):
        return {o.trigger: o for o in self.engine.options(self.facts, actor(role), self.now)}
