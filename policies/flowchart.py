"""The flowchart as data: parse a TOML definition, validate it, and give it a content-hash version.

A definition that is wrong in any way is refused as a whole with a `PolicyError` naming the file and the
fault, so that a broken flowchart never reaches the engine. The version is the SHA-256 of the canonical
JSON of the parsed content: whitespace and comments do not change it, any change of meaning does.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections import Counter, deque
from collections.abc import Collection, Mapping
from datetime import time
from pathlib import Path
from typing import Any

from policies.errors import PolicyError
from policies.interventions import build_lifecycle
from policies.law import Law, load_law
from policies.model import (
    ConsentRule,
    Deadline,
    Field,
    Flowchart,
    Label,
    State,
    Transition,
)

FIELD_KINDS = ("text", "code", "codes", "date")
DEADLINE_RULES = ("same_day", "days", "months", "field")
DEFAULT_PATH = Path(__file__).with_name("vid_oro.toml")
# The second flowchart: support to a relative, the relative's own matter (issue 18), linked to the subject's case.
RELATIVE_PATH = Path(__file__).with_name("relative_support.toml")
LEGAL_BASES = "legal_bases"  # the vocabulary whose entries are provisions of law.toml


def load_flowchart(path: str | Path = DEFAULT_PATH, *, guards: Collection[str], law: Law | None = None) -> Flowchart:
    """Read and validate the definition at `path`; `guards` are the guard names the engine implements."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(str(path), f"cannot be read ({exc.strerror})") from None
    return parse_flowchart(text, source=str(path), guards=guards, law=law)


