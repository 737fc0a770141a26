"""Thinning (gallring) as data, loaded from `retention.toml`: the research sample by day of birth, who places and
lifts a legal hold, and how long sign-in attempts, notifications and finished outbox mails are kept.

The retention period itself stays with each flowchart (`retention_years`), defined once; this file holds only
what the retention job keeps although that period is over, and the periods of the records it purges.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from policies.access import SYSTEM_ROLE
from policies.errors import PolicyError
from policies.law import load_law

__all__ = [
    "DEFAULT_RETENTION_PATH",
    "HOLD_LIFTED",
    "HOLD_PLACED",
    "Retention",
    "load_retention",
    "parse_retention",
]

DEFAULT_RETENTION_PATH = Path(__file__).with_name("retention.toml")
# The transition log's names for placing and lifting a legal hold: entries beside the flowchart's steps.
HOLD_PLACED, HOLD_LIFTED = "place_legal_hold", "lift_legal_hold"


@dataclass(frozen=True)
class Retention:
    """What thinning keeps, who holds, and how long the purged records live (days)."""

    birth_days: frozenset[int]
    whole_municipality: bool
    sample_law: str
    place_roles: frozenset[str]
    lift_roles: frozenset[str]
    sign_in_attempts_days: int
    read_notifications_days: int
    unread_notifications_days: int
    finished_mail_days: int

    def in_sample(self, birth_date: date | None) -> bool:
        """Whether a person born on `birth_date` is in the research sample (None: no known day of birth)."""
        return self.whole_municipality or (birth_date is not None and birth_date.day in self.birth_days)


@cache
def load_retention(path: Path = DEFAULT_RETENTION_PATH) -> Retention:
    """`retention.toml`, read and checked once per process."""
    with path.open("rb") as f:
        return parse_retention(tomllib.load(f), source=path.name)


def parse_retention(raw: Mapping[str, Any], *, source: str = "retention.toml") -> Retention:
    """Check and type the file's tables; a mistake names the file and what is wrong."""
    sample, holds, purges = (_table(raw, name, source) for name in ("research_sample", "legal_holds", "purges"))
    days = sample.get("birth_days")
    if not isinstance(days, list) or not all(isinstance(d, int) and 1 <= d <= 31 for d in days):
        raise PolicyError(source, "research_sample.birth_days must list days of the month (1–31)")
    whole = sample.get("whole_municipality", False)
    if not isinstance(whole, bool):
        raise PolicyError(source, "research_sample.whole_municipality must be true or false")
    law = sample.get("law")
    if not isinstance(law, str) or law not in load_law():
        raise PolicyError(source, "research_sample.law must name a provision of law.toml")
    roles = {name: _roles(holds, name, source) for name in ("place_roles", "lift_roles")}
    kept = [_days(purges, name, source) for name in _PURGED]
    return Retention(frozenset(days), whole, law, roles["place_roles"], roles["lift_roles"], *kept)


_PURGED = ("sign_in_attempts_days", "read_notifications_days", "unread_notifications_days", "finished_mail_days")


def _days(table: Mapping[str, Any], name: str, source: str) -> int:
    days = table.get(name)
    if not isinstance(days, int) or isinstance(days, bool) or days < 1:
        raise PolicyError(source, f"purges.{name} must be a whole number of days, at least 1")
    return days


def _table(raw: Mapping[str, Any], name: str, source: str) -> Mapping[str, Any]:
    table = raw.get(name)
    if not isinstance(table, dict):
        raise PolicyError(source, f"needs a [{name}] table")
    return table


def _roles(table: Mapping[str, Any], name: str, source: str) -> frozenset[str]:
    roles = table.get(name)
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
        raise PolicyError(source, f"legal_holds.{name} must list at least one role")
    if SYSTEM_ROLE in roles:
        raise PolicyError(source, f"legal_holds.{name}: the system role is nobody's to act with")
    return frozenset(roles)
