"""The legal rules the engine enforces beside the flowchart, loaded from `rules.toml` and `disclosure.toml`.

Separate from the flowchart so that the law applies to running cases too and a correction makes no new
flowchart version; every rule names its provision in `law.toml`, which is cited from there.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from policies.errors import PolicyError
from policies.law import load_law
from policies.model import Label

__all__ = [
    "COMPLETE_IDENTITY",
    "DEFAULT_DISCLOSURE_PATH",
    "DEFAULT_RULES_PATH",
    "WITHHOLD_FEEDBACK",
    "Basis",
    "ChildConsent",
    "DisclosureRules",
    "Rules",
    "load_disclosure_rules",
    "load_rules",
    "parse_disclosure_rules",
    "parse_rules",
]

# The transition log's name for a decision not to give the reporter feedback ([feedback]): no flowchart step.
WITHHOLD_FEEDBACK = "withhold_feedback"
# The transition log's name for completing the identity of a person registered without one: no step either.
COMPLETE_IDENTITY = "complete_identity"
DEFAULT_RULES_PATH = Path(__file__).with_name("rules.toml")
DEFAULT_DISCLOSURE_PATH = Path(__file__).with_name("disclosure.toml")


@dataclass(frozen=True)
class ChildConsent:
    """Whose consent a child's voluntary intervention needs: the guardians', or from an age the child's own."""

    law: str
    interventions: frozenset[str]
    own_consent_law: str
    own_consent_from: int
    own_consent_interventions: frozenset[str]


@dataclass(frozen=True)
class Rules:
    age_law: str
    adult_age: int
    young_adult_until: int
    child_consent: ChildConsent
    feedback_law: str
    feedback_disclosure_law: str
    mandatory_reporters: frozenset[str]
    # [sources]: the sources each role registers, those whose reporter may be anonymous or leave contact details
    sources: Mapping[str, frozenset[str]] = field(default_factory=dict)
    anonymous_sources: frozenset[str] = frozenset()
    contact_sources: frozenset[str] = frozenset()

    def may_register(self, role: str, source: str) -> bool:
        """Whether `role` registers a concern from `source` (deny by default)."""
        return source in self.sources.get(role, frozenset())

    def age_group(self, age: int) -> str:
        """child, young_adult (18–20) or adult: the code logged with a decision instead of the birth date."""
        if age < self.adult_age:
            return "child"
        return "young_adult" if age < self.young_adult_until else "adult"


@dataclass(frozen=True)
class Basis:
    """One legal basis for a disclosure and the conditions of its provision (see disclosure.toml)."""

    name: str
    law: str
    recipients: frozenset[str] | None = None
    purposes: frozenset[str] | None = None
    under_age: int | None = None
    names_law: bool = False
    feedback_only: bool = False


@dataclass(frozen=True)
class DisclosureRules:
    purposes: Mapping[str, Label]
    recipients: Mapping[str, Label]
    bases: Mapping[str, Basis]


def parse_rules(text: str, *, source: str) -> Rules:
    """Validate the rules given as TOML text; `source` names them in error messages."""
    raw = _toml(text, source)
    age = _table(source, raw, "age")
    child, feedback = _table(source, raw, "child_consent"), _table(source, raw, "feedback")
    return Rules(
        age_law=_law(source, age, "age"), adult_age=_int(source, age, "adult", "age"),
        young_adult_until=_int(source, age, "young_adult_until", "age"),
        child_consent=ChildConsent(
            law=_law(source, child, "child_consent"), interventions=_codes(source, child, "interventions", "child"),
            own_consent_law=_law(source, child, "child_consent", key="own_consent_law"),
            own_consent_from=_int(source, child, "own_consent_from", "child_consent"),
            own_consent_interventions=_codes(source, child, "own_consent_interventions", "child_consent",
                                             empty=True)),
        feedback_law=_law(source, feedback, "feedback"),
        feedback_disclosure_law=_law(source, feedback, "feedback", key="disclosure_law"),
        mandatory_reporters=_codes(source, feedback, "mandatory_reporters", "feedback"),
        **_sources(source, _table(source, raw, "sources"), _codes(source, feedback, "mandatory_reporters", "feedback")),
    )


