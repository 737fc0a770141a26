"""Request bodies: strict types, no properties beyond the declared, and the flowchart's own codes.

Built once per flowchart version (`flowchart_models`), so the OpenAPI document lists exactly the states,
triggers and vocabularies the server accepts. Strict means no coercion: "1" is not 1, 0 is not a date, and
text that UTF-8 cannot hold (unpaired surrogates) or NUL, and names with control or writing-direction
characters, are refused before they reach an operation, by the check the pages use (`cases.text`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from types import SimpleNamespace
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, create_model

from cases.casework.forms import MAX_APPROXIMATE_AGE, MAX_CONTACT, MAX_NAME
from cases.cursors import MAX_CURSOR
from cases.text import text_fault
from policies import Flowchart
from policies.hearing import load_hearing
from policies.limits import ARRIVAL_MAX_AGE, ARRIVAL_REASON_MIN_CHARS, ARRIVAL_REASON_MIN_WORDS
from workflow.fields import MAX_TEXT

__all__ = ["Closed", "IsoDate", "IsoMoment", "Name", "Text", "Whole", "flowchart_models"]

_IDENTITY = r"^(\d{2})?\d{6}[-+]?\d{4}$"


def _iso_date(value: Any) -> Any:
    """Only a calendar day written YYYY-MM-DD: never a number read as seconds since 1970."""
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError("a date written YYYY-MM-DD")


def _iso_moment(value: Any) -> Any:
    """Only a moment written in ISO 8601 with its offset, e.g. 2026-11-27T09:30:00+01:00."""
    if isinstance(value, str) and "T" in value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if moment.tzinfo is not None:
                return moment
    raise ValueError("a moment in ISO 8601 with its time zone offset")


def _whole(value: Any) -> Any:
    """JSON Schema's integer: 3 and 3.0 alike, never true or "3"."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _text(value: str) -> str:
    """Text that can be stored (`cases.text`: no unpaired surrogates, which JSON can escape, and no NUL)."""
    fault = text_fault(value)
    if fault is not None:
        raise ValueError(fault[0])
    return value


def _name(value: str) -> str:
    """A name (`cases.text`): text, and no control or writing-direction characters either."""
    fault = text_fault(value, name=True)
    if fault is not None:
        raise ValueError(fault[0])
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
Whole = Annotated[int, BeforeValidator(_whole)]
Text = Annotated[str, AfterValidator(_text)]
Name = Annotated[str, AfterValidator(_name)]
IsoMoment = Annotated[AwareDatetime, BeforeValidator(_iso_moment)]


class Closed(BaseModel):
    """A request body: strict types (no "1" for 1, no 0 for a date) and no properties beyond the declared."""

    model_config = ConfigDict(extra="forbid", strict=True)


_BUILT: dict[str, SimpleNamespace] = {}


def flowchart_models(chart: Flowchart, *more: Flowchart) -> SimpleNamespace:
    """Request models whose codes are the flowchart's, and those of `more` (a relative's own matter runs on a
    flowchart of its own, moved on through the same endpoints): built once per set of versions."""
    versions = ",".join(c.version for c in (chart, *more))
    if versions not in _BUILT:
        _BUILT[versions] = _build(chart, *more)
    return _BUILT[versions]


def _literal(values: Iterable[str]) -> Any:
    """A `Literal` of codes known only at run time: a type to pydantic, a plain value to mypy."""
    return Literal[tuple(sorted(values))]


def _list_of(item: Any) -> Any:
    """`list[item]` for an item type built at run time."""
    return list[item]


