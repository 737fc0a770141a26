"""The interventions' lifecycle as data: the `[interventions]` section of a flowchart (version 3 on).

After the decision to intervene, each intervention (SIG, exit support, other interventions under the act) is a
record of its own: proposed, decided, running, ended with a reason. Several run at once. Its kinds, states and
steps live in the flowchart file, so a case's pinned version pins its interventions' rules too; a version
without the section (1 and 2) has none and keeps the interventions as states of the case.

The section is validated with the rest of the file (`policies.flowchart`): a wrong kind, state, role, guard,
field or case step is refused with a `PolicyError` naming it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from policies.errors import PolicyError
from policies.model import ConsentRule, Field, Label, State, Transition

__all__ = ["LIFECYCLE_GUARDS", "LIFECYCLE_STEPS", "InterventionKind", "Lifecycle", "build_lifecycle",
           "log_trigger"]

# The steps an intervention's lifecycle may name. The engine knows what each one means (starting the first
# moves the case on, deciding records a decision …), as it knows its guards: a step of another name is refused.
LIFECYCLE_STEPS = ("decide", "decline", "start", "end", "withdraw_proposal", "consent_ended")
# The guards a lifecycle step may name: a consent covering the intervention; that consent no longer holding.
LIFECYCLE_GUARDS = ("consent", "consent_lapsed")
PROPOSE = "propose"


def log_trigger(step: str) -> str:
    """The trigger of an intervention's step in the transition log: `intervention_<step>`."""
    return f"intervention_{step}"


@dataclass(frozen=True)
class InterventionKind:
    """A kind of intervention: its words, what its consent must cover, its warnings, who may refer to it."""

    name: str
    label: Label
    consent: ConsentRule
    warnings: tuple[str, ...] = ()
    referral_sources: tuple[str, ...] = ()  # reporter organisations whose referral lets it start early


@dataclass(frozen=True)
class Lifecycle:
    """One flowchart version's interventions: kinds, states and steps."""

    kinds: Mapping[str, InterventionKind]
    states: Mapping[str, State]
    initial: str
    running: str
    transitions: tuple[Transition, ...]
    propose_in: tuple[str, ...]
    propose_roles: frozenset[str]
    begin: str  # the case's trigger when the first one starts
    end: str  # the case's trigger when the last one ends

    @property
    def triggers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.trigger for t in self.transitions))

    def transitions_from(self, state: str) -> tuple[Transition, ...]:
        return tuple(t for t in self.transitions if t.source == state)

    def transition(self, trigger: str, state: str) -> Transition | None:
        return next((t for t in self.transitions if t.trigger == trigger and t.source == state), None)

    def ended(self, state: str) -> bool:
        return self.states[state].terminal


class _Builder(Protocol):
    """The parts of the flowchart's builder the section is read with (`policies.flowchart._Builder`)."""

    def fail(self, fault: str) -> PolicyError: ...
    def table(self, parent: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]: ...
    def string(self, parent: Mapping[str, Any], key: str, where: str) -> str: ...
    def strings(self, parent: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]: ...
    def label(self, parent: Mapping[str, Any], where: str) -> Label: ...

    def choices(self, spec: Mapping[str, Any], where: str, fields: Mapping[str, Field],
                vocabularies: Mapping[str, Mapping[str, Label]]) -> dict[str, frozenset[str]]: ...

    def consent(self, spec: Mapping[str, Any], where: str,
                vocabularies: Mapping[str, Mapping[str, Label]]) -> ConsentRule | None: ...


def build_lifecycle(
    b: _Builder, raw: Mapping[str, Any], *, roles: Collection[str], case_states: Collection[str],
    case_transitions: Collection[Transition], fields: Mapping[str, Field],
    vocabularies: Mapping[str, Mapping[str, Label]], guards: Collection[str],
) -> Lifecycle | None:
    """The `[interventions]` section of `raw`, validated; None when the version has none."""
    section = raw.get("interventions")
    if section is None:
        return None
    if not isinstance(section, Mapping):
        raise b.fail("[interventions] must be a table")
    kinds = _kinds(b, section, vocabularies, guards)
    states, initial, running = _states(b, section)
    transitions = _transitions(b, section, roles, states, fields, vocabularies)
    for state in states.values():
        if not state.terminal and not any(t.source == state.name for t in transitions):
            raise b.fail(f"[interventions] state '{state.name}' is not terminal and has no step out of it")
        if state.terminal and any(t.source == state.name for t in transitions):
            raise b.fail(f"[interventions] terminal state '{state.name}' has steps out of it")
    if not any(s.terminal for s in states.values()):
        raise b.fail("[interventions] needs a terminal state (terminal = true) where an intervention ends")
    for t in transitions:
        if states[t.dest].terminal and t.end_reason is None and "end_reason" not in t.requires:
            raise b.fail(f"[interventions] step '{t.trigger}' ends an intervention but gives no end reason "
                         "(end_reason = … or requires = [\"end_reason\", …])")
    propose_in = b.strings(section, "propose_in", "[interventions]")
    for name in propose_in:
        if name not in case_states:
            raise b.fail(f"[interventions] propose_in names unknown case state '{name}'")
    if not propose_in:
        raise b.fail("[interventions] needs propose_in, the case states where one may be proposed")
    propose_roles = b.strings(section, "propose_roles", "[interventions]")
    if not propose_roles or not set(propose_roles) <= set(roles):
        raise b.fail("[interventions] needs propose_roles, each a role of the flowchart")
    begin = b.string(section, "begin", "[interventions]")
    end = b.string(section, "end", "[interventions]")
    into = {t.dest for t in case_transitions if t.trigger == begin}
    out_of = {t.source for t in case_transitions if t.trigger == end}
    if not into or len(into) != 1:
        raise b.fail(f"[interventions] begin names '{begin}', which is no step of the case into one state")
    if out_of != into:
        raise b.fail(f"[interventions] end names '{end}', which is no step of the case out of {sorted(into)}")
    return Lifecycle(kinds=kinds, states=states, initial=initial, running=running, transitions=transitions,
                     propose_in=propose_in, propose_roles=frozenset(propose_roles), begin=begin, end=end)


