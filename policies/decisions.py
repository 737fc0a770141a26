"""The decisions vidoro records, loaded from `decisions.toml`: kinds, delegations, appeal text, notification.

A step of the flowchart that is a decision (to open or not open an investigation, to extend it, to grant or not
start an intervention, to close, to reopen) creates a decision record naming its kind, the provision from
`law.toml`, the decision maker's delegation and, where it can be appealed, how (förvaltningslagen (2017:900),
the provisions on notification and how to appeal and on the time for an appeal: `fl_33`, `fl_44`). The file is
validated when it is loaded: a trigger the flowchart does not have, a provision `law.toml` does not name or a
role the flowchart does not know is a `PolicyError`, never a decision recorded under a wrong name.
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
from policies.flowchart import RELATIVE_PATH
from policies.interventions import log_trigger
from policies.law import Law, load_law
from policies.model import Label

__all__ = ["DEFAULT_DECISIONS_PATH", "NOTIFIED", "Decisions", "Delegation", "Kind", "load_decisions",
           "parse_decisions"]

DEFAULT_DECISIONS_PATH = Path(__file__).with_name("decisions.toml")
# The transition log's trigger for the notification of a decision: no step of the flowchart, no change of state.
NOTIFIED = "decision_notified"


@dataclass(frozen=True)
class Kind:
    """A kind of decision: its words, the provision it rests on (a `law.toml` key), whether it is appealable."""

    name: str
    label: Label
    provision: str
    appealable: bool
    triggers: tuple[str, ...]


@dataclass(frozen=True)
class Delegation:
    """What a role may decide under the delegation order, named in each decision it takes."""

    name: str
    role: str
    label: Label
    kinds: frozenset[str]


@dataclass(frozen=True)
class Decisions:
    kinds: Mapping[str, Kind]
    delegations: Mapping[str, Delegation]
    appeal: Label  # with {municipality}, {how} and {limit} still to fill in (`appeal_text`)
    appeal_provisions: Mapping[str, str]  # how, limit: law.toml keys
    notifying_roles: frozenset[str]
    methods: Mapping[str, Label]
    recipients: Mapping[str, Label]

    def kind_of(self, trigger: str) -> Kind | None:
        """The kind of decision `trigger` takes, or None when that step is no decision."""
        return next((kind for kind in self.kinds.values() if trigger in kind.triggers), None)

    def delegation_for(self, role: str, kind: str) -> Delegation | None:
        """The delegation under which `role` may take a decision of `kind`, or None (it may not)."""
        return next((d for d in self.delegations.values() if d.role == role and kind in d.kinds), None)

    def appeal_text(self, municipality: str, lang: str = "sv", *, law: Law | None = None) -> str:
        """How to appeal, in `lang`, naming the municipality and citing the provisions in Swedish form."""
        law = law or load_law()
        return self.appeal(lang).format(municipality=municipality,
                                        **{k: law[v].cite() for k, v in self.appeal_provisions.items()})


def parse_decisions(text: str, *, source: str, triggers: Collection[str], roles: Collection[str],
                    law: Law | None = None) -> Decisions:
    """Validate the decisions given as TOML text against the flowchart's `triggers` and `roles` and `law`."""
    law = law or load_law()
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(source, f"is not valid TOML ({exc})") from None
    earlier = raw.get("earlier_triggers", [])
    if not isinstance(earlier, list) or not all(isinstance(t, str) for t in earlier):
        raise PolicyError(source, "'earlier_triggers' must be a list of trigger names")
    triggers = {*triggers, *earlier}  # cases on an earlier flowchart version still take these decisions
    kinds = {name: _kind(source, name, spec, triggers, law) for name, spec in _table(source, raw, "kinds").items()}
    seen: dict[str, str] = {}
    for kind in kinds.values():
        for trigger in kind.triggers:
            if trigger in seen:
                raise PolicyError(source, f"trigger '{trigger}' is of two kinds ('{seen[trigger]}', '{kind.name}')")
            seen[trigger] = kind.name
    delegations = {name: _delegation(source, name, spec, kinds, roles)
                   for name, spec in _table(source, raw, "delegations").items()}
    appeal = _table(source, raw, "appeal")
    provisions = appeal.get("provisions")
    if not isinstance(provisions, dict) or set(provisions) != {"how", "limit"}:
        raise PolicyError(source, "[appeal] needs provisions = { how = …, limit = … }")
    for key in provisions.values():
        if key not in law:
            raise PolicyError(source, f"[appeal] names no provision of law.toml ('{key}')")
    notification = _table(source, raw, "notification")
    notifying = notification.get("roles")
    if not isinstance(notifying, list) or not notifying or not set(notifying) <= set(roles):
        raise PolicyError(source, "[notification] needs roles, each a role of the flowchart")
    return Decisions(
        kinds=kinds, delegations=delegations, appeal=_label(source, appeal, "[appeal]"),
        appeal_provisions=dict(provisions), notifying_roles=frozenset(notifying),
        methods=_vocabulary(source, notification, "methods"),
        recipients=_vocabulary(source, notification, "recipients"),
    )


