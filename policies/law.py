"""The provisions vidoro cites, loaded from `law.toml`, and the one place a citation is written.

A citation is written the Swedish way (LAW.md): the paragraph before the act, `kap.` with a full stop, the
act's title with its SFS number the first time a page names it and its short name after that:
`14 kap. 2 § första stycket socialtjänstlagen (2025:400)`, then `14 kap. 2 § SoL`. A provision whose number
is not verified has no `section`, and is cited by the act and the rule in words instead of a guessed number.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from policies.errors import PolicyError
from policies.model import Label

__all__ = ["DEFAULT_LAW_PATH", "Act", "Law", "Provision", "cite", "load_law", "parse_law"]

DEFAULT_LAW_PATH = Path(__file__).with_name("law.toml")


@dataclass(frozen=True)
class Act:
    name: str
    title: str
    short: str


@dataclass(frozen=True)
class Provision:
    """One provision: its act, chapter, paragraph and paragraph part, and the rule in words."""

    name: str
    act: Act
    words: Label
    chapter: str | None = None
    section: str | None = None
    part: str | None = None
    verified: str | None = None

    @property
    def numbered(self) -> bool:
        """Whether the paragraph number is verified, and so may be shown."""
        return self.section is not None

    def label(self) -> Label:
        """The citation and the rule in words, in Swedish and English, for a list to choose from."""
        if not self.numbered:
            return Label(sv=self.cite(), en=f"{self.act.title}, {self.words.en}")
        return Label(sv=f"{self.cite()}, {self.words.sv}", en=f"{self.cite()}, {self.words.en}")

    def cite(self, *, short: bool = False) -> str:
        """The citation in Swedish form; `short` once the act has been named in full on the same page."""
        act = self.act.short if short else self.act.title
        if not self.numbered:
            return f"{act}, {self.words.sv}"
        parts = [f"{self.chapter} kap." if self.chapter else None, self.section, self.part, act]
        return " ".join(p for p in parts if p)


@dataclass(frozen=True)
class Law:
    acts: Mapping[str, Act]
    provisions: Mapping[str, Provision]
    # how flowchart versions stored before law.toml cited a provision: table name -> old citation -> key
    formerly: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Provision:
        try:
            return self.provisions[name]
        except KeyError:
            raise PolicyError("law.toml", f"names no provision '{name}'") from None

    def __contains__(self, name: object) -> bool:
        return name in self.provisions

    def resolve(self, name: str, *, table: str = "citations") -> Provision:
        """The provision a flowchart names: by the old citation a stored version used, or by its key.

        A running case keeps the flowchart version it started on (DESIGN.md §2); a version stored before
        citations came from law.toml still loads, and shows today's citation. Unknown names are refused.
        """
        key = self.formerly.get(table, {}).get(name, name)  # the old name first: a code may be a key now
        if key not in self.provisions:
            raise PolicyError("law.toml", f"names no provision '{name}'")
        return self.provisions[key]


def parse_law(text: str, *, source: str) -> Law:
    """Validate the provisions given as TOML text; `source` names them in error messages."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(source, f"is not valid TOML ({exc})") from None
    acts = {name: _act(source, name, spec) for name, spec in _table(source, raw, "acts").items()}
    provisions = {name: _provision(source, name, spec, acts)
                  for name, spec in _table(source, raw, "provisions").items()}
    return Law(acts=acts, provisions=provisions, formerly=_formerly(source, raw, provisions))


@cache
def load_law(path: Path = DEFAULT_LAW_PATH) -> Law:
    """Read and validate the provisions at `path` (read once per process)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(str(path), f"cannot be read ({exc.strerror})") from None
    return parse_law(text, source=str(path))


def cite(name: str, *, short: bool = False) -> str:
    """The Swedish citation of the provision called `name` in the default `law.toml`."""
    return load_law()[name].cite(short=short)


def _table(source: str, raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key)
    if not isinstance(value, dict) or not value:
        raise PolicyError(source, f"needs a non-empty table [{key}]")
    return value


def _string(source: str, spec: Mapping[str, Any], key: str, where: str, *, optional: bool = False) -> str | None:
    value = spec.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise PolicyError(source, f"{where} needs a non-empty string '{key}'")
    return value


def _act(source: str, name: str, spec: Mapping[str, Any]) -> Act:
    where = f"act '{name}'"
    return Act(name=name, title=str(_string(source, spec, "title", where)),
               short=str(_string(source, spec, "short", where)))


def _provision(source: str, name: str, spec: Mapping[str, Any], acts: Mapping[str, Act]) -> Provision:
    where = f"provision '{name}'"
    act = str(spec.get("act"))
    if act not in acts:
        raise PolicyError(source, f"{where} names no known act ('{act}')")
    words = spec.get("words")
    if not (isinstance(words, dict) and isinstance(words.get("sv"), str) and isinstance(words.get("en"), str)):
        raise PolicyError(source, f"{where} needs words = {{ sv = …, en = … }}")
    section = _string(source, spec, "section", where, optional=True)
    chapter = _string(source, spec, "chapter", where, optional=True)
    part = _string(source, spec, "part", where, optional=True)
    if section is None and (chapter or part):
        raise PolicyError(source, f"{where} has a chapter or part but no verified section")
    if section is not None and not spec.get("verified"):
        raise PolicyError(source, f"{where} gives a number: say where it was verified ('verified')")
    return Provision(name=name, act=acts[act], words=Label(sv=words["sv"], en=words["en"]), chapter=chapter,
                     section=section, part=part, verified=_string(source, spec, "verified", where, optional=True))


def _formerly(source: str, raw: Mapping[str, Any], provisions: Mapping[str, Provision]
              ) -> dict[str, dict[str, str]]:
    tables = raw.get("formerly", {})
    if not isinstance(tables, dict):
        raise PolicyError(source, "[formerly] must hold tables of old citation = provision key")
    out: dict[str, dict[str, str]] = {}
    for table, entries in tables.items():
        if not isinstance(entries, dict):
            raise PolicyError(source, f"[formerly.{table}] must map old citations to provision keys")
        for old, key in entries.items():
            if key not in provisions:
                raise PolicyError(source, f"[formerly.{table}] maps '{old}' to no provision ('{key}')")
        out[table] = dict(entries)
    return out
