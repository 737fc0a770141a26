"""The registration form for a concern, and its checks.

The form asks for behaviour and need, not beliefs (DESIGN.md §2: opinions alone never justify an
intervention). It needs an identity number, a birth date, or a name and an approximate age: a concern about
someone whose number the reporter does not know must still be registered, and child or adult is decided by
the birth date. For an approximate age the birth date is estimated (`estimated_birth_date`) and the person's
age marked approximate until the identity is completed (`cases.sources.identity`).

Where the concern comes from (its source, `reporter_org`) is checked against the role registering it, and an
anonymous reporter or a named reporter's contact details against the source (policies/rules.toml [sources]).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from cases.crypto.identity import ACCEPTED_KINDS, parse_identity_number
from cases.errors import ArrivalNotPermitted, InvalidConcern, InvalidIdentityNumber, SourceNotPermitted
from cases.text import check_text
from policies import Flowchart
from policies.limits import ARRIVAL_MAX_AGE, ARRIVAL_REASON_MIN_CHARS, ARRIVAL_REASON_MIN_WORDS, ARRIVAL_ROLES
from workflow.deadlines import local_date
from workflow.fields import MAX_TEXT
from workflow.guards import rules

__all__ = ["MAX_APPROXIMATE_AGE", "MAX_CONTACT", "MAX_NAME", "CheckedConcern", "ConcernForm", "check_concern",
           "estimated_birth_date", "identify", "says_enough"]

MAX_NAME = 200
MAX_CONTACT = 200
MAX_APPROXIMATE_AGE = 110


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
    approximate_age: int | None = None  # whole years, instead of an identity number or a birth date
    anonymous: bool = False  # the reporter stays unknown: nothing about them is recorded
    reporter_name: str | None = None  # a named reporter from outside the municipality (sealed)
    reporter_contact: str | None = None  # their telephone number or address (sealed)

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
    age_approximate: bool = False  # `birth_date` is estimated from an approximate age
    reporter_name: str | None = None
    reporter_contact: str | None = None

    def __repr__(self) -> str:
        return f"CheckedConcern(identity_kind={self.identity_kind!r})"


def estimated_birth_date(approximate_age: int, received: date) -> date:
    """The birth date an approximate age stands for: the day of receipt, `approximate_age` years earlier.

    The youngest reading of the age in whole years: the person is that age on the day of receipt and for the
    year after. So an approximate age under 18 is a child under the child's rules (the protection assessment
    at once, the pre-assessment within 14 days, the guardians' consent) for as long as the estimate can say so.
    An approximate age of 18 is an adult: counting a stated adult as a child would let an investigation open
    without the person's own consent and ask guardians who have no say; the decision maker sees that the age
    is approximate, a person of 18–20 is flagged at every decision, and whoever believes the person may be
    under 18 gives an age under 18 (the form says so). docs/sources.md gives the whole reasoning.
    """
    try:
        return received.replace(year=received.year - approximate_age)
    except ValueError:  # 29 February in a year that has none
        return received.replace(year=received.year - approximate_age, day=28)


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
    # A role that registers no concern at all is refused as such by the engine (`RoleNotAllowed`), not told
    # to pick another source; the sources are checked only for a role that registers.
    if role in chart.initial_roles and not rules().may_register(role, form.reporter_org):
        raise SourceNotPermitted(role)
    reporter_name, reporter_contact = _reporter(form)
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

    birth_date, number, kind, approximate = identify(form, local_date(received_at, chart.timezone))
    if birth_date > local_date(received_at, chart.timezone):
        raise InvalidConcern("birth_date", "lies after the day of receipt", "ligger efter mottagningsdagen")
    return CheckedConcern(text, birth_date, number, kind, received_at, reason, approximate, reporter_name,
                          reporter_contact)


class Identifying(Protocol):
    """What a form says about who a person is: a concern's, or a relative's (`cases.relatives`)."""

    @property
    def identity_number(self) -> str | None: ...
    @property
    def birth_date(self) -> date | None: ...
    @property
    def approximate_age(self) -> int | None: ...
    @property
    def given_name(self) -> str | None: ...
    @property
    def family_name(self) -> str | None: ...


def identify(form: Identifying, day: date) -> tuple[date, str | None, str | None, bool]:
    """(birth date, normalised identity number, its kind, whether the age is approximate) from `form`, or
    `InvalidConcern` / `InvalidIdentityNumber` naming the field. An approximate age gives a birth date estimated
    from `day` and needs a name; an identity number fixes the birth date (a given one must match it)."""
    number = kind = None
    birth_date = form.birth_date
    approximate = form.approximate_age is not None
    if approximate:
        birth_date = _approximate(form, day)
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
        raise InvalidConcern("identity_number", "give an identity number, a birth date or an approximate age",
                             "ange personnummer, samordningsnummer, födelsedatum eller ungefärlig ålder")
    return birth_date, number, kind, approximate


def _approximate(form: Identifying, day: date) -> date:
    """The estimated birth date of a person known only by name and an approximate age (checked with them)."""
    age = form.approximate_age
    if form.identity_number or form.birth_date is not None:
        raise InvalidConcern("approximate_age", "give either an approximate age or an identity number or birth "
                             "date, not both", "ange antingen ungefärlig ålder eller id-nummer eller "
                             "födelsedatum, inte båda")
    if not isinstance(age, int) or isinstance(age, bool) or not 0 <= age <= MAX_APPROXIMATE_AGE:
        raise InvalidConcern("approximate_age", f"a whole number of years, 0–{MAX_APPROXIMATE_AGE}",
                             f"ett helt antal år, 0–{MAX_APPROXIMATE_AGE}")
    if not (form.given_name or "").strip() and not (form.family_name or "").strip():
        raise InvalidConcern("given_name", "with an approximate age, give the given name or the family name",
                             "med ungefärlig ålder, ange förnamn eller efternamn")
    return estimated_birth_date(age, day)


def _reporter(form: ConcernForm) -> tuple[str | None, str | None]:
    """The reporter's own details as the source allows them: none for an anonymous reporter (refused, never
    dropped), and a named outside reporter's name and contact only where the source lets them leave one."""
    policy = rules()
    name = " ".join((form.reporter_name or "").split()) or None
    contact = " ".join((form.reporter_contact or "").split()) or None
    if form.anonymous:
        if form.reporter_org not in policy.anonymous_sources:
            raise InvalidConcern("anonymous", "a concern from this source is not anonymous",
                                 "en oro från den här källan kan inte vara anonym")
        if name or contact:
            raise InvalidConcern("reporter_name", "an anonymous reporter leaves no name or contact details",
                                 "en anonym anmälare lämnar inget namn och inga kontaktuppgifter")
    if (name or contact) and form.reporter_org not in policy.contact_sources:
        raise InvalidConcern("reporter_name", "staff of the municipality are reached through their account; "
                             "leave the reporter's name and contact details empty",
                             "kommunens personal nås via sitt konto; lämna anmälarens namn och kontaktuppgifter "
                             "tomma")
    for field, value in (("reporter_name", name), ("reporter_contact", contact)):
        if value is not None:
            check_text(field, value, name=True)
            if len(value) > MAX_CONTACT:
                raise InvalidConcern(field, f"at most {MAX_CONTACT} characters", f"högst {MAX_CONTACT} tecken")
    return name, contact


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
