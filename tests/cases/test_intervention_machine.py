"""Interventions and consents together through the real operations: a Hypothesis state machine against an
independent model (plain Python below, which calls none of the product's rules).

One case per example, about a person who is 17 or an adult, taken to the investigation. Random steps record the
person's or the guardians' consents (sometimes not covering every recipient, valid for a few days or a year),
withdraw them, propose SIG, exit support and other interventions (SIG sometimes shared with the police), decide,
start and end them, and move the clock on by days with the expiry sweep run. After every step:

- no intervention runs without a consent in force that covers it (as the model reads the rules: an adult's own;
  under 18 the guardians'), on the product's own records;
- the case is in `interventions` exactly while one runs (and in follow-up after the last has ended);
- every intervention's state and end reason, and the case's state, are the model's;
- the product refused exactly what the model refused.

Bounded: 24 examples of up to 25 steps per database (under a minute on both together).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from cases.casework.consents import ConsentForm, record_consent, withdraw_consent
from cases.interventions import InterventionForm, expire_consents, fire_intervention, propose_intervention
from cases.models import Case, Intervention
from tests.cases.intervention_helpers import investigating
from tests.cases.test_state_machine import fresh_database  # noqa: F401  (the fixture: a fresh database per example)
from workflow import VidoroError

SETTINGS = settings(max_examples=24, stateful_step_count=25, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.large_base_example])

# The model's reading of the rules, written out here (not read from policies/): what each kind's consent covers.
KIND_RECIPIENTS = {"sig": {"social_services"}, "exit_support": {"exit_service"}, "other_support": {"social_services"}}
KIND_DATA = {"sig": {"identity", "concern", "assessment"}, "exit_support": {"identity", "concern", "assessment"},
             "other_support": {"identity", "concern"}}
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@dataclass
class MConsent:
    id: str
    given_by: str
    purpose: str
    recipients: set[str]
    data: set[str]
    valid_from: date
    valid_until: date
    status: str = "given"

    def active(self, today: date) -> bool:
        return self.status == "given" and self.valid_from <= today <= self.valid_until


@dataclass
class MIntervention:
    id: str
    kind: str
    extra: set[str]
    state: str = "proposed"
    end_reason: str | None = None


@dataclass
class Model:
    birth: date
    state: str = "investigation"
    consents: list[MConsent] = field(default_factory=list)
    interventions: dict[str, MIntervention] = field(default_factory=dict)

    def age(self, today: date) -> int:
        return today.year - self.birth.year - ((today.month, today.day) < (self.birth.month, self.birth.day))

    def covered(self, iv: MIntervention, today: date, consents: list[MConsent] | None = None) -> bool:
        # An adult: their own consent. A child: the guardians'; and, for an intervention that shares outside social
        # services, the child's own as well (the consent a partner's read of the packet needs).
        need = KIND_RECIPIENTS[iv.kind] | iv.extra
        if self.age(today) >= 18:
            parties = ["subject"]
        else:
            parties = ["guardians", "subject"] if need - {"social_services"} else ["guardians"]
        pool = self.consents if consents is None else consents
        return all(any(c.given_by == party and c.active(today) and c.purpose == iv.kind and need <= c.recipients
                       and KIND_DATA[iv.kind] <= c.data for c in pool) for party in parties)

    def follow(self) -> None:
        if any(iv.state == "running" for iv in self.interventions.values()):
            self.state = "interventions"
        elif self.state == "interventions":
            self.state = "follow_up"


class InterventionsAndConsents(RuleBasedStateMachine):
    def __init__(self, fresh) -> None:
        super().__init__()
        self.db, self.staff = fresh()
        self.now = START
        self.model: Model | None = None
        self.ref = ""

    @property
    def today(self) -> date:
        return self.now.date()  # 10:00 UTC: the same day in Stockholm

    @initialize(child=st.booleans(), serial=st.integers(100, 899))
    def a_case_in_investigation(self, child, serial) -> None:
        birth = date(2008, 9, 1) if child else date(1999, 6, 15)  # 17 on START (18 on 2026-09-01), or 26
        self.ref, self.now = investigating(self.db, self.staff, birth=birth, serial=serial, start=START, child=child)
        self.now = self.now.replace(hour=10, minute=0) + timedelta(days=1)
        self.model = Model(birth=birth)

    # --- rules ---------------------------------------------------------------------------------------------

    @rule(given_by=st.sampled_from(["subject", "guardians"]), purpose=st.sampled_from(sorted(KIND_RECIPIENTS)),
          with_police=st.booleans(), days=st.sampled_from([3, 20, 365]))
    def record_a_consent(self, given_by, purpose, with_police, days) -> None:
        recipients = set(KIND_RECIPIENTS[purpose]) | ({"police"} if with_police else set())
        done = record_consent(self.db, self.staff["caseworker"], self.ref, ConsentForm(
            given_by=given_by, purposes=(purpose,), recipients=tuple(sorted(recipients)),
            data_categories=tuple(sorted(KIND_DATA[purpose])), method="written", evidence="Samtycke.",
            valid_from=self.today, valid_until=self.today + timedelta(days=days)), now=self.now)
        self.model.consents.append(MConsent(done.id, given_by, purpose, recipients, set(KIND_DATA[purpose]),
                                            self.today, self.today + timedelta(days=days)))

    @precondition(lambda self: self.model and any(c.status == "given" for c in self.model.consents))
    @rule(data=st.data())
    def withdraw_a_consent(self, data) -> None:
        consent = data.draw(st.sampled_from([c for c in self.model.consents if c.status == "given"]))
        before = [MConsent(**vars(c)) for c in self.model.consents]
        withdraw_consent(self.db, self.staff["caseworker"], self.ref, consent.id, "Återkallat.", now=self.now)
        consent.status = "withdrawn"
        for iv in self.model.interventions.values():
            if iv.state == "ended" or self.model.covered(iv, self.today):
                continue
            if iv.state == "running" or self.model.covered(iv, self.today, before):
                iv.state, iv.end_reason = "ended", "consent_withdrawn"
        self.model.follow()

    @rule(kind=st.sampled_from(sorted(KIND_RECIPIENTS)), with_police=st.booleans())
    def propose(self, kind, with_police) -> None:
        extra = {"police"} if with_police and kind == "sig" else set()
        done = propose_intervention(self.db, self.staff["caseworker"], self.ref, InterventionForm(
            kind, "Målet med insatsen.", tuple(extra)), now=self.now)
        self.model.interventions[done.id] = MIntervention(done.id, kind, extra)

    @precondition(lambda self: self.model and self.model.interventions)
    @rule(data=st.data(), step=st.sampled_from(["decide", "start", "end", "decline", "withdraw_proposal"]))
    def take_a_step(self, data, step) -> None:
        iv = data.draw(st.sampled_from(sorted(self.model.interventions.values(), key=lambda i: i.id)))
        role, payload = {
            "decide": ("decider", {"reason": "Beviljas."}),
            "decline": ("decider", {"reason": "Avslås."}),
            "start": ("caseworker", {}),
            "end": ("caseworker", {"end_reason": "completed", "reason": "Klart."}),
            "withdraw_proposal": ("caseworker", {"reason": "Inte aktuellt."}),
        }[step]
        expected = {  # the model's own reading: from where each step goes, and starting needs a covering consent
            "decide": iv.state == "proposed",
            "decline": iv.state == "proposed",
            "start": iv.state == "decided" and self.model.covered(iv, self.today),
            "end": iv.state == "running",
            "withdraw_proposal": iv.state in ("proposed", "decided"),
        }[step]
        try:
            fire_intervention(self.db, self.staff[role], iv.id, step, payload, now=self.now)
        except VidoroError as refused:
            assert not expected, f"{step} on {iv.state} refused: {refused}"
            return
        assert expected, f"{step} on {iv.state} ({iv.kind}) was allowed; the model refuses it"
        iv.state = {"decide": "decided", "start": "running"}.get(step, "ended")
        iv.end_reason = {"decline": "not_granted", "end": "completed", "withdraw_proposal": "proposal_withdrawn"
                         }.get(step)
        self.model.follow()

    @rule(days=st.integers(1, 40))
    def time_passes_and_the_sweep_runs(self, days) -> None:
        self.now += timedelta(days=days)
        ended = expire_consents(self.db, now=self.now)
        lapsed = [iv for iv in self.model.interventions.values()
                  if iv.state == "running" and not self.model.covered(iv, self.today)]
        for iv in lapsed:
            iv.state, iv.end_reason = "ended", "consent_expired"
        self.model.follow()
        assert ended == len(lapsed)

    # --- what must hold after every step -------------------------------------------------------------------

    @invariant()
    def the_product_agrees_with_the_model(self) -> None:
        if self.model is None:
            return
        with self.db.read() as s:
            case = s.scalars(select(Case).where(Case.ref == self.ref)).one()
            rows = {r.id: r for r in s.scalars(select(Intervention).where(Intervention.case_id == case.id))}
            state = case.state
            found = {i: (r.kind, r.state, r.end_reason, set(r.recipients)) for i, r in rows.items()}
        assert found == {i: (m.kind, m.state, m.end_reason, m.extra) for i, m in self.model.interventions.items()}
        running = [m for m in self.model.interventions.values() if m.state == "running"]
        for m in running:  # none runs without a consent in force covering it
            assert self.model.covered(m, self.today), m
        assert state == self.model.state
        assert (state == "interventions") == bool(running)


def test_interventions_and_consents_agree_with_an_independent_model(fresh_database):  # noqa: F811
    run_state_machine_as_test(lambda: InterventionsAndConsents(fresh_database), settings=SETTINGS)
