"""Reminders before statutory deadlines, escalation when they pass, alerts on acute concerns (`reminders.toml`).

The deadlines themselves are the flowchart's (`vid_oro.toml` [deadlines]); this file says only when and whom to
tell. Kept apart from the flowchart: changing a lead time makes no new flowchart version.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

from policies.access import GROUNDS
from policies.errors import PolicyError
from policies.flowchart import DEFAULT_PATH

__all__ = ["DEFAULT_REMINDERS_PATH", "Reminders", "load_reminders", "parse_reminders"]

DEFAULT_REMINDERS_PATH = Path(__file__).with_name("reminders.toml")
_MAX_LEAD = 60  # working days: a lead time beyond this is a typing error, not a policy


@dataclass(frozen=True)
class Reminders:
    """When to remind (working days before each deadline), and which roles hear what."""

    remind_before: Mapping[str, int]
    unassigned: tuple[str, ...]
    escalation: tuple[str, ...]
    acute: tuple[str, ...]
    acute_within: timedelta

    def unassigned_role(self, state: str) -> str | None:
        """The role that holds a case in `state` nobody is assigned to: the first listed whose ground covers it."""
        for role in self.unassigned:
            if any(g.role == role and not g.assigned and g.holds_in(state) for g in GROUNDS):
                return role
        return None


def parse_reminders(raw: Mapping[str, Any], *, deadlines: frozenset[str], roles: frozenset[str],
                    source: str = "reminders.toml") -> Reminders:
    """Validate `raw` against the flowchart's `deadlines` and `roles`; `PolicyError` on anything unknown."""

    def fail(message: str) -> PolicyError:
        return PolicyError(source, message)

    lead: dict[str, int] = {}
    for name, days in dict(raw.get("remind_before", {})).items():
        if name not in deadlines:
            raise fail(f"[remind_before] names unknown deadline '{name}'")
        if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= _MAX_LEAD:
            raise fail(f"[remind_before] {name} must be a whole number of working days from 0 to {_MAX_LEAD}")
        lead[name] = days
    recipients = dict(raw.get("recipients", {}))

    def role_list(key: str) -> tuple[str, ...]:
        value = recipients.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(r, str) for r in value):
            raise fail(f"[recipients] {key} must be a non-empty list of roles")
        for role in value:
            if role not in roles:
                raise fail(f"[recipients] {key} names unknown role '{role}'")
        return tuple(value)

    hours = dict(raw.get("acute", {})).get("within_hours")
    if not isinstance(hours, int) or isinstance(hours, bool) or hours <= 0:
        raise fail("[acute] within_hours must be a positive whole number of hours")
    return Reminders(remind_before=lead, unassigned=role_list("unassigned"), escalation=role_list("escalation"),
                     acute=role_list("acute"), acute_within=timedelta(hours=hours))


@cache
def load_reminders(path: Path = DEFAULT_REMINDERS_PATH) -> Reminders:
    """The reminders policy at `path`, checked against the names of the vid oro flowchart's deadlines and roles."""
    with DEFAULT_PATH.open("rb") as handle:
        chart = tomllib.load(handle)
    with path.open("rb") as handle:
        raw = tomllib.load(handle)
    return parse_reminders(raw, deadlines=frozenset(chart.get("deadlines", {})),
                           roles=frozenset(chart.get("roles", {})), source=str(path))
