"""The registration form for a concern, and its checks.

The form asks for behaviour and need, not beliefs (DESIGN.md §2: opinions alone never justify an
intervention). It needs either an identity number or a birth date: a concern about someone whose number
the reporter does not know must still be registered, and child or adult is decided by the birth date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from cases.errors import InvalidConcern, InvalidIdentityNumber
from cases.identity import ACCEPTED_KINDS, parse_identity_number
from cases.text import check_text
from policies import Flowchart
from workflow.deadlines import local_date
from workflow.fields import MAX_TEXT

__all__ = ["CheckedConcern", "ConcernForm", "check_concern"]

MAX_NAME = 200


@dataclass(frozen=True)
class ConcernForm:
    """What a reporter submits. `concern` describes observed behaviour and the need for support."""

    concern: str
    reporter_org: str
    identity_number: str | None = None
    birth_date: date | None = None
    given_name: str | None = None
    family_name: str | None = None
    acute_danger: bool = False
    police_contacted_at: datetime | None = None
    received_at: datetime | None = None

    def __repr__(self) -> str:  # the form is full of personal data: never print it
        return f"ConcernForm(reporter_org={self.reporter_org!r}, acute_danger={self.acute_danger})"


@dataclass(frozen=True)
class CheckedConcern:
    text: str
    birth_date: date
    identity_number: str | None
    identity_kind: str | None
    received_at: datetime

    def __repr__(self) -> str:
        return f"CheckedConcern(identity_kind={self.identity_kind!r})"


def check_concern(chart: Flowchart, form: ConcernForm, now: datetime) -> CheckedConcern:
    """Normalise the form or raise `InvalidConcern` / `InvalidIdentityNumber` naming the field."""
    text = check_text("concern", (form.concern or "").strip())
    if not text:
        raise InvalidConcern("concern", "describe the behaviour you saw and the need for support",
                             "beskriv beteendet du sett och behovet av stöd")
    if len(text) > MAX_TEXT:
        raise InvalidConcern("concern", f"at most {MAX_TEXT} characters", f"högst {MAX_TEXT} tecken")
    if form.reporter_org not in chart.vocabularies.get("reporter_orgs", {}):
        raise InvalidConcern("reporter_org", "choose where you work from the list", "välj verksamhet i listan")
    for name in ("given_name", "family_name"):
        value = getattr(form, name)
        if value is not None:
            check_text(name, value, name=True)
        if value is not None and len(value) > MAX_NAME:
            raise InvalidConcern(name, f"at most {MAX_NAME} characters", f"högst {MAX_NAME} tecken")
    received_at = form.received_at or now
    if received_at.tzinfo is None or received_at > now:
        raise InvalidConcern("received_at", "must be a time zone aware moment, not in the future",
                             "måste vara en tidpunkt med tidszon, inte i framtiden")
    if form.police_contacted_at is not None and (form.police_contacted_at.tzinfo is None
                                                 or form.police_contacted_at > now):
        raise InvalidConcern("police_contacted_at", "must be a moment, not in the future",
                             "måste vara en tidpunkt, inte i framtiden")

    number = kind = None
    birth_date = form.birth_date
    if form.identity_number:
        parsed = parse_identity_number(form.identity_number)
        if parsed.kind not in ACCEPTED_KINDS:
            raise InvalidIdentityNumber(
                "interim numbers are not accepted; give the birth date instead",
                "interimsnummer godtas inte; ange födelsedatum i stället",
            )
        if birth_date is not None and birth_date != parsed.birth_date:
            raise InvalidConcern("birth_date", "does not match the identity number",
                                 "stämmer inte med id-numret")
        number, kind, birth_date = parsed.normalised, parsed.kind, parsed.birth_date
    if birth_date is None:
        raise InvalidConcern("identity_number", "give an identity number or a birth date",
                             "ange personnummer, samordningsnummer eller födelsedatum")
    if birth_date > local_date(received_at, chart.timezone):
        raise InvalidConcern("birth_date", "lies after the day of receipt", "ligger efter mottagningsdagen")
    return CheckedConcern(text, birth_date, number, kind, received_at)