def _build(chart: Flowchart, *more: Flowchart) -> SimpleNamespace:
    charts = (chart, *more)
    vocab: dict[str, set[str]] = {}
    for each in charts:
        for name, codes in each.vocabularies.items():
            vocab.setdefault(name, set()).update(codes)
    fields = {name: spec for each in reversed(charts) for name, spec in each.fields.items()}  # `chart`'s first

    def one_of(name: str | None) -> Any:  # the loader gives every code field a vocabulary
        return _literal(vocab[name] if name is not None else ())

    states = _literal({state for each in charts for state in each.states})
    triggers = _literal({trigger for each in charts for trigger in each.triggers})

    def text() -> tuple[Any, Any]:
        return Text, Field(min_length=1, max_length=MAX_TEXT)

    payload_fields: dict[str, Any] = {}
    for name, spec in sorted(fields.items()):
        kind: Any = {"text": Text, "date": IsoDate, "code": one_of(spec.vocabulary) if spec.kind == "code" else str,
                     "codes": _list_of(one_of(spec.vocabulary)) if spec.kind == "codes" else str}[spec.kind]
        constraints: dict[str, Any] = {"max_length": MAX_TEXT} if spec.kind == "text" else {}
        payload_fields[name] = (kind | None, Field(None, description=spec.label.en, **constraints))
    payload = create_model("TransitionFields", __base__=Closed, **payload_fields)

    hearing = load_hearing()  # the structured assessment a step may bring (policies/hearing.toml)
    assessment: Any = create_model(
        "StepAssessment", __base__=Closed,
        assessed=(Text, Field(min_length=1, max_length=MAX_TEXT, description="What was assessed")),
        decision=(_literal(hearing.decisions) | None, Field(None, description=(
            "The assessment's decision; left out where the step itself is the decision"))),
        child_view=(Text | None, Field(None, max_length=MAX_TEXT, description="For a child: the child's own view")),
        not_heard_reason=(_literal(hearing.not_heard_reasons) | None, Field(None, description=(
            "For a child not heard: why"))),
        not_heard_detail=(Text | None, Field(None, max_length=MAX_TEXT)),
    )
    transition = create_model(
        "TransitionRequest", __base__=Closed,
        trigger=(triggers, Field(description="The trigger to fire (GET …/triggers lists those allowed now)")),
        expected_version=(Whole, Field(ge=1, description="The case version the caller last saw")),
        fields=(payload, Field(default_factory=payload, description="What the trigger requires")),
        assessment=(assessment | None, Field(None, description=(
            "The protection assessment or pre-assessment the step decides: required for a child on the day of "
            "the step (what was assessed, the decision, and the child's own view or why the child was not heard)"))),
    )
    concern = create_model(
        "ConcernRequest", __base__=Closed,
        concern=text(),
        reporter_org=(one_of("reporter_orgs"), Field(description=(
            "Where the concern comes from (its source). A reporter registers for their own kinds of service, "
            "intake for every source (policies/rules.toml [sources]); another source is refused (403)."))),
        identity_number=(str | None, Field(None, pattern=_IDENTITY, description="Personnummer or "
                                           "samordningsnummer; or give birth_date")),
        birth_date=(IsoDate | None, None),
        approximate_age=(Whole | None, Field(None, ge=0, le=MAX_APPROXIMATE_AGE, description=(
            "Instead of identity_number and birth_date: the person's approximate age in whole years, with "
            "given_name or family_name. The birth date is estimated (the day of receipt that many years back) "
            "and the age marked approximate until POST /cases/{ref}/identity completes it."))),
        given_name=(Name | None, Field(None, max_length=MAX_NAME)),
        family_name=(Name | None, Field(None, max_length=MAX_NAME)),
        anonymous=(bool, Field(False, description=(
            "The reporter stays anonymous: nothing about them is recorded (only for the sources that allow it, "
            "a member of the public or a relative; never with reporter_name or reporter_contact)"))),
        reporter_name=(Name | None, Field(None, max_length=MAX_CONTACT, description=(
            "A named reporter from outside the municipality (police, healthcare, a relative, the public, the "
            "person themself): stored encrypted with the case"))),
        reporter_contact=(Name | None, Field(None, max_length=MAX_CONTACT, description=(
            "How to reach that reporter (telephone, address): stored encrypted with the case"))),
        acute_danger=(bool, False),
        police_contacted_at=(IsoMoment | None, None),
        received_at=(IsoMoment | None, Field(None, description=(
            "Intake only: when a concern that came by phone or letter arrived, earlier than its registration "
            f"(at most {ARRIVAL_MAX_AGE.days} days back, with its time zone offset, never in the future); "
            "give arrival_reason with it. It decides child or adult and starts every deadline, so anyone else "
            "who sends it is refused (403). Left out, the concern is received when it is registered."))),
        arrival_reason=(Text | None, Field(None, max_length=MAX_TEXT, description=(
            "Intake only, with received_at: how and when the concern came in (at least "
            f"{ARRIVAL_REASON_MIN_WORDS} words and {ARRIVAL_REASON_MIN_CHARS} characters). Stored encrypted "
            "with the case; the transition log records that intake set an earlier arrival."))),
    )
    consent = create_model(
        "ConsentRequest", __base__=Closed,
        expected_version=(Whole, Field(ge=1)),
        given_by=(one_of("consent_givers"), ...),
        purposes=(_list_of(one_of("purposes")), Field(min_length=1)),
        recipients=(_list_of(one_of("recipients")), Field(min_length=1)),
        data_categories=(_list_of(one_of("data_categories")), Field(min_length=1)),
        method=(one_of("consent_methods"), ...),
        evidence=text(),
        valid_from=(IsoDate, ...),
        valid_until=(IsoDate | None, None),
        status=(_literal(("given", "refused")), "given"),
    )
    identity = create_model(
        "IdentityRequest", __base__=Closed,
        expected_version=(Whole, Field(ge=1, description="The case version the caller last saw")),
        identity_number=(str, Field(pattern=_IDENTITY, description=(
            "The person's personnummer or samordningsnummer, once known: it replaces the estimated birth date "
            "and links the case to the same person's other cases"))),
    )
    withdrawal = create_model("WithdrawalRequest", __base__=Closed, expected_version=(Whole, Field(ge=1)),
                              reason=text())
    case_query = create_model(
        "CaseListQuery",
        state=(states | None, None),
        due_by=(IsoDate | None, Field(None, description="Only cases whose first running deadline is due by then")),
        cursor=(str | None, Field(None, pattern=rf"^[A-Za-z0-9_-]{{1,{MAX_CURSOR}}}$", description=(
            "Where the page starts: a `next_cursor` or `previous_cursor` from an earlier page, as it came "
            "(opaque); none is the first page. A cursor this server did not make is refused with 422 "
            "bad-cursor."))),
        page=(int | None, Field(None, ge=1, le=1, description=(
            "Gone: pages follow `cursor`. Only page 1, the first, is still accepted; any other page number is "
            "refused rather than answered with the first page again."))),
        per_page=(int, Field(50, ge=1, le=200)),
    )
    return SimpleNamespace(transition=transition, concern=concern, consent=consent, withdrawal=withdrawal,
                           case_query=case_query, identity=identity)
