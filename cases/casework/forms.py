"""The registration form for a concern, and its checks.

The form asks for behaviour and need, not beliefs (DESIGN.md §2: opinions alone never justify an
intervention). It needs either an identity number or a birth date: a concern about someone whose number
the reporter does not know must still be registered, and child or adult is decided by the birth date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from cases.crypto.identity import ACCEPTED_KINDS, parse_identity_number
from cases.errors import ArrivalNotPermitted, InvalidConcern, InvalidIdentityNumber
from cases.text import check_text
from policies import Flowchart
from policies.limits import ARRIVAL_MAX_AGE, ARRIVAL_REASON_MIN_CHARS, ARRIVAL_REASON_MIN_WORDS, ARRIVAL_ROLES
from workflow.deadlines import local_date
from workflow.fields import MAX_TEXT

__all__ = ["CheckedConcern", "ConcernForm", "check_concern", "says_enough"]

MAX_NAME = 200


@dataclass(frozen=True)
class ConcernForm:
    """What a reporter submits. `concern` describes observed behaviour and the need for support.

    `received_at` and `arrival_reason` are intake's alone: a concern that came by phone or letter earlier than
    it is registered, and how it came. Anyone else's concern is received when it is registered.
    """

    concern: str
    reporter_org: str
    identity_number: str | None = None
    birth_date: date | None = None
    given_name: str | None = None
    family_name: str | None = None
    acute_danger: bool = False
    police_contacted_at: datetime | None = None
    received_at: datetime | None = None
    arrival_reason: str | None = None

    def __repr__(self) -> str:  # the form is full of personal data: never print it
        return f"ConcernForm(reporter_org={self.reporter_org!r}, acute_danger={self.acute_danger})"


@dataclass(frozen=True)
class CheckedConcern:
    text: str
    birth_date: date
    identity_number: str | None
    identity_kind: str | None
    received_at: datetime
    arrival_reason: str | None = None  # set only for an earlier arrival recorded by intake

    def __repr__(self) -> str:
        return f"CheckedConcern(identity_kind={self.identity_kind!r})"


def says_enough(text: str, min_words: int, min_chars: int) -> bool:
    """Whether a written reason has at least `min_words` words and `min_chars` characters (spaces trimmed)."""
    text = " ".join(text.split())
    return len(text.split()) >= min_words and len(text) >= min_chars


def check_concern(chart: Flowchart, form: ConcernForm, now: datetime, role: str) -> CheckedConcern:
    """Normalise the form or raise `InvalidConcern` / `InvalidIdentityNumber` naming the field.

    The time of arrival decides child or adult and starts every deadline, so it is not the reporter's to set:
    anyone but intake who sends one is refused (`ArrivalNotPermitted`), never silently ignored.
    """
    earlier = form.received_at is not None or form.arrival_reason is not None
    if earlier and role not in ARRIVAL_ROLES:
        raise ArrivalNotPermitted(role)
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
    reason = _arrival_reason(form, received_at, now) if earlier else None
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
    return CheckedConcern(text, birth_date, number, kind, received_at, reason)


def _arrival_reason(form: ConcernForm, received_at: datetime, now: datetime) -> str:
    """The reason intake gives for an earlier arrival, checked with the arrival it explains."""
    if form.received_at is None:
        raise InvalidConcern("received_at", "give the time the concern arrived, or leave the reason out",
                             "ange när oron kom in, eller lämna motiveringen tom")
    days = ARRIVAL_MAX_AGE.days
    if now - received_at > ARRIVAL_MAX_AGE:
        raise InvalidConcern("received_at", f"at most {days} days back; register an older concern as received "
                             "now and tell its history in the text",
                             f"högst {days} dagar bakåt; registrera en äldre oro som mottagen nu och beskriv "
                             "förloppet i texten")
    reason = " ".join(check_text("arrival_reason", form.arrival_reason or "").split())
    if not says_enough(reason, ARRIVAL_REASON_MIN_WORDS, ARRIVAL_REASON_MIN_CHARS):
        raise InvalidConcern("arrival_reason", f"say how and when the concern came in (at least "
                             f"{ARRIVAL_REASON_MIN_WORDS} words and {ARRIVAL_REASON_MIN_CHARS} characters)",
                             f"skriv hur och när oron kom in (minst {ARRIVAL_REASON_MIN_WORDS} ord och "
                             f"{ARRIVAL_REASON_MIN_CHARS} tecken)")
    if len(reason) > MAX_TEXT:
        raise InvalidConcern("arrival_reason", f"at most {MAX_TEXT} characters", f"högst {MAX_TEXT} tecken")
    return reason
