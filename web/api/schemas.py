"""The API's answers, problems, and path, query and header parameters as pydantic models: they validate what
comes in, and the OpenAPI document (JSON Schema 2020-12, as OpenAPI 3.1 uses) is generated from them by
flask-openapi3.

The request bodies, built from the flowchart's codes, are in `web.api.bodies`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = [
    "ApiTokenInfo",
    "CaseLink",
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
]

_REF = r"^VO-[0-9A-HJKMNP-TV-Z]{8}$"


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
                                  "note-signed, note-not-signed, throttled, internal-error")
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
    log: Literal["transitions", "access", "administration", "journal"]


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
    per_page: int
    has_next: bool
    next_cursor: str | None = Field(description="Pass as `cursor` for the page after this one; null on the last")
    previous_cursor: str | None = Field(
        description="Pass as `cursor` for the page before this one; null on the first")


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


class CaseLink(BaseModel):
    """A case linked to the one read, shown only to a reader with a ground on both; nothing of its content."""

    ref: str
    relation: str = Field(description="earlier, later, relative_matter or subject_case")
    state: str


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
    links: list[CaseLink] = Field(default=[], description=(
        "The linked cases the reader may also read (a ground on both): the same person's earlier or later cases, "
        "a relative's own matter opened from this case, or the case a relative's matter was opened from"))


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
