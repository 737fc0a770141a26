"""The flowchart's model: frozen values that the loader builds from a validated definition."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from policies.interventions import Lifecycle

__all__ = ["ConsentRule", "Deadline", "Field", "Flowchart", "Label", "State", "Transition"]


@dataclass(frozen=True)
class Label:
    sv: str
    en: str

    def __call__(self, lang: str = "sv") -> str:
        return self.en if lang == "en" else self.sv


@dataclass(frozen=True)
class State:
    name: str
    label: Label
    closing: bool = False
    terminal: bool = False
    erases: bool = False
    consent_purpose: str | None = None


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    label: Label
    vocabulary: str | None = None

    @property
    def personal(self) -> bool:
        """Free text may hold anything about a person, so it is personal data and never logged."""
        return self.kind == "text"


@dataclass(frozen=True)
class Deadline:
    name: str
    label: Label
    rule: str
    days: int = 0
    months: int = 0
    start: str = "fired"
    field: str | None = None
    late_after: time | None = None
    applies_to: str | None = None
    law: str | None = None  # the key of the provision in law.toml; `policies.law.cite` writes it


@dataclass(frozen=True)
class ConsentRule:
    purpose: str
    recipients: tuple[str, ...]
    data_categories: tuple[str, ...]
    given_by: tuple[str, ...] = ("subject",)


@dataclass(frozen=True)
class Transition:
    trigger: str
    label: Label
    source: str
    dest: str
    roles: frozenset[str]
    guards: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    choices: Mapping[str, frozenset[str]] = field(default_factory=dict)
    starts: tuple[str, ...] = ()
    stops: tuple[str, ...] = ()
    consent: ConsentRule | None = None
    automatic: bool = False  # fired by an operation in its own transaction, never chosen from a form
    end_reason: str | None = None  # an intervention's step that ends it with this reason (policies.interventions)


@dataclass(frozen=True)
class Flowchart:
    """One validated version of a flowchart definition."""

    name: str
    version: str
    source: str
    text: str
    timezone: str
    retention_years: int
    initial_state: str
    initial_roles: frozenset[str]
    initial_starts: tuple[str, ...]
    roles: Mapping[str, Label]
    states: Mapping[str, State]
    fields: Mapping[str, Field]
    vocabularies: Mapping[str, Mapping[str, Label]]
    deadlines: Mapping[str, Deadline]
    transitions: tuple[Transition, ...]
    # each legal basis code and the key of the provision in law.toml it names
    legal_bases: Mapping[str, str] = field(default_factory=dict)
    # the interventions' lifecycle (version 3 on; `policies.interventions`), None in earlier versions
    interventions: Lifecycle | None = None

    @property
    def triggers(self) -> tuple[str, ...]:
        """Every trigger name, in the order the definition first uses it."""
        return tuple(dict.fromkeys(t.trigger for t in self.transitions))

    def transitions_from(self, state: str) -> tuple[Transition, ...]:
        return tuple(t for t in self.transitions if t.source == state)

    def transition(self, trigger: str, state: str) -> Transition | None:
        return next((t for t in self.transitions if t.trigger == trigger and t.source == state), None)
