"""Flags that change a case's route (`flags.toml`): their words, routines, roles and the steps they affect.

Violence in close relationships and honour-related violence call for a routine of their own (protection of the
person and of the children around them, no contact with the family before a risk assessment where that could
increase the danger …). A flag is a record on the case (`cases.flags`); the engine warns at the steps a flag
affects (`workflow.flags`). Kept apart from the flowchart: correcting a routine makes no new flowchart version.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from policies.access import CASE_READING_ROLES
from policies.errors import PolicyError
from policies.law import load_law
from policies.model import Label

__all__ = [
    "DEFAULT_FLAGS_PATH",
    "FLAG_CLEARED",
    "FLAG_READING_ROLES",
    "FLAG_SET",
    "Flag",
    "Flags",
    "GuardiansRule",
    "load_flags",
    "parse_flags",
]

DEFAULT_FLAGS_PATH = Path(__file__).with_name("flags.toml")
# The transition log's names for setting and clearing a flag: entries beside the flowchart's steps.
FLAG_SET, FLAG_CLEARED = "set_flag", "clear_flag"
# Who sees a case's flags and their routines: the roles with a ground on the case, and only on such a case.
# Reporters, partners, coordinators, auditors and administrators never do (deny by default).
FLAG_READING_ROLES = CASE_READING_ROLES
_AGE_GROUPS = ("child", "adult", "any")


@dataclass(frozen=True)
class GuardiansRule:
    """On a case of this age group, these steps (seeking or recording the guardians' consent) warn in words."""

    applies_to: str
    warn_on: frozenset[str]
    warning: Label
    when_recording_consent: bool = False  # the form recording a consent warns too

    def applies(self, child: bool) -> bool:
        """Whether the rule holds on a case about a child (`child`) or an adult."""
        return self.applies_to == "any" or (self.applies_to == "child") == child


@dataclass(frozen=True)
class Flag:
    """One flag: its code and words, the routine it calls for, who sets and clears it, where it warns."""

    code: str
    label: Label
    routine: tuple[Label, ...]
    set_roles: frozenset[str]
    clear_roles: frozenset[str]
    warn_on: frozenset[str]
    law: tuple[str, ...] = ()
    guardians: GuardiansRule | None = None

    def guardians_warning(self, trigger: str, child: bool) -> Label | None:
        """The guardians' warning at `trigger` on a case about a child (`child`) or an adult, or None."""
        rule = self.guardians
        if rule is None or trigger not in rule.warn_on or not rule.applies(child):
            return None
        return rule.warning


@dataclass(frozen=True)
class Flags:
    """Every flag by code, in the order of `flags.toml`."""

    flags: Mapping[str, Flag]

    def __getitem__(self, code: str) -> Flag:
        return self.flags[code]

    def __contains__(self, code: object) -> bool:
        return code in self.flags

    def __iter__(self) -> Iterator[Flag]:
        return iter(self.flags.values())

    def codes(self) -> tuple[str, ...]:
        return tuple(self.flags)


def parse_flags(text: str, *, source: str) -> Flags:
    """Validate the flags given as TOML text; `source` names them in error messages."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(source, f"is not valid TOML ({exc})") from None
    table = raw.get("flags")
    if not isinstance(table, dict) or not table:
        raise PolicyError(source, "needs a non-empty table [flags]")
    return Flags(flags={code: _flag(source, code, spec) for code, spec in table.items()})


@cache
def load_flags(path: Path = DEFAULT_FLAGS_PATH) -> Flags:
    """Read and validate the flags at `path` (read once per process)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(str(path), f"cannot be read ({exc.strerror})") from None
    return parse_flags(text, source=str(path))


def _flag(source: str, code: str, spec: Any) -> Flag:
    where = f"[flags.{code}]"
    if not code.isidentifier() or not code.islower() or len(code) > 32:
        raise PolicyError(source, f"{where} is not a code (lower case, letters and _, at most 32)")
    if not isinstance(spec, dict):
        raise PolicyError(source, f"{where} must be a table")
    routine = spec.get("routine")
    if not (isinstance(routine, list) and routine):
        raise PolicyError(source, f"{where} needs a routine: a non-empty list of {{ sv = …, en = … }}")
    law = _strings(source, spec, "law", where, optional=True)
    known = load_law()
    for key in law:
        if key not in known:
            raise PolicyError(source, f"{where} names no provision of law.toml ('{key}')")
    return Flag(
        code=code,
        label=_label(source, spec.get("label"), f"{where} label"),
        routine=tuple(_label(source, step, f"{where} routine step {n}") for n, step in enumerate(routine, 1)),
        set_roles=_roles(source, spec, "set_roles", where),
        clear_roles=_roles(source, spec, "clear_roles", where),
        warn_on=frozenset(_strings(source, spec, "warn_on", where)),
        law=law,
        guardians=_guardians(source, spec.get("guardians"), f"[flags.{code}.guardians]"),
    )


def _guardians(source: str, spec: Any, where: str) -> GuardiansRule | None:
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise PolicyError(source, f"{where} must be a table")
    applies_to = spec.get("applies_to")
    if applies_to not in _AGE_GROUPS:
        raise PolicyError(source, f"{where} applies_to must be one of {', '.join(_AGE_GROUPS)}")
    recording = spec.get("when_recording_consent", False)
    if not isinstance(recording, bool):
        raise PolicyError(source, f"{where} when_recording_consent must be true or false")
    return GuardiansRule(applies_to=str(applies_to), warn_on=frozenset(_strings(source, spec, "warn_on", where)),
                         warning=_label(source, spec.get("warning"), f"{where} warning"),
                         when_recording_consent=recording)


def _roles(source: str, spec: Mapping[str, Any], key: str, where: str) -> frozenset[str]:
    """Roles from the ones with a ground on a case: no other role may ever set or clear a flag."""
    roles = frozenset(_strings(source, spec, key, where))
    stray = sorted(roles - CASE_READING_ROLES)
    if stray:
        raise PolicyError(source, f"{where} {key} names roles without a ground on a case: {', '.join(stray)}")
    return roles


def _strings(source: str, spec: Mapping[str, Any], key: str, where: str, *, optional: bool = False
             ) -> tuple[str, ...]:
    value = spec.get(key)
    if value is None and optional:
        return ()
    if not (isinstance(value, list) and value and all(isinstance(v, str) and v.isidentifier() for v in value)):
        raise PolicyError(source, f"{where} {key} must be a non-empty list of codes")
    return tuple(value)


def _label(source: str, value: Any, where: str) -> Label:
    if not (isinstance(value, dict) and isinstance(value.get("sv"), str) and isinstance(value.get("en"), str)
            and value["sv"].strip() and value["en"].strip()):
        raise PolicyError(source, f"{where} needs {{ sv = …, en = … }}")
    return Label(sv=value["sv"], en=value["en"])