@cache
def load_decisions(path: Path = DEFAULT_DECISIONS_PATH, flowchart: Path = FLOWCHART_PATH,
                   relative: Path = RELATIVE_PATH) -> Decisions:
    """Read and validate `path` against the flowcharts at `flowchart` and `relative` (read once per process).

    A trigger is a decision whichever of the two flowcharts it belongs to, so the two name their decision steps
    differently (a relative's `grant_support` is no step of the subject's flowchart)."""
    try:
        text = path.read_text(encoding="utf-8")
        charts = [tomllib.loads(p.read_text(encoding="utf-8")) for p in (flowchart, relative)]
    except OSError as exc:
        raise PolicyError(str(path), f"cannot be read ({exc.strerror})") from None
    triggers = {t.get("trigger") for chart in charts for t in chart.get("transitions", ())}
    # an intervention's steps (version 3 on) are logged as `intervention_<step>` (policies.interventions)
    triggers |= {log_trigger(t.get("trigger")) for chart in charts
                 for t in chart.get("interventions", {}).get("transitions", ())}
    roles = {role for chart in charts for role in chart.get("roles", {})}
    return parse_decisions(text, source=str(path), triggers=triggers, roles=roles)


def _table(source: str, raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key)
    if not isinstance(value, dict) or not value:
        raise PolicyError(source, f"needs a non-empty table [{key}]")
    return value


def _label(source: str, spec: Mapping[str, Any], where: str) -> Label:
    if not (isinstance(spec.get("sv"), str) and isinstance(spec.get("en"), str)):
        raise PolicyError(source, f"{where} needs sv and en texts")
    return Label(sv=spec["sv"], en=spec["en"])


def _kind(source: str, name: str, spec: Mapping[str, Any], triggers: Collection[str], law: Law) -> Kind:
    where = f"kind '{name}'"
    listed = spec.get("triggers")
    if not isinstance(listed, list) or not listed:
        raise PolicyError(source, f"{where} needs a list of triggers")
    for trigger in listed:
        if trigger not in triggers:
            raise PolicyError(source, f"{where} names a trigger the flowchart does not have ('{trigger}')")
    provision = spec.get("provision")
    if not isinstance(provision, str) or provision not in law:
        raise PolicyError(source, f"{where} names no provision of law.toml ('{provision}')")
    if not isinstance(spec.get("appealable"), bool):
        raise PolicyError(source, f"{where} needs appealable = true or false")
    return Kind(name=name, label=_label(source, spec.get("label") or {}, where), provision=provision,
                appealable=spec["appealable"], triggers=tuple(listed))


def _delegation(source: str, name: str, spec: Mapping[str, Any], kinds: Mapping[str, Kind],
                roles: Collection[str]) -> Delegation:
    where = f"delegation '{name}'"
    role = spec.get("role")
    if role not in roles:
        raise PolicyError(source, f"{where} names a role the flowchart does not know ('{role}')")
    listed = spec.get("kinds")
    if not isinstance(listed, list) or not listed or not set(listed) <= set(kinds):
        raise PolicyError(source, f"{where} needs kinds, each a kind of this file")
    return Delegation(name=name, role=str(role), label=_label(source, spec.get("label") or {}, where),
                      kinds=frozenset(listed))


def _vocabulary(source: str, spec: Mapping[str, Any], key: str) -> dict[str, Label]:
    table = _table(source, spec, key)
    return {code: _label(source, words if isinstance(words, dict) else {}, f"[notification.{key}] '{code}'")
            for code, words in table.items()}