def _kinds(b: _Builder, section: Mapping[str, Any], vocabularies: Mapping[str, Mapping[str, Label]],
           guards: Collection[str]) -> dict[str, InterventionKind]:
    kinds = {}
    for name, spec in b.table(section, "kinds", "[interventions]").items():
        where = f"intervention kind '{name}'"
        if not isinstance(spec, Mapping):
            raise b.fail(f"{where} must be a table")
        consent = b.consent(spec, where, vocabularies)
        if consent is None:
            raise b.fail(f"{where} needs a 'consent' table saying what its consent must cover")
        warnings = b.strings(spec, "warnings", where)
        for warning in warnings:
            if warning not in guards:
                raise b.fail(f"{where} names unknown warning '{warning}'")
        sources = b.strings(spec, "referral_sources", where)
        unknown = set(sources) - set(vocabularies.get("reporter_orgs", {}))
        if unknown:
            raise b.fail(f"{where} names unknown reporter_orgs {sorted(unknown)} as referral sources")
        kinds[name] = InterventionKind(name=name, label=b.label(spec, where), consent=consent,
                                       warnings=warnings, referral_sources=sources)
    return kinds


def _states(b: _Builder, section: Mapping[str, Any]) -> tuple[dict[str, State], str, str]:
    """The states, the one where an intervention starts (initial) and the one where it runs (running)."""
    states: dict[str, State] = {}
    marked: dict[str, list[str]] = {"initial": [], "running": []}
    for name, spec in b.table(section, "states", "[interventions]").items():
        where = f"intervention state '{name}'"
        if not isinstance(spec, Mapping):
            raise b.fail(f"{where} must be a table")
        states[name] = State(name=name, label=b.label(spec, where), terminal=bool(spec.get("terminal", False)))
        for flag, names in marked.items():
            if spec.get(flag, False):
                names.append(name)
    for flag, names in marked.items():
        if len(names) != 1:
            raise b.fail(f"[interventions] needs exactly one state marked {flag} = true, found {names or 'none'}")
    return states, marked["initial"][0], marked["running"][0]


def _transitions(
    b: _Builder, section: Mapping[str, Any], roles: Collection[str], states: Mapping[str, State],
    fields: Mapping[str, Field], vocabularies: Mapping[str, Mapping[str, Label]],
) -> tuple[Transition, ...]:
    specs = section.get("transitions")
    if not isinstance(specs, list) or not specs:
        raise b.fail("[interventions] has no [[interventions.transitions]]")
    built: list[Transition] = []
    for number, spec in enumerate(specs, start=1):
        trigger = b.string(spec, "trigger", f"intervention step #{number}")
        where = f"intervention step #{number} '{trigger}'"
        if trigger not in LIFECYCLE_STEPS:
            raise b.fail(f"{where} is no step the engine knows (known: {', '.join(LIFECYCLE_STEPS)})")
        sources, dest = b.strings(spec, "from", where), b.string(spec, "to", where)
        if not sources:
            raise b.fail(f"{where} has no 'from' state")
        for state in (*sources, dest):
            if state not in states:
                raise b.fail(f"{where} names unknown intervention state '{state}'")
        role_names = b.strings(spec, "roles", where)
        if not role_names:
            raise b.fail(f"{where} has no roles allowed to fire it")
        for role in role_names:
            if role not in roles:
                raise b.fail(f"{where} names unknown role '{role}'")
        guard_names = b.strings(spec, "guards", where)
        for guard in guard_names:
            if guard not in LIFECYCLE_GUARDS:
                raise b.fail(f"{where} names unknown guard '{guard}' (known: {', '.join(LIFECYCLE_GUARDS)})")
        requires = b.strings(spec, "requires", where)
        for name in requires:
            if name not in fields:
                raise b.fail(f"{where} requires unknown field '{name}'")
        end_reason = spec.get("end_reason")
        if end_reason is not None and end_reason not in vocabularies.get("end_reasons", {}):
            raise b.fail(f"{where} ends with unknown end_reason '{end_reason}'")
        choices = b.choices(spec, where, fields, vocabularies)
        for source in sources:
            built.append(Transition(
                trigger=trigger, label=b.label(spec, where), source=source, dest=dest,
                roles=frozenset(role_names), guards=guard_names, requires=requires, choices=choices,
                automatic=bool(spec.get("automatic", False)), end_reason=end_reason,
            ))
    seen: set[tuple[str, str]] = set()
    for t in built:
        if (t.trigger, t.source) in seen:
            raise b.fail(f"[interventions] duplicate step '{t.trigger}' from state '{t.source}'")
        seen.add((t.trigger, t.source))
    return tuple(built)
