"""The flowchart engine: which triggers an actor may fire on a case, and what firing one does.

Each flowchart version is compiled once into a `transitions.Machine` without models and without automatic
transitions. A decision binds a throw-away model object to nothing: it is passed to the machine's event for
one call and dropped, so no machine, model or callback outlives the call and memory does not grow with the
number of cases. The machine runs the guards as its conditions; the engine collects their reasons so that
a refusal names every one of them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from transitions import Machine
from transitions.core import EventData

from policies import DEFAULT_PATH, Flowchart, Transition, load_flowchart, parse_flowchart
from workflow.deadlines import due_on, local_date
from workflow.errors import RoleNotAllowed, TransitionRefused, UnknownTrigger
from workflow.facts import Actor, CaseFacts, age_on
from workflow.fields import validate_payload
from workflow.flags import flag_codes, flag_warnings
from workflow.guards import (
    ADULT_AGE,
    GUARDS,
    OPTIONAL_FIELDS,
    Context,
    age_codes,
    decision_warnings,
    rules,
)
from workflow.hearing import Assessment, assessment_codes, hearing_refusals, normalised_assessment
from workflow.log import LogEntry, payload_hash
from workflow.refusals import Refusal

__all__ = ["Engine", "Option", "Outcome", "default_flowchart", "engine_for", "flowchart_from_text"]

REGISTER = "register"


@dataclass(frozen=True)
class Option:
    """A trigger as offered to one actor on one case now: allowed or not, and why not."""

    trigger: str
    label: Any
    allowed: bool
    refusals: tuple[Refusal, ...] = ()
    requires: tuple[str, ...] = ()
    warnings: tuple[Refusal, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """What firing a trigger does: the caller writes all of it in one transaction, or nothing."""

    state: str
    starts: Mapping[str, date]
    stops: tuple[str, ...]
    entry: LogEntry
    payload: Mapping[str, Any]
    warnings: tuple[Refusal, ...] = ()
    shared_with: frozenset[str] = field(default_factory=frozenset)
    assessment: Assessment | None = None  # normalised, for the caller to store sealed with the step


class _Decision:
    """The throw-away model for one call: the machine reads and sets `state`, guards fill `refusals`."""

    __slots__ = ("ctx", "refusals", "state")

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.state = ctx.case.state
        self.refusals: list[Refusal] = []


class Engine:
    """One compiled flowchart version."""

    def __init__(self, chart: Flowchart) -> None:
        self.chart = chart
        self.machine = Machine(
            model=None,
            states=list(chart.states),
            initial=chart.initial_state,
            auto_transitions=False,
            send_event=True,
            ignore_invalid_triggers=False,
        )
        for t in chart.transitions:
            self.machine.add_transition(
                t.trigger, t.source, t.dest, conditions=[_guards_condition(t)]
            )

    @property
    def version(self) -> str:
        return self.chart.version

    def options(self, case: CaseFacts, actor: Actor, now: datetime) -> tuple[Option, ...]:
        """Every trigger leaving the case's state, as this actor sees it before filling in a form."""
        out = []
        for t in self.chart.transitions_from(case.state):
            if t.automatic:  # taken by the operations on interventions, never offered on a form
                continue
            refusals = self._refusals(t, case, actor, now, {})
            blocking = tuple(r for r in refusals if r.kind not in ("field", "warning"))
            requires = tuple(dict.fromkeys([*t.requires, *(r.field_name for r in refusals if r.field_name)]))
            out.append(Option(
                trigger=t.trigger,
                label=t.label,
                allowed=not blocking,
                refusals=blocking,
                requires=requires,
                warnings=tuple(r for r in refusals if r.kind == "warning"),
            ))
        return tuple(out)

    def check(
        self, case: CaseFacts, actor: Actor, trigger: str, payload: Mapping[str, Any], now: datetime,
        assessment: Assessment | None = None,
    ) -> tuple[Refusal, ...]:
        """Every reason firing `trigger` with `payload` would be refused (warnings excluded)."""
        transition = self._transition(case, trigger)
        if transition is None:
            return (self._wrong_state(case, trigger),)
        clean, field_refusals = validate_payload(self.chart, transition, payload, _optional(transition))
        refusals = _evaluate(Context(self.chart, transition, case, actor, now, clean, assessment))
        return tuple(r for r in (*field_refusals, *refusals) if r.kind != "warning")

    def fire(
        self,
        case: CaseFacts,
        actor: Actor,
        trigger: str,
        payload: Mapping[str, Any],
        now: datetime,
        *,
        salt: bytes,
        assessment: Assessment | None = None,
        automatic: bool = False,
    ) -> Outcome:
        """Decide `trigger`; return what to write, or raise a `TransitionRefused` naming every reason.

        An `assessment` (`workflow.hearing`) comes with a step that records one; its codes and a salted hash
        of all of it enter the log entry, its text goes back in the outcome to be stored sealed. An `automatic`
        step (the case entering or leaving `interventions`) is fired only by the operation that causes it."""
        _require_aware(now)
        transition = self._transition(case, trigger)
        if transition is None:
            raise TransitionRefused.for_refusals(case.ref, trigger, [self._wrong_state(case, trigger)])
        if transition.automatic and not automatic:
            raise TransitionRefused.for_refusals(case.ref, trigger, [Refusal("automatic_step")])
        clean, field_refusals = validate_payload(self.chart, transition, payload, _optional(transition))
        if field_refusals:
            refusals = [*self._role(transition, actor), *field_refusals]
            raise TransitionRefused.for_refusals(case.ref, trigger, refusals)
        decision = _Decision(Context(self.chart, transition, case, actor, now, clean, assessment))
        if not self.machine.events[trigger].trigger(decision):
            blocking = [r for r in decision.refusals if r.kind != "warning"]
            raise TransitionRefused.for_refusals(case.ref, trigger, blocking)
        warnings = tuple(r for r in decision.refusals if r.kind == "warning")
        today = local_date(now, self.chart.timezone)
        starts = self._starts(transition.starts, case.received_at, case.birth_date, now, clean, age_day=today)
        stops = tuple(d for d in (*transition.stops, *self._grown_out_of(case, today))
                      if d in case.deadlines and d not in starts)
        stops = tuple(dict.fromkeys(stops))
        shared = frozenset(transition.consent.recipients) | frozenset(clean.get("recipients", ())) \
            if transition.consent and "consent" in transition.guards else frozenset()
        codes = self._codes(clean)
        stored = normalised_assessment(decision.ctx)
        if stored is not None:
            codes.update(assessment_codes(decision.ctx, stored), assessment_hash=payload_hash(stored.form(), salt))
        entry = LogEntry(
            at=now, case_ref=case.ref, actor_id=actor.id, role=actor.role, trigger=trigger,
            from_state=case.state, to_state=decision.state, flowchart_version=self.version,
            codes={**codes, **age_codes(decision.ctx), **_warning_codes(warnings)},
            payload_hash=payload_hash(clean, salt),
        )
        return Outcome(decision.state, starts, stops, entry, clean, warnings, shared, stored)

    def register(
        self, case_ref: str, actor: Actor, received_at: datetime, birth_date: date, now: datetime, *, salt: bytes,
        codes: Mapping[str, Any] | None = None, sealed: Mapping[str, Any] | None = None,
    ) -> Outcome:
        """A reporter's concern enters the flowchart: the initial state, its deadlines and the first entry.

        `codes` go to the log as they are; `sealed` (free text such as intake's reason for an earlier arrival)
        only into the stored form, which the entry's payload hash commits to with the codes.
        """
        _require_aware(now, received_at)
        if actor.role not in self.chart.initial_roles:
            refusal = Refusal("role", {"role": actor.role, "allowed": sorted(self.chart.initial_roles)})
            raise RoleNotAllowed(case_ref, REGISTER, [refusal])
        received = local_date(received_at, self.chart.timezone)
        starts = self._starts(self.chart.initial_starts, received_at, birth_date, now, {}, age_day=received)
        form = {**(codes or {}), **(sealed or {})}
        # the age group on the day of receipt, to the log only: whether the concern is about a child
        codes = {**(codes or {}), "age_group": rules().age_group(age_on(birth_date, received))}
        entry = LogEntry(
            at=now, case_ref=case_ref, actor_id=actor.id, role=actor.role, trigger=REGISTER, from_state=None,
            to_state=self.chart.initial_state, flowchart_version=self.version, codes=codes,
            payload_hash=payload_hash(form, salt),
        )
        return Outcome(self.chart.initial_state, starts, (), entry, form)

    # --- internals ---------------------------------------------------------------------------------------

    def _transition(self, case: CaseFacts, trigger: str) -> Transition | None:
        if trigger not in self.machine.events:
            raise UnknownTrigger(trigger, self.chart.triggers)
        return self.chart.transition(trigger, case.state)

    def _wrong_state(self, case: CaseFacts, trigger: str) -> Refusal:
        allowed = sorted({t.source for t in self.chart.transitions if t.trigger == trigger})
        return Refusal("wrong_state", {"state": case.state, "allowed": allowed})

    @staticmethod
    def _role(transition: Transition, actor: Actor) -> list[Refusal]:
        if actor.role in transition.roles:
            return []
        return [Refusal("role", {"role": actor.role, "allowed": sorted(transition.roles)})]

    def _refusals(
        self, t: Transition, case: CaseFacts, actor: Actor, now: datetime, payload: Mapping[str, Any]
    ) -> list[Refusal]:
        return _evaluate(Context(self.chart, t, case, actor, now, payload))

    def _starts(
        self, names: Collection[str], received_at: datetime, birth_date: date | None, now: datetime,
        payload: Mapping[str, Any], *, age_day: date,
    ) -> dict[str, date]:
        """The deadlines `names` that apply to a child or an adult as the person is on `age_day`."""
        if not names:
            return {}
        child = age_on(birth_date, age_day) < ADULT_AGE
        starts = {}
        for name in names:
            deadline = self.chart.deadlines[name]
            if deadline.applies_to == ("adult" if child else "child"):
                continue
            starts[name] = due_on(
                deadline, received_at=received_at, fired_at=now, timezone=self.chart.timezone, payload=payload
            )
        return starts

    def _grown_out_of(self, case: CaseFacts, today: date) -> tuple[str, ...]:
        """A child's deadlines that stop because the person is an adult on the day of this step.

        Child or adult is decided at every step: the time limits for a concern about a child (protection
        assessment, pre-assessment, investigation) no longer run once the person has turned 18.
        """
        if case.birth_date is None or age_on(case.birth_date, today) < ADULT_AGE:
            return ()
        return tuple(name for name in case.deadlines
                     if name in self.chart.deadlines and self.chart.deadlines[name].applies_to == "child")

    def _codes(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The coded, non-personal part of a form that goes into the log."""
        return {k: v for k, v in payload.items() if not self.chart.fields[k].personal}


def _evaluate(ctx: Context) -> list[Refusal]:
    """Role first, then every guard and warning of the transition, then the rules every version obeys
    (the flags on the case: `workflow.flags`; kommunicering and structured assessments: `workflow.hearing`)."""
    refusals = Engine._role(ctx.transition, ctx.actor)
    for name in (*ctx.transition.guards, *ctx.transition.warnings):
        refusals.extend(GUARDS[name](ctx))
    if ctx.case.birth_date is not None:  # an erased case decides nothing about a person any more
        refusals.extend(decision_warnings(ctx))
    refusals.extend(flag_warnings(ctx))
    refusals.extend(hearing_refusals(ctx))
    return refusals


def _warning_codes(warnings: tuple[Refusal, ...]) -> dict[str, list[str]]:
    """The warnings staff were shown and went ahead despite, recorded with the transition as codes; a flag's
    warning also by the flag's code (`workflow.flags`)."""
    return {"warnings": [w.code for w in warnings], **flag_codes(warnings)} if warnings else {}


def _guards_condition(transition: Transition) -> Callable[[EventData], bool]:
    """The machine's condition for `transition`: true when nothing but warnings stands in the way."""

    def condition(event: EventData) -> bool:
        decision = event.model
        if not isinstance(decision, _Decision):  # the machine has no models: every call passes a _Decision
            raise TypeError(f"expected a decision, not {type(decision).__name__}")
        decision.refusals = _evaluate(decision.ctx)
        return all(r.kind == "warning" for r in decision.refusals)

    condition.__name__ = f"guards_of_{transition.trigger}_from_{transition.source}"
    return condition


def _require_aware(*moments: datetime) -> None:
    if any(m.tzinfo is None for m in moments):
        raise ValueError("the engine decides on timezone-aware moments only")


def _optional(transition: Transition) -> tuple[str, ...]:
    return tuple(f for g in transition.guards for f in OPTIONAL_FIELDS.get(g, ()))


_ENGINES: dict[str, Engine] = {}


def engine_for(chart: Flowchart) -> Engine:
    """The compiled engine of a flowchart version, compiled once per process."""
    engine = _ENGINES.get(chart.version)
    if engine is None:
        engine = _ENGINES.setdefault(chart.version, Engine(chart))
    return engine


def default_flowchart(path: str | Path = DEFAULT_PATH) -> Flowchart:
    """The flowchart shipped in `policies/`, validated against the guards this engine implements."""
    return load_flowchart(path, guards=GUARDS)


def flowchart_from_text(text: str, source: str) -> Flowchart:
    """A stored flowchart version (a case stays on the version it started on)."""
    return parse_flowchart(text, source=source, guards=GUARDS)
