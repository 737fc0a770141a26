"""What the engine needs to know about a case, an actor and a consent: plain values, no database.

`cases/` builds these from its records for one call and drops them afterwards, so the engine keeps nothing
per case and its memory does not grow with the number of cases.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

__all__ = ["Actor", "CaseFacts", "CommunicationFacts", "ConsentFacts", "age_on"]


@dataclass(frozen=True)
class Actor:
    """Who fires a trigger: a staff id (never a name) and the role they act in."""

    id: str
    role: str


@dataclass(frozen=True)
class ConsentFacts:
    """The parts of a consent record (DESIGN.md §3) that decide whether it covers a disclosure."""

    given_by: str
    purposes: frozenset[str]
    recipients: frozenset[str]
    data_categories: frozenset[str]
    valid_from: date
    valid_until: date | None = None
    status: str = "given"

    def active_on(self, day: date) -> bool:
        """Given, not withdrawn or refused, and within its validity on `day`."""
        if self.status != "given" or day < self.valid_from:
            return False
        return self.valid_until is None or day <= self.valid_until

    def covers(self, purpose: str, recipients: frozenset[str], data_categories: frozenset[str]) -> bool:
        return (
            purpose in self.purposes
            and recipients <= self.recipients
            and data_categories <= self.data_categories
        )


@dataclass(frozen=True)
class CommunicationFacts:
    """A communication before a decision (förvaltningslagen 25 §), or an exception from it, as the engine sees it.

    `decision` is the trigger it prepares. A communication has the last day to answer and whether the answer
    came; an exception has its code (policies/hearing.toml) and no day.
    """

    decision: str
    answer_by: date | None = None
    answered: bool = False
    exception: str | None = None


@dataclass(frozen=True)
class CaseFacts:
    """A case as the engine sees it for one decision."""

    ref: str
    state: str
    received_at: datetime
    birth_date: date | None  # None only once the case is erased and nothing can be decided on it
    consents: tuple[ConsentFacts, ...] = ()
    deadlines: Mapping[str, date] = field(default_factory=dict)
    shared_with: frozenset[str] = frozenset()
    last_entry_at: datetime | None = None
    communications: tuple[CommunicationFacts, ...] = ()
    origin: str | None = None  # the reporter organisation the concern came from (a code, e.g. a referral's)
    interventions_running: int = 0  # how many of the case's interventions run (version 3 on)
    # how many are proposed or decided and neither started nor ended (version 3 on): a case is not closed on them
    interventions_pending: int = 0
    flags: frozenset[str] = frozenset()  # the codes of the flags set on the case (policies/flags.toml)


def age_on(birth_date: date | None, day: date) -> int:
    """Whole years of age on `day`; someone born on 29 February turns a year older on 1 March.

    Only an erased case has no birth date, and nothing leaves the erased state, so no rule may ask its age.
    """
    if birth_date is None:
        raise ValueError("an erased case has no birth date, so no rule can depend on its age")
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))
