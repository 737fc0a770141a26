"""Register extracts and corrections (GDPR articles 15 and 16), loaded from `subjects.toml`.

Who registers a request and who decides its release are role lists (deny by default); what the secrecy
screening holds back is a table of reasons, each resting on a provision named by its `law.toml` key, so a
municipality's lawyer corrects a reason or its citation without code. The file is validated when it is
loaded: an unknown role, a free-text reason that is not a manual reason of the table, a provision `law.toml`
does not name, or a kind of note `journal.toml` does not have is a `PolicyError`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from policies.errors import PolicyError
from policies.flowchart import DEFAULT_PATH as FLOWCHART_PATH
from policies.journal import load_journal
from policies.law import Law, Provision, load_law
from policies.model import Label

__all__ = ["DEFAULT_SUBJECTS_PATH", "Reason", "Subjects", "load_subjects", "parse_subjects"]

DEFAULT_SUBJECTS_PATH = Path(__file__).with_name("subjects.toml")


@dataclass(frozen=True)
class Reason:
    """Why an item of an extract is held back: its words and the provision it rests on."""

    name: str
    label: Label
    provision: Provision
    automatic: bool

    def text(self, lang: str = "sv") -> str:
        """The reason as the extract shows it: the words, then the citation."""
        return f"{self.label(lang)} ({self.provision.cite()})"


@dataclass(frozen=True)
class Subjects:
    requesting_roles: frozenset[str]
    deciding_roles: frozenset[str]
    correction_kind: str
    show_reader_names: bool
    refusal_appealable: bool
    reasons: Mapping[str, Reason]
    free_text_reason: str  # the reason free text is held back for until a decision maker releases it
    actions: Mapping[str, Label]  # the access log's actions in words; "other" for a code not listed
    grounds: Mapping[str, Label]  # and its grounds

    def action(self, code: str) -> Label:
        return self.actions.get(code) or self.actions["other"]

    def ground(self, code: str) -> Label:
        return self.grounds.get(code) or self.grounds["other"]


def parse_subjects(text: str, *, source: str, roles: Collection[str], note_kinds: Collection[str],
                   law: Law | None = None) -> Subjects:
    """Validate `subjects.toml` given as text against the flowchart's `roles`, the journal's kinds and `law`."""
    law = law or load_law()
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(source, f"is not valid TOML ({exc})") from None
    role_sets = {key: _roles(source, raw, key, roles) for key in ("requesting_roles", "deciding_roles")}
    kind = raw.get("correction_kind")
    if not isinstance(kind, str) or kind not in note_kinds:
        raise PolicyError(source, f"correction_kind {kind!r} is not a kind of journal.toml")
    reasons: dict[str, Reason] = {}
    table = raw.get("reasons")
    if not isinstance(table, dict) or not table:
        raise PolicyError(source, "needs a non-empty table [reasons]")
    for name, spec in table.items():
        label = spec.get("label", {}) if isinstance(spec, dict) else {}
        if not (isinstance(label.get("sv"), str) and isinstance(label.get("en"), str)):
            raise PolicyError(source, f"reason {name} needs a label with sv and en texts")
        if spec.get("provision") not in law:
            raise PolicyError(source, f"reason {name} names no provision of law.toml")
        reasons[name] = Reason(name, Label(sv=label["sv"], en=label["en"]), law[spec["provision"]],
                               bool(spec.get("automatic", False)))
    free_text = raw.get("free_text_reason")
    if free_text not in reasons or reasons[free_text].automatic:
        raise PolicyError(source, f"free_text_reason {free_text!r} must name a reason that is not automatic")
    for flag in ("show_reader_names", "refusal_appealable"):
        if not isinstance(raw.get(flag), bool):
            raise PolicyError(source, f"{flag} must be true or false")
    return Subjects(role_sets["requesting_roles"], role_sets["deciding_roles"], kind,
                    raw["show_reader_names"], raw["refusal_appealable"], reasons, free_text,
                    _labels(source, raw, "actions"), _labels(source, raw, "grounds"))


def _labels(source: str, raw: Mapping[str, Any], key: str) -> dict[str, Label]:
    table = raw.get(key)
    if not isinstance(table, dict) or "other" not in table:
        raise PolicyError(source, f"needs a table [{key}] with an entry 'other'")
    labels = {}
    for code, spec in table.items():
        if not (isinstance(spec, dict) and isinstance(spec.get("sv"), str) and isinstance(spec.get("en"), str)):
            raise PolicyError(source, f"[{key}] {code} needs sv and en texts")
        labels[code] = Label(sv=spec["sv"], en=spec["en"])
    return labels


def _roles(source: str, raw: Mapping[str, Any], key: str, roles: Collection[str]) -> frozenset[str]:
    value = raw.get(key)
    if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
        raise PolicyError(source, f"{key} must be a list of roles")
    unknown = sorted(set(value) - set(roles))
    if unknown:
        raise PolicyError(source, f"{key} names roles the flowchart does not have: {', '.join(unknown)}")
    return frozenset(value)


@cache
def load_subjects(path: Path = DEFAULT_SUBJECTS_PATH, flowchart: Path = FLOWCHART_PATH) -> Subjects:
    """Read and validate `path` against the flowchart's roles and the journal's kinds (read once per process)."""
    try:
        text = path.read_text(encoding="utf-8")
        chart = tomllib.loads(flowchart.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError(str(path), f"cannot be read ({exc.strerror})") from None
    return parse_subjects(text, source=str(path), roles=set(chart.get("roles", {})),
                          note_kinds=set(load_journal().kinds))
