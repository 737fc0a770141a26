"""Kommunicering and structured assessments as data (`hearing.toml`), validated once per process.

Which decisions go against the person and so wait until the material has been communicated (förvaltningslagen
(2017:900) 25 §), the words a communication and an exception are recorded with, and what the protection
assessment and the pre-assessment record. Kept apart from the flowchart: the engine applies it to every
flowchart version, and correcting it makes no new version.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from policies.errors import PolicyError
from policies.law import load_law
from policies.model import Label

__all__ = ["DEFAULT_HEARING_PATH", "AdverseRule", "AssessmentRule", "Hearing", "load_hearing", "parse_hearing"]

DEFAULT_HEARING_PATH = Path(__file__).with_name("hearing.toml")


@dataclass(frozen=True)
class AssessmentRule:
    """What a step records as an assessment: its kind, the decisions it may take, the provision it rests on."""

    name: str
    kind: str
    trigger: str
    source: str
    provision: str
    label: Label
    decisions: tuple[str, ...]


@dataclass(frozen=True)
class AdverseRule:
    """When a trigger goes against the person: from these states (None: any), with these outcomes (None: any)."""

    sources: frozenset[str] | None
    outcomes: frozenset[str] | None


@dataclass(frozen=True)
class Hearing:
    provision: str
    default_answer_days: int
    roles: frozenset[str]
    adverse: Mapping[str, AdverseRule]  # by trigger
    recipients: Mapping[str, Label]
    methods: Mapping[str, Label]
    exceptions: Mapping[str, Label]
    assessments: tuple[AssessmentRule, ...]
    decisions: Mapping[str, Label]
    not_heard_reasons: Mapping[str, Label]

    def is_adverse(self, trigger: str, source: str, outcome: str | None) -> bool:
        """Whether firing `trigger` from `source` with `outcome` goes against the person (FL 25 §).

        With a rule that depends on the outcome and no outcome given yet (a form not filled in), it is not:
        the decision is checked again with the form, before anything is written.
        """
        rule = self.adverse.get(trigger)
        if rule is None or (rule.sources is not None and source not in rule.sources):
            return False
        return rule.outcomes is None or outcome in rule.outcomes

    def may_be_adverse(self, trigger: str, source: str) -> frozenset[str] | None:
        """The outcomes that would make `trigger` from `source` adverse, when only the outcome decides."""
        rule = self.adverse.get(trigger)
        if rule is None or rule.outcomes is None or (rule.sources is not None and source not in rule.sources):
            return None
        return rule.outcomes

    def assessment_for(self, trigger: str, source: str) -> AssessmentRule | None:
        return next((a for a in self.assessments if a.trigger == trigger and a.source == source), None)


def parse_hearing(text: str, *, source: str) -> Hearing:
    """Validate the rules given as TOML text; `source` names them in error messages."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(source, f"is not valid TOML ({exc})") from None
    law = load_law()
    communication = _table(source, raw, "communication")
    provision = communication.get("provision")
    if provision not in law:
        raise PolicyError(source, f"[communication] names no provision of law.toml ('{provision}')")
    days = communication.get("default_answer_days")
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 90:
        raise PolicyError(source, "[communication] default_answer_days must be a whole number of days, 1–90")
    roles = communication.get("roles")
    if not (isinstance(roles, list) and roles and all(isinstance(r, str) for r in roles)):
        raise PolicyError(source, "[communication] roles must be a non-empty list of roles")
    adverse = {trigger: AdverseRule(_codes(source, spec, "from", trigger), _codes(source, spec, "outcomes", trigger))
               for trigger, spec in _table(source, raw, "adverse").items()}
    decisions = _labels(source, raw, "decisions")
    assessments = []
    for name, spec in _table(source, raw, "assessments").items():
        where = f"[assessments.{name}]"
        if not isinstance(spec, dict):
            raise PolicyError(source, f"{where} must be a table")
        strings = {k: spec.get(k) for k in ("trigger", "from", "provision")}
        if not all(isinstance(v, str) and v for v in strings.values()):
            raise PolicyError(source, f"{where} needs trigger, from and provision")
        if strings["provision"] not in law:
            raise PolicyError(source, f"{where} names no provision of law.toml ('{strings['provision']}')")
        chosen = spec.get("decisions")
        if not (isinstance(chosen, list) and chosen and all(d in decisions for d in chosen)):
            raise PolicyError(source, f"{where} decisions must name entries of [decisions]")
        assessments.append(AssessmentRule(
            name=name, kind=str(spec.get("kind", name)), trigger=str(strings["trigger"]), source=str(strings["from"]),
            provision=str(strings["provision"]), label=_label(source, spec.get("label"), f"{where} label"),
            decisions=tuple(chosen)))
    return Hearing(
        provision=str(provision), default_answer_days=days, roles=frozenset(roles), adverse=adverse,
        recipients=_labels(source, raw, "recipients"), methods=_labels(source, raw, "methods"),
        exceptions=_labels(source, raw, "exceptions"), assessments=tuple(assessments), decisions=decisions,
        not_heard_reasons=_labels(source, raw, "not_heard_reasons"),
    )


@cache
def load_hearing(path: Path = DEFAULT_HEARING_PATH) -> Hearing:
    """Read and validate the rules at `path` (read once per process)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(str(path), f"cannot be read ({exc.strerror})") from None
    return parse_hearing(text, source=str(path))


def _table(source: str, raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key)
    if not isinstance(value, dict) or not value:
        raise PolicyError(source, f"needs a non-empty table [{key}]")
    return value


def _codes(source: str, spec: Any, key: str, trigger: str) -> frozenset[str] | None:
    value = spec.get(key) if isinstance(spec, dict) else None
    if value is None:
        return None
    if not (isinstance(value, list) and value and all(isinstance(v, str) and v for v in value)):
        raise PolicyError(source, f"[adverse.{trigger}] {key} must be a non-empty list of codes")
    return frozenset(value)


def _label(source: str, value: Any, where: str) -> Label:
    if not (isinstance(value, dict) and isinstance(value.get("sv"), str) and isinstance(value.get("en"), str)):
        raise PolicyError(source, f"{where} needs {{ sv = …, en = … }}")
    return Label(sv=value["sv"], en=value["en"])


def _labels(source: str, raw: Mapping[str, Any], key: str) -> dict[str, Label]:
    return {code: _label(source, value, f"[{key}] {code}") for code, value in _table(source, raw, key).items()}