def _sources(source: str, spec: Mapping[str, Any], mandatory: frozenset[str]) -> dict[str, Any]:
    """[sources]: per role the sources it registers; the anonymous and contact sources among them."""
    roles = spec.get("roles")
    if not isinstance(roles, dict) or not roles:
        raise PolicyError(source, "[sources] needs a non-empty table [sources.roles]")
    by_role = {role: _codes(source, roles, role, f"sources.roles '{role}'") for role in roles}
    reporters = _table(source, spec, "reporters")
    anonymous = _codes(source, reporters, "anonymous", "sources.reporters", empty=True)
    contact = _codes(source, reporters, "contact", "sources.reporters", empty=True)
    known = frozenset().union(*by_role.values())
    if not (anonymous | contact) <= known:
        raise PolicyError(source, "[sources.reporters] names a source no role registers")
    if anonymous & mandatory:
        raise PolicyError(source, "a mandatory reporter ([feedback]) cannot be an anonymous source")
    return {"sources": by_role, "anonymous_sources": anonymous, "contact_sources": contact}


def parse_disclosure_rules(text: str, *, source: str) -> DisclosureRules:
    """Validate the legal bases for disclosure given as TOML text."""
    raw = _toml(text, source)
    purposes = {k: _label(source, v, f"purpose '{k}'") for k, v in _table(source, raw, "purposes").items()}
    recipients = {k: _label(source, v, f"recipient '{k}'") for k, v in raw.get("recipients", {}).items()}
    bases = {}
    for name, spec in _table(source, raw, "bases").items():
        where = f"basis '{name}'"
        unknown = set(spec) - {"law", "recipients", "purposes", "under_age", "names_law", "feedback_only"}
        if unknown:
            raise PolicyError(source, f"{where} has unknown conditions: {', '.join(sorted(unknown))}")
        wanted = _codes(source, spec, "purposes", where) if "purposes" in spec else None
        if wanted is not None and not wanted <= set(purposes):
            raise PolicyError(source, f"{where} names a purpose not in [purposes]")
        bases[name] = Basis(
            name=name, law=_law(source, spec, where),
            recipients=_codes(source, spec, "recipients", where) if "recipients" in spec else None,
            purposes=wanted, under_age=_int(source, spec, "under_age", where) if "under_age" in spec else None,
            names_law=spec.get("names_law") is True, feedback_only=spec.get("feedback_only") is True)
    return DisclosureRules(purposes=purposes, recipients=recipients, bases=bases)


@cache
def load_rules(path: Path = DEFAULT_RULES_PATH) -> Rules:
    """Read and validate the rules at `path` (once per process)."""
    return parse_rules(_read(path), source=str(path))


@cache
def load_disclosure_rules(path: Path = DEFAULT_DISCLOSURE_PATH) -> DisclosureRules:
    """Read and validate the legal bases for disclosure at `path` (once per process)."""
    return parse_disclosure_rules(_read(path), source=str(path))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(str(path), f"cannot be read ({exc.strerror})") from None


def _toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(source, f"is not valid TOML ({exc})") from None


def _table(source: str, raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key)
    if not isinstance(value, dict) or not value:
        raise PolicyError(source, f"needs a non-empty table [{key}]")
    return value


def _int(source: str, spec: Mapping[str, Any], key: str, where: str) -> int:
    value = spec.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise PolicyError(source, f"{where} needs a positive whole number '{key}'")
    return value


def _codes(source: str, spec: Mapping[str, Any], key: str, where: str, *, empty: bool = False) -> frozenset[str]:
    value = spec.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value) or not (value or empty):
        raise PolicyError(source, f"{where} needs a list of codes '{key}'")
    return frozenset(value)


def _law(source: str, spec: Mapping[str, Any], where: str, *, key: str = "law") -> str:
    name = spec.get(key)
    if not isinstance(name, str) or name not in load_law():
        raise PolicyError(source, f"{where} needs '{key}' naming a provision in law.toml")
    return name


def _label(source: str, value: Any, where: str) -> Label:
    if not (isinstance(value, dict) and isinstance(value.get("sv"), str) and isinstance(value.get("en"), str)):
        raise PolicyError(source, f"{where} needs {{ sv = …, en = … }}")
    return Label(sv=value["sv"], en=value["en"])