def parse_flowchart(text: str, *, source: str, guards: Collection[str], law: Law | None = None) -> Flowchart:
    """Validate a definition given as TOML text; `source` names it in error messages.

    Every provision it cites is a key of `law` (by default `policies/law.toml`): a deadline's `law` and each
    legal basis's `law`. An unknown key is refused, naming it, so no citation is ever typed into a flowchart.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(source, f"is not valid TOML ({exc})") from None
    return _Builder(raw, source, frozenset(guards), law or load_law()).build(text)


def content_version(raw: Mapping[str, Any]) -> str:
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class _Builder:
    """Turn the raw TOML tables into the frozen model, failing on the first fault found."""

    def __init__(self, raw: Mapping[str, Any], source: str, guards: frozenset[str], law: Law) -> None:
        self.raw = raw
        self.source = source
        self.guards = guards
        self.law = law

    def fail(self, fault: str) -> PolicyError:
        return PolicyError(self.source, fault)

    def table(self, parent: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
        value = parent.get(key)
        if not isinstance(value, Mapping) or not value:
            raise self.fail(f"{where} needs a non-empty table '{key}'")
        return value

    def string(self, parent: Mapping[str, Any], key: str, where: str) -> str:
        value = parent.get(key)
        if not isinstance(value, str) or not value:
            raise self.fail(f"{where} needs a text value '{key}'")
        return value

    def strings(self, parent: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
        value = parent.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(f"{where}: '{key}' must be a list of names")
        return tuple(value)

    def label(self, parent: Mapping[str, Any], where: str) -> Label:
        value = parent.get("label", parent)
        if not isinstance(value, Mapping) or not all(isinstance(value.get(k), str) for k in ("sv", "en")):
            raise self.fail(f"{where} needs a label with Swedish (sv) and English (en) text")
        return Label(sv=value["sv"], en=value["en"])

    def build(self, text: str) -> Flowchart:
        raw = self.raw
        name = self.string(raw, "name", "the definition")
        roles = {r: self.label(v, f"role '{r}'") for r, v in self.table(raw, "roles", "the definition").items()}
        states = self.states()
        vocabularies = {
            v: {code: self.label(lbl, f"vocabulary '{v}' entry '{code}'") for code, lbl in entries.items()}
            for v, entries in self.table(raw, "vocabularies", "the definition").items() if v != LEGAL_BASES
        }
        legal_bases = self.legal_bases()
        if legal_bases:
            vocabularies[LEGAL_BASES] = {code: self.law[key].label() for code, key in legal_bases.items()}
        fields = self.fields(vocabularies)
        deadlines = self.deadlines(fields)
        transitions = self.transitions(roles, states, fields, vocabularies, deadlines)

        initial = self.table(raw, "initial", "the definition")
        initial_state = self.string(initial, "state", "[initial]")
        if initial_state not in states:
            raise self.fail(f"[initial] names unknown state '{initial_state}'")
        initial_roles = self.strings(initial, "roles", "[initial]")
        for role in initial_roles:
            if role not in roles:
                raise self.fail(f"[initial] names unknown role '{role}'")
        if not initial_roles:
            raise self.fail("[initial] has no roles allowed to register a concern")
        initial_starts = self.strings(initial, "starts", "[initial]")
        for deadline in initial_starts:
            if deadline not in deadlines:
                raise self.fail(f"[initial] starts unknown deadline '{deadline}'")

        self.check_graph(initial_state, states, transitions)
        interventions = build_lifecycle(self, raw, roles=roles, case_states=states, case_transitions=transitions,
                                        fields=fields, vocabularies=vocabularies, guards=self.guards)
        retention = raw.get("retention_years", 5)
        if not isinstance(retention, int) or retention < 1:
            raise self.fail("'retention_years' must be a whole number of years, at least 1")
        return Flowchart(
            name=name,
            version=content_version(raw),
            source=self.source,
            text=text,
            timezone=self.string(raw, "timezone", "the definition"),
            retention_years=retention,
            initial_state=initial_state,
            initial_roles=frozenset(initial_roles),
            initial_starts=initial_starts,
            roles=roles,
            states=states,
            fields=fields,
            vocabularies=vocabularies,
            deadlines=deadlines,
            transitions=transitions,
            legal_bases=legal_bases,
            interventions=interventions,
        )

    def provision(self, name: Any, where: str, *, table: str = "citations") -> str:
        """The law.toml key of the provision `name` names (a key, or an old version's citation)."""
        if not isinstance(name, str) or not name:
            raise self.fail(f"{where} needs 'law', the key of a provision in law.toml")
        try:
            return self.law.resolve(name, table=table).name
        except PolicyError:
            raise self.fail(f"{where} cites unknown provision '{name}' (not a key of law.toml)") from None

    def legal_bases(self) -> dict[str, str]:
        """Each legal basis code and the provision it names; its label is that provision's citation."""
        entries = self.raw.get("vocabularies", {}).get(LEGAL_BASES, {})
        out = {}
        for code, spec in entries.items():
            where = f"vocabulary '{LEGAL_BASES}' entry '{code}'"
            if not isinstance(spec, Mapping):
                raise self.fail(f"{where} needs law = the key of a provision in law.toml")
            if "law" in spec:
                out[code] = self.provision(spec["law"], where)
            else:  # a version stored before legal bases named their provision
                out[code] = self.provision(code, where, table=LEGAL_BASES)
        return out

    def states(self) -> dict[str, State]:
        states = {}
        for name, spec in self.table(self.raw, "states", "the definition").items():
            where = f"state '{name}'"
            states[name] = State(
                name=name,
                label=self.label(spec, where),
                closing=bool(spec.get("closing", False)),
                terminal=bool(spec.get("terminal", False)),
                erases=bool(spec.get("erases", False)),
                consent_purpose=spec.get("consent_purpose"),
            )
        for state in states.values():
            if state.erases and not state.terminal:
                raise self.fail(f"state '{state.name}' erases personal data, so it must be terminal")
        closing = [s.name for s in states.values() if s.closing]
        if len(closing) != 1:
            raise self.fail(f"exactly one state must be marked closing = true, found {closing or 'none'}")
        return states

    def fields(self, vocabularies: Mapping[str, Any]) -> dict[str, Field]:
        fields = {}
        for name, spec in self.table(self.raw, "fields", "the definition").items():
            where = f"field '{name}'"
            kind = self.string(spec, "kind", where)
            if kind not in FIELD_KINDS:
                raise self.fail(f"{where} has unknown kind '{kind}' (known: {', '.join(FIELD_KINDS)})")
            vocabulary = spec.get("vocabulary")
            if kind in ("code", "codes") and vocabulary not in vocabularies:
                raise self.fail(f"{where} of kind '{kind}' needs a known vocabulary, not '{vocabulary}'")
            fields[name] = Field(name=name, kind=kind, label=self.label(spec, where), vocabulary=vocabulary)
        return fields

    def deadlines(self, fields: Mapping[str, Field]) -> dict[str, Deadline]:
        deadlines = {}
        for name, spec in self.raw.get("deadlines", {}).items():
            where = f"deadline '{name}'"
            rule = self.string(spec, "rule", where)
            if rule not in DEADLINE_RULES:
                raise self.fail(f"{where} has unknown rule '{rule}' (known: {', '.join(DEADLINE_RULES)})")
            start = spec.get("from", "fired")
            if start not in ("fired", "received"):
                raise self.fail(f"{where}: 'from' must be 'fired' or 'received', not '{start}'")
            late_after = spec.get("late_after")
            if late_after is not None:
                try:
                    late_after = time.fromisoformat(late_after)
                except (TypeError, ValueError):
                    raise self.fail(f"{where}: 'late_after' must be a time such as \"16:00\"") from None
            if rule == "field" and (spec.get("field") not in fields or fields[spec["field"]].kind != "date"):
                raise self.fail(f"{where} takes its date from '{spec.get('field')}', which is no date field")
            for key in ("days", "months"):
                if rule == key and (not isinstance(spec.get(key), int) or spec[key] < 1):
                    raise self.fail(f"{where} with rule '{rule}' needs a positive whole number '{key}'")
            applies_to = spec.get("applies_to")
            if applies_to not in (None, "child", "adult"):
                raise self.fail(f"{where}: 'applies_to' must be 'child' or 'adult', not '{applies_to}'")
            deadlines[name] = Deadline(
                name=name, label=self.label(spec, where), rule=rule, days=spec.get("days", 0),
                months=spec.get("months", 0), start=start, field=spec.get("field"), late_after=late_after,
                applies_to=applies_to,
                law=self.provision(spec["law"], where) if spec.get("law") is not None else None,
            )
        return deadlines

    def transitions(
        self, roles: Mapping[str, Label], states: Mapping[str, State], fields: Mapping[str, Field],
        vocabularies: Mapping[str, Mapping[str, Label]], deadlines: Mapping[str, Deadline],
    ) -> tuple[Transition, ...]:
        specs = self.raw.get("transitions")
        if not isinstance(specs, list) or not specs:
            raise self.fail("the definition has no [[transitions]]")
        built: list[Transition] = []
        for number, spec in enumerate(specs, start=1):
            trigger = self.string(spec, "trigger", f"transition #{number}")
            where = f"transition #{number} '{trigger}'"
            label = self.label(spec, where)
            sources = self.strings(spec, "from", where)
            dest = self.string(spec, "to", where)
            for state in (*sources, dest):
                if state not in states:
                    raise self.fail(f"{where} names unknown state '{state}'")
            if not sources:
                raise self.fail(f"{where} has no 'from' state")
            role_names = self.strings(spec, "roles", where)
            if not role_names:
                raise self.fail(f"{where} has no roles allowed to fire it")
            for role in role_names:
                if role not in roles:
                    raise self.fail(f"{where} names unknown role '{role}'")
            guard_names = self.strings(spec, "guards", where)
            warnings = self.strings(spec, "warnings", where)
            for guard in (*guard_names, *warnings):
                if guard not in self.guards:
                    raise self.fail(f"{where} names unknown guard '{guard}'")
            requires = self.strings(spec, "requires", where)
            for name in requires:
                if name not in fields:
                    raise self.fail(f"{where} requires unknown field '{name}'")
            choices = self.choices(spec, where, fields, vocabularies)
            starts, stops = self.strings(spec, "starts", where), self.strings(spec, "stops", where)
            for deadline in (*starts, *stops):
                if deadline not in deadlines:
                    raise self.fail(f"{where} names unknown deadline '{deadline}'")
            for deadline in starts:
                date_field = deadlines[deadline].field
                if date_field and date_field not in requires:
                    raise self.fail(f"{where} starts '{deadline}' but does not require its field '{date_field}'")
            consent = self.consent(spec, where, vocabularies)
            if {"consent", "adult_consent"} & set(guard_names) and consent is None:
                raise self.fail(f"{where} has a consent guard but no 'consent' table saying what it must cover")
            automatic = spec.get("automatic", False)
            if not isinstance(automatic, bool):
                raise self.fail(f"{where}: 'automatic' must be true or false")
            for source in sources:
                built.append(Transition(
                    trigger=trigger, label=label, source=source, dest=dest, roles=frozenset(role_names),
                    guards=guard_names, warnings=warnings, requires=requires, choices=choices,
                    starts=starts, stops=stops, consent=consent, automatic=automatic,
                ))
        duplicates = [k for k, n in Counter((t.trigger, t.source) for t in built).items() if n > 1]
        if duplicates:
            trigger, source = duplicates[0]
            raise self.fail(f"duplicate trigger '{trigger}' from state '{source}'")
        return tuple(built)

    def choices(
        self, spec: Mapping[str, Any], where: str, fields: Mapping[str, Field],
        vocabularies: Mapping[str, Mapping[str, Label]],
    ) -> dict[str, frozenset[str]]:
        raw = spec.get("choices", {})
        if not isinstance(raw, Mapping):
            raise self.fail(f"{where}: 'choices' must be a table of field = [codes]")
        out = {}
        for name in raw:
            vocabulary = fields[name].vocabulary if name in fields else None
            if vocabulary is None:
                raise self.fail(f"{where} limits the choices of '{name}', which is no code field")
            codes = self.strings(raw, name, f"{where} choices")
            unknown = set(codes) - set(vocabularies[vocabulary])
            if unknown:
                raise self.fail(f"{where} allows unknown {vocabulary} {sorted(unknown)}")
            out[name] = frozenset(codes)
        return out

    def consent(
        self, spec: Mapping[str, Any], where: str, vocabularies: Mapping[str, Mapping[str, Label]],
    ) -> ConsentRule | None:
        raw = spec.get("consent")
        if raw is None:
            return None
        where = f"{where} consent"
        purpose = self.string(raw, "purpose", where)
        rule = ConsentRule(
            purpose=purpose,
            recipients=self.strings(raw, "recipients", where),
            data_categories=self.strings(raw, "data_categories", where),
            given_by=self.strings(raw, "given_by", where) or ("subject",),
        )
        for vocabulary, codes in (("purposes", [purpose]), ("recipients", rule.recipients),
                                  ("data_categories", rule.data_categories),
                                  ("consent_givers", rule.given_by)):
            unknown = set(codes) - set(vocabularies.get(vocabulary, {}))
            if unknown:
                raise self.fail(f"{where} names unknown {vocabulary} {sorted(unknown)}")
        return rule

    def check_graph(self, initial: str, states: Mapping[str, State], transitions: Collection[Transition]) -> None:
        edges: dict[str, set[str]] = {s: set() for s in states}
        for t in transitions:
            edges[t.source].add(t.dest)
        reachable = _closure(initial, edges)
        for name in states:
            if name not in reachable:
                raise self.fail(f"state '{name}' is unreachable from '{initial}'")
        closing = next(s.name for s in states.values() if s.closing)
        for state in states.values():
            if state.terminal:
                if edges[state.name]:
                    raise self.fail(f"terminal state '{state.name}' has transitions out of it")
            elif closing not in _closure(state.name, edges):
                raise self.fail(f"state '{state.name}' has no path to '{closing}'")


def _closure(start: str, edges: Mapping[str, Collection[str]]) -> set[str]:
    seen, queue = {start}, deque([start])
    while queue:
        for nxt in edges[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen
