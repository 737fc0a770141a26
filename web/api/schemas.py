"""The API's request and response bodies as pydantic models: they validate what comes in, and the OpenAPI
document (JSON Schema 2020-12, as OpenAPI 3.1 uses) is generated from them by flask-openapi3.

Vocabularies, states and triggers come from the flowchart (`flowchart_models`), so the document says exactly
which codes the server accepts. Request bodies refuse unknown properties: a misspelt field is an error, not
something silently dropped.
"""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, create_model

from policies import Flowchart
from workflow.fields import MAX_TEXT

__all__ = [
    "ApiTokenInfo",
    "CaseList",
    "CaseRecord",
    "CaseSummary",
    "Changed",
    "Checkpoint",
    "ConsentRecorded",
    "ConsistencyProof",
    "InclusionProof",
    "Me",
    "Option",
    "Options",
    "Problem",
    "Reason",
    "ReferralList",
    "ReferralPacket",
    "Registered",
    "TokenList",
    "flowchart_models",
]

_REF = r"^VO-[0-9A-HJKMNP-TV-Z]{8}$"
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


def _encodable(value: str) -> str:
    """Text that can be stored: no lone surrogates (JSON can escape them; UTF-8 cannot hold them) and no NUL."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text with an unpaired surrogate") from None
    if "\x00" in value:
        raise ValueError("text with a NUL character")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
Whole = Annotated[int, BeforeValidator(_whole)]
Text = Annotated[str, AfterValidator(_encodable)]
IsoMoment = Annotated[AwareDatetime, BeforeValidator(_iso_moment)]


class Closed(BaseModel):
    """A request body: strict types (no "1" for 1, no 0 for a date) and no properties beyond the declared."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Reason(BaseModel):
    code: str = Field(description="Machine-readable reason, e.g. missing_field, consent_missing, role_not_allowed")
    kind: str = Field(description="state, role, field, guard, consent or warning")
    field: str | None = Field(None, description="The input field the reason is about, if any")
    message: str = Field(description="The reason in the caller's language (Accept-Language: sv or en)")


class Problem(BaseModel):
    """An error, as RFC 9457 problem details (media type application/problem+json)."""

    type: str = Field(description="urn:vidoro:problem:<code>")
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    code: str = Field(description="Stable machine-readable code: token-refused, role-not-allowed, not-found, "
                                  "stale-version, invalid-input, transition-not-allowed, guard-failed, "
                                  "consent-missing, unknown-trigger, idempotency-key-reused, disclosure-refused, "
                                  "throttled, internal-error")
    instance: str | None = None
    reasons: list[Reason] | None = Field(None, description="Every reason a request was refused, when known")
    current_version: int | None = Field(None, description="With stale-version: the case's version now")


# --- paths and headers -------------------------------------------------------------------------------------


class CasePath(BaseModel):
    ref: str = Field(pattern=_REF, description="The case's pseudonym")


_ID = r"^[0-9a-f-]{1,36}$"  # a UUID, as the server makes them


class ConsentPath(CasePath):
    consent_id: str = Field(pattern=_ID)


class PacketPath(BaseModel):
    packet_id: str = Field(pattern=_ID)


class TokenPath(BaseModel):
    token_id: str = Field(pattern=_ID)


class LogPath(BaseModel):
    log: Literal["transitions", "access"]


class IdempotencyHeader(BaseModel):
    idempotency_key: str = Field(alias="Idempotency-Key", min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$",
                                 description="A new random key (a UUID) per intended change; repeat it, "
                                             "with the same request, to retry safely")


class InclusionQuery(BaseModel):
    entry: int = Field(ge=1, description="The entry's sequence number (1-based)")
    size: int | None = Field(None, ge=1, description="The tree size to prove against (default: the latest)")


class ConsistencyQuery(BaseModel):
    from_size: int = Field(alias="from", ge=1, description="The older tree size")
    to_size: int | None = Field(None, alias="to", ge=1, description="The newer tree size (default: the latest)")


# --- answers -----------------------------------------------------------------------------------------------


class Registered(BaseModel):
    ref: str
    state: str
    version: int


class Changed(BaseModel):
    ref: str
    state: str
    version: int = Field(description="Send this as expected_version with the next change")
    seq: int | None = Field(description="The transition's entry in the transition log, if one was written")
    warnings: list[Reason] = []


class ConsentRecorded(BaseModel):
    ref: str
    consent_id: str
    version: int


class CaseSummary(BaseModel):
    ref: str
    state: str
    received_at: datetime
    acute_danger: bool
    deadline: str | None = Field(description="The running deadline due first")
    due_on: date | None
    overdue: bool
    soon: bool


class CaseList(BaseModel):
    items: list[CaseSummary]
    page: int
    per_page: int
    has_next: bool


class Person(BaseModel):
    identity_number: str | None
    given_name: str | None
    family_name: str | None
    birth_date: str | None


class Consent(BaseModel):
    id: str
    given_by: str
    purposes: list[str]
    recipients: list[str]
    data_categories: list[str]
    method: str
    valid_from: date
    valid_until: date | None
    status: str
    withdrawn_at: datetime | None
    evidence: str | None
    withdrawal_reason: str | None


class JournalEntry(BaseModel):
    seq: int
    at: datetime
    trigger: str
    from_state: str | None
    to_state: str
    fields: dict[str, Any]


class CaseRecord(BaseModel):
    """A case opened for its reader; the read is written to the access log."""

    ref: str
    state: str
    version: int
    ground: str = Field(description="Why the reader may see it: intake, assigned, decider, …")
    received_at: datetime
    reporter_org: str
    acute_danger: bool
    erased: bool
    person: Person | None
    concern: str | None
    consents: list[Consent]
    journal: list[JournalEntry]


class Option(BaseModel):
    trigger: str
    label: str
    allowed: bool
    requires: list[str]
    reasons: list[Reason] = Field(description="Why it is refused now (empty when allowed)")
    warnings: list[Reason]


class Options(BaseModel):
    ref: str
    version: int
    triggers: list[Option]


class ReferralSummary(BaseModel):
    packet_id: str
    ref: str
    purpose: str
    data_categories: list[str]
    shared_at: datetime


class ReferralList(BaseModel):
    items: list[ReferralSummary]


class ReferralPacket(BaseModel):
    ref: str
    recipient: str
    purpose: str
    ground: str
    data_categories: list[str]
    data: dict[str, Any]


class Checkpoint(BaseModel):
    log: str
    size: int
    root_hash: str = Field(description="base64")
    issued_at: datetime
    note: str = Field(description="The signed note (C2SP tlog-checkpoint), verifiable with the log's public key")


class InclusionProof(BaseModel):
    log: str
    entry: int
    size: int
    leaf_hash: str = Field(description="base64")
    root_hash: str = Field(description="base64")
    path: list[str] = Field(description="base64 hashes, RFC 9162 §2.1.3")


class ConsistencyProof(BaseModel):
    log: str
    from_size: int
    to_size: int
    from_root: str = Field(description="base64")
    to_root: str = Field(description="base64")
    path: list[str] = Field(description="base64 hashes, RFC 9162 §2.1.4")


class Me(BaseModel):
    username: str
    display_name: str
    role: str
    unit: str | None


class ApiTokenInfo(BaseModel):
    id: str
    name: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    active: bool


class TokenList(BaseModel):
    items: list[ApiTokenInfo]


# --- bodies that name the flowchart's codes -----------------------------------------------------------------


_BUILT: dict[str, SimpleNamespace] = {}


def flowchart_models(chart: Flowchart) -> SimpleNamespace:
    """Request models whose codes are the flowchart's: built once per flowchart version."""
    if chart.version not in _BUILT:
        _BUILT[chart.version] = _build(chart)
    return _BUILT[chart.version]


def _build(chart: Flowchart) -> SimpleNamespace:
    vocab = chart.vocabularies

    def one_of(name: str) -> Any:
        return Literal[tuple(sorted(vocab[name]))]

    states = Literal[tuple(sorted(chart.states))]
    triggers = Literal[tuple(sorted(chart.triggers))]

    def text() -> tuple[Any, Any]:
        return Text, Field(min_length=1, max_length=MAX_TEXT)

    payload_fields: dict[str, Any] = {}
    for name, spec in sorted(chart.fields.items()):
        kind = {"text": Text, "date": IsoDate, "code": one_of(spec.vocabulary) if spec.kind == "code" else str,
                "codes": list[one_of(spec.vocabulary)] if spec.kind == "codes" else str}[spec.kind]
        constraints = {"max_length": MAX_TEXT} if spec.kind == "text" else {}
        payload_fields[name] = (kind | None, Field(None, description=spec.label.en, **constraints))
    payload = create_model("TransitionFields", __base__=Closed, **payload_fields)

    transition = create_model(
        "TransitionRequest", __base__=Closed,
        trigger=(triggers, Field(description="The trigger to fire (GET …/triggers lists those allowed now)")),
        expected_version=(Whole, Field(ge=1, description="The case version the caller last saw")),
        fields=(payload, Field(default_factory=payload, description="What the trigger requires")),
    )
    concern = create_model(
        "ConcernRequest", __base__=Closed,
        concern=text(),
        reporter_org=(one_of("reporter_orgs"), ...),
        identity_number=(str | None, Field(None, pattern=_IDENTITY, description="Personnummer or "
                                           "samordningsnummer; or give birth_date")),
        birth_date=(IsoDate | None, None),
        given_name=(Text | None, Field(None, max_length=200)),
        family_name=(Text | None, Field(None, max_length=200)),
        acute_danger=(bool, False),
        police_contacted_at=(IsoMoment | None, None),
        received_at=(IsoMoment | None, Field(None, description="When the concern was received (default: now)")),
    )
    consent = create_model(
        "ConsentRequest", __base__=Closed,
        expected_version=(Whole, Field(ge=1)),
        given_by=(one_of("consent_givers"), ...),
        purposes=(list[one_of("purposes")], Field(min_length=1)),
        recipients=(list[one_of("recipients")], Field(min_length=1)),
        data_categories=(list[one_of("data_categories")], Field(min_length=1)),
        method=(one_of("consent_methods"), ...),
        evidence=text(),
        valid_from=(IsoDate, ...),
        valid_until=(IsoDate | None, None),
        status=(Literal["given", "refused"], "given"),
    )
    withdrawal = create_model("WithdrawalRequest", __base__=Closed, expected_version=(Whole, Field(ge=1)),
                              reason=text())
    case_query = create_model(
        "CaseListQuery",
        state=(states | None, None),
        due_by=(IsoDate | None, Field(None, description="Only cases whose first running deadline is due by then")),
        page=(int, Field(1, ge=1, le=100_000)),
        per_page=(int, Field(50, ge=1, le=200)),
    )
    return SimpleNamespace(transition=transition, concern=concern, consent=consent, withdrawal=withdrawal,
                           case_query=case_query)
