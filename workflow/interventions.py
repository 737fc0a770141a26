"""The interventions' lifecycle engine: which steps an actor may take on one intervention, and what taking one does.

Each flowchart version with an `[interventions]` section (`policies.interventions`) is compiled once into a
`transitions.Machine` without models, as `workflow.engine` does for the case: a throw-away model carries one
decision through the machine's event and is dropped. The consent guard asks the question the case's guards ask
(`workflow.guards`): an adult's own active consent covering the intervention's purpose, every recipient it shares
with and its data; for a child, the guardians' (from 15 the child's own for what rules.toml lists).

Every step is a `LogEntry` of the transition log whose from and to are the CASE's state (an intervention's
step is no move of the case), its trigger `intervention_<step>`, its codes the intervention's id, kind, its own
states (`intervention_from`, `intervention_to`: never the entry's own keys "from" and "to" again, which the fast
log check counts once per entry, `cases.audit.verify_fast`) and end reason, and the warnings staff were shown
(the flags on the case warn at the steps `flags.toml` names as `intervention_<step>`, as `workflow.engine`
records them): no personal data. Pure: no database, no clock (`now` is passed in).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from transitions import Machine
from transitions.core import EventData

from policies import ConsentRule, Flowchart, InterventionKind, Lifecycle, Transition
from policies.interventions import PROPOSE, log_trigger
from workflow.deadlines import local_date
from workflow.engine import Option
from workflow.errors import TransitionRefused, UnknownTrigger
from workflow.facts import Actor, CaseFacts, age_on
from workflow.fields import validate_payload
from workflow.flags import flag_codes, flag_warnings_at
from workflow.guards import ADULT_AGE, GUARDS, Context, child_intervention_refusals, consent_refusals
from workflow.log import LogEntry, payload_hash
from workflow.refusals import Refusal

__all__ = [
    "LOG_TRIGGERS",
    "InterventionFacts",
    "InterventionMachine",
    "Step",
    "coverage_refusals",
    "covering_rule",
    "machine_for",
]

# Every trigger an intervention's step can have in the transition log (policies.interventions.LIFECYCLE_STEPS).
LOG_TRIGGERS = tuple(log_trigger(s) for s in (PROPOSE, "decide", "decline", "start", "end", "withdraw_proposal",
                                               "consent_ended"))


@dataclass(frozen=True)
class InterventionFacts:
    """An intervention as the engine sees it: no goal, no note (those are sealed and decide nothing)."""

    id: str
    kind: str
    state: str
    recipients: frozenset[str] = frozenset()
    data_categories: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Step:
    """What a step does: the intervention's new state, its end reason, the log entry and the clean form."""

    state: str
    end_reason: str | None
    entry: LogEntry
    payload: Mapping[str, Any]
    warnings: tuple[Refusal, ...] = ()
    decision: bool = False  # deciding or declining: the caller writes a decision record


WITHIN_SOCIAL_SERVICES = "social_services"  # a recipient inside the authority: no secrecy is lifted by sharing


def covering_rule(kind: InterventionKind, recipients: frozenset[str], data: frozenset[str]) -> ConsentRule:
    """What the consent for one intervention must cover: its kind's purpose, recipients and data, and its own."""
    return ConsentRule(purpose=kind.consent.purpose,
                       recipients=tuple(sorted(set(kind.consent.recipients) | recipients)),
                       data_categories=tuple(sorted(set(kind.consent.data_categories) | data)),
                       given_by=kind.consent.given_by)


def coverage_refusals(lifecycle: Lifecycle, case: CaseFacts, iv: InterventionFacts, today: date) -> list[Refusal]:
    """Why no consent in force covers `iv` on `today`; empty when one does.

    An adult: their own consent. A child (under 18 on `today`): for an intervention that shares data outside
    social services (SIG, exit support), the child's own consent and the guardians' (12 kap. 2 and 3 §§ OSL), as
    the disclosure rule asks for every read of its packet (`workflow.disclosure`), so the two never disagree;
    for one kept within social services, the guardians', or from the age rules.toml gives the child's own for the
    interventions it lists (socialtjänstlagen, in words: LAW.md). Version 2 asked the same of its steps.
    """
    rule = covering_rule(lifecycle.kinds[iv.kind], iv.recipients, iv.data_categories)
    if case.birth_date is None:  # an erased case: nothing is covered any more
        return [Refusal("consent_missing", {"given_by": "subject", "purpose": rule.purpose})]
    if age_on(case.birth_date, today) < ADULT_AGE and not set(rule.recipients) - {WITHIN_SOCIAL_SERVICES}:
        return list(child_intervention_refusals(case, rule, today))
    return list(consent_refusals(case, rule, today))


class _Decision:
    """The throw-away model of one call: the machine reads and sets `state`, the guards fill `refusals`."""

    __slots__ = ("check", "refusals", "state")

    def __init__(self, state: str, check: Callable[[Transition], list[Refusal]]) -> None:
        self.state = state
        self.check = check
        self.refusals: list[Refusal] = []


class InterventionMachine:
    """One flowchart version's interventions, compiled."""

    def __init__(self, chart: Flowchart) -> None:
        if chart.interventions is None:
            raise ValueError(f"flowchart version {chart.version[:12]} has no interventions of their own")
        self.chart = chart
        self.lifecycle: Lifecycle = chart.interventions
        self.machine = Machine(model=None, states=list(self.lifecycle.states), initial=self.lifecycle.initial,
                               auto_transitions=False, send_event=True, ignore_invalid_triggers=False)
        for t in self.lifecycle.transitions:
            self.machine.add_transition(t.trigger, t.source, t.dest, conditions=[_condition(t)])

    # --- proposing --------------------------------------------------------------------------------------

    def propose_refusals(self, case: CaseFacts, actor: Actor, kind: str, recipients: frozenset[str],
                         data: frozenset[str], origin: str | None) -> list[Refusal]:
        """Why `actor` may not propose an intervention of `kind` on `case` now (empty: they may)."""
        lc, refusals = self.lifecycle, []
        if actor.role not in lc.propose_roles:
            refusals.append(Refusal("role", {"role": actor.role, "allowed": sorted(lc.propose_roles)}))
        if kind not in lc.kinds:
            return [*refusals, Refusal("kind_unknown", {"kind": kind[:40]})]
        early = self._early(case, kind, origin)
        if case.state not in lc.propose_in and not early:
            refusals.append(Refusal("propose_wrong_state", {"state": case.state, "allowed": list(lc.propose_in)}))
        vocab = self.chart.vocabularies
        if not recipients <= set(vocab.get("recipients", {})):
            refusals.append(Refusal("invalid_field", {"field": "recipients", "problem": "unknown_code"}))
        if not data <= set(vocab.get("data_categories", {})):
            refusals.append(Refusal("invalid_field", {"field": "data_categories", "problem": "unknown_code"}))
        if origin is not None and origin not in lc.kinds[kind].referral_sources:
            refusals.append(Refusal("invalid_field", {"field": "origin", "problem": "code_not_allowed"}))
        return refusals

    def _early(self, case: CaseFacts, kind: str, origin: str | None) -> bool:
        """Proposed before the investigation: the kind's referral source sent the case, the case can begin
        interventions from where it is (the pre-assessment, for exit support on the police's referral)."""
        sources = self.lifecycle.kinds[kind].referral_sources
        begins_here = self.chart.transition(self.lifecycle.begin, case.state) is not None
        return begins_here and origin is not None and origin in sources and case.origin == origin

    def propose(self, case: CaseFacts, actor: Actor, iv: InterventionFacts, origin: str | None, now: datetime,
                *, salt: bytes, sealed: Mapping[str, Any]) -> Step:
        """A new intervention in the lifecycle's first state, or `TransitionRefused` naming every reason."""
        _aware(now)
        refusals = self.propose_refusals(case, actor, iv.kind, iv.recipients, iv.data_categories, origin)
        if refusals:
            raise TransitionRefused.for_refusals(case.ref, log_trigger(PROPOSE), refusals)
        codes: dict[str, Any] = {"intervention": iv.id, "kind": iv.kind, "intervention_from": None,
                                 "intervention_to": self.lifecycle.initial,
                                 "recipients": sorted(iv.recipients), "data_categories": sorted(iv.data_categories)}
        if origin is not None:
            codes["origin"] = origin
        entry = self._entry(case, actor, PROPOSE, codes, now, payload_hash(dict(sealed), salt))
        return Step(self.lifecycle.initial, None, entry, dict(sealed))

    # --- the steps --------------------------------------------------------------------------------------

    def options(self, case: CaseFacts, iv: InterventionFacts, actor: Actor, now: datetime) -> tuple[Option, ...]:
        """Every step out of the intervention's state as this actor sees it, before filling in a form."""
        out = []
        for t in self.lifecycle.transitions_from(iv.state):
            if t.automatic:
                continue
            refusals = self._evaluate(t, case, iv, actor, now, {})
            blocking = tuple(r for r in refusals if r.kind not in ("field", "warning"))
            out.append(Option(trigger=t.trigger, label=t.label, allowed=not blocking, refusals=blocking,
                              requires=t.requires, warnings=tuple(r for r in refusals if r.kind == "warning")))
        return tuple(out)

    def fire(self, case: CaseFacts, iv: InterventionFacts, actor: Actor, trigger: str, payload: Mapping[str, Any],
             now: datetime, *, salt: bytes, automatic: bool = False) -> Step:
        """Take step `trigger` on `iv`; return what to write, or raise `TransitionRefused` naming every reason."""
        _aware(now)
        if not isinstance(trigger, str) or trigger not in self.machine.events:
            raise UnknownTrigger(str(trigger)[:40], self.lifecycle.triggers)
        t = self.lifecycle.transition(trigger, iv.state)
        log_name = log_trigger(trigger)
        if t is None:
            allowed = sorted({x.source for x in self.lifecycle.transitions if x.trigger == trigger})
            raise TransitionRefused.for_refusals(case.ref, log_name, [Refusal("wrong_state", {
                "state": iv.state, "allowed": allowed})])
        if t.automatic and not automatic:
            raise TransitionRefused.for_refusals(case.ref, log_name, [Refusal("automatic_step")])
        clean, field_refusals = validate_payload(self.chart, t, payload)
        if field_refusals:
            role = [] if actor.role in t.roles else [Refusal("role", {"role": actor.role, "allowed": sorted(t.roles)})]
            raise TransitionRefused.for_refusals(case.ref, log_name, [*role, *field_refusals])
        decision = _Decision(iv.state, lambda tr: self._evaluate(tr, case, iv, actor, now, clean))
        if not self.machine.events[trigger].trigger(decision):
            raise TransitionRefused.for_refusals(case.ref, log_name,
                                                 [r for r in decision.refusals if r.kind != "warning"])
        warnings = tuple(r for r in decision.refusals if r.kind == "warning")
        end_reason = t.end_reason or clean.get("end_reason")
        codes: dict[str, Any] = {"intervention": iv.id, "kind": iv.kind, "intervention_from": iv.state,
                                 "intervention_to": decision.state}
        codes.update({k: v for k, v in clean.items() if not self.chart.fields[k].personal})
        if end_reason is not None:
            codes["end_reason"] = end_reason
        if warnings:  # as the case's engine records them: the warnings' codes, a flag's by the flag's code
            codes["warnings"] = [w.code for w in warnings]
            codes.update(flag_codes(warnings))
        entry = self._entry(case, actor, trigger, codes, now, payload_hash(clean, salt))
        return Step(decision.state, end_reason, entry, clean, warnings, decision=trigger in ("decide", "decline"))

    def lapsed(self, case: CaseFacts, ivs: tuple[InterventionFacts, ...], today: date) -> tuple[str, ...]:
        """The ids of the running interventions no consent in force covers on `today` any more."""
        return tuple(iv.id for iv in ivs if iv.state == self.lifecycle.running
                     and coverage_refusals(self.lifecycle, case, iv, today))

    # --- internals --------------------------------------------------------------------------------------

    def _evaluate(self, t: Transition, case: CaseFacts, iv: InterventionFacts, actor: Actor, now: datetime,
                  payload: Mapping[str, Any]) -> list[Refusal]:
        refusals = [] if actor.role in t.roles else [Refusal("role", {"role": actor.role, "allowed": sorted(t.roles)})]
        today = local_date(now, self.chart.timezone)
        for guard in t.guards:
            refusals.extend(self._guard(guard, case, iv, today))
        kind = self.lifecycle.kinds[iv.kind]
        if t.trigger in ("decide", "start") and case.birth_date is not None:
            ctx = Context(self.chart, t, case, actor, now, payload)
            for warning in kind.warnings:
                refusals.extend(GUARDS[warning](ctx))
        # the flags on the case warn at the steps flags.toml names by the log's name (`intervention_<step>`)
        refusals.extend(flag_warnings_at(log_trigger(t.trigger), case, today))
        return refusals

    def _guard(self, name: str, case: CaseFacts, iv: InterventionFacts, today: date) -> Iterator[Refusal]:
        uncovered = coverage_refusals(self.lifecycle, case, iv, today)
        if name == "consent":
            yield from uncovered
        elif name == "consent_lapsed" and not uncovered:
            yield Refusal("consent_still_covers", {"purpose": self.lifecycle.kinds[iv.kind].consent.purpose})

    def _entry(self, case: CaseFacts, actor: Actor, step: str, codes: Mapping[str, Any], now: datetime,
               digest: str) -> LogEntry:
        return LogEntry(at=now, case_ref=case.ref, actor_id=actor.id, role=actor.role, trigger=log_trigger(step),
                        from_state=case.state, to_state=case.state, flowchart_version=self.chart.version,
                        codes=codes, payload_hash=digest)


def _condition(t: Transition) -> Callable[[EventData], bool]:
    def condition(event: EventData) -> bool:
        decision = event.model
        if not isinstance(decision, _Decision):
            raise TypeError(f"expected a decision, not {type(decision).__name__}")
        decision.refusals = decision.check(t)
        return all(r.kind == "warning" for r in decision.refusals)

    condition.__name__ = f"guards_of_{t.trigger}_from_{t.source}"
    return condition


def _aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("the engine decides on timezone-aware moments only")


_MACHINES: dict[str, InterventionMachine] = {}


def machine_for(chart: Flowchart) -> InterventionMachine:
    """The compiled interventions of a flowchart version (one with an `[interventions]` section), once per process."""
    machine = _MACHINES.get(chart.version)
    if machine is None:
        machine = _MACHINES.setdefault(chart.version, InterventionMachine(chart))
    return machine
