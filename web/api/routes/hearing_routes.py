"""Kommunicering and structured assessments over JSON: record a communication before a decision that goes
against the person, its answer or an exception (förvaltningslagen (2017:900) 25 §), and list them and the
assessments (each list a read of personal data, logged). Each calls the operation of `cases.hearing` the
pages call; every change takes the version the caller last saw and an Idempotency-Key."""


from datetime import date, datetime
from types import SimpleNamespace
from typing import Any, Literal

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field, create_model

from cases.hearing import CommunicationForm, read_hearing, record_answer, record_communication, record_exception
from policies.access import CASE_READING_ROLES
from policies.hearing import Hearing, load_hearing
from web.api import schemas as s
from web.api.bodies import Closed, IsoDate, Text, Whole
from web.api.problems import responses
from web.api.support import account, db, json_response, once, roles
from web.clock import now
from workflow.fields import MAX_TEXT

__all__ = ["blueprint"]

TAG = Tag(name="hearing", description="Kommunicering before an adverse decision, and structured assessments")
_ID = r"^[0-9a-f-]{1,36}$"


class CommunicationPath(s.CasePath):
    communication_id: str = Field(pattern=_ID)


class CommunicationRecorded(BaseModel):
    ref: str
    communication_id: str
    version: int
    seq: int
    answer_by: date | None = None


class Communication(BaseModel):
    id: str
    kind: str = Field(description="sent, or exception")
    decision: str = Field(description="The trigger the communication prepares")
    recipients: list[str]
    method: str | None
    material: str | None
    sent_on: date | None
    answer_by: date | None = Field(description="The last day to answer")
    exception: str | None
    exception_reason: str | None
    recorded_by: str
    recorded_at: datetime
    answered_on: date | None
    answer: str | None


class CommunicationList(BaseModel):
    ref: str
    items: list[Communication]


class Assessment(BaseModel):
    id: str
    kind: str = Field(description="protection or pre_assessment")
    trigger: str
    decision: str
    assessed: str
    child_view: str | None
    not_heard_reason: str | None
    not_heard_detail: str | None
    recorded_by: str
    recorded_at: datetime


class AssessmentList(BaseModel):
    ref: str
    items: list[Assessment]


def blueprint(security: list[dict[str, list[str]]]) -> APIBlueprint:
    """The endpoints, with request bodies built from the codes of policies/hearing.toml."""
    hearing = load_hearing()
    m = _bodies(hearing)
    api = APIBlueprint("api_hearing", __name__, abp_tags=[TAG], abp_security=security,
                       abp_responses=responses(400, 401, 403, 422, 429))
    writers = sorted(hearing.roles)

    @api.get("/cases/<ref>/communications", summary="The communications of a case (logged in the access log)",
             operation_id="listCommunications", responses={200: CommunicationList, **responses(404, 422)})
    @roles(*sorted(CASE_READING_ROLES))
    def communications(path: s.CasePath):
        seen = read_hearing(db(), account().actor, path.ref, now=now())
        items = [Communication(**{**vars(c), "recipients": list(c.recipients)}) for c in seen.communications]
        return json_response(CommunicationList(ref=seen.ref, items=items), headers={"Cache-Control": "no-store"})

    @api.get("/cases/<ref>/assessments", summary="The structured assessments of a case (logged in the access log)",
             operation_id="listAssessments", responses={200: AssessmentList, **responses(404, 422)})
    @roles(*sorted(CASE_READING_ROLES))
    def assessments(path: s.CasePath):
        seen = read_hearing(db(), account().actor, path.ref, now=now())
        items = [Assessment(**vars(a)) for a in seen.assessments]
        return json_response(AssessmentList(ref=seen.ref, items=items), headers={"Cache-Control": "no-store"})

    @api.post("/cases/<ref>/communications", summary="Record a communication before an adverse decision",
              operation_id="recordCommunication",
              responses={201: CommunicationRecorded, **responses(404, 409, 422)})
    @roles(*writers)
    def communicate(path: s.CasePath, body: m.communication, header: s.IdempotencyHeader):  # type: ignore[name-defined]
        values = body.model_dump(exclude={"expected_version"})
        form = CommunicationForm(**{**values, "recipients": tuple(values["recipients"])})
        request = {"op": "communicate", "ref": path.ref, **body.model_dump(mode="json")}
        return once(header.idempotency_key, request, _created,
                    lambda claim: record_communication(db(), account().actor, path.ref, form,
                                                       expected_version=body.expected_version, now=now(),
                                                       claim=claim))

    @api.post("/cases/<ref>/communications/<communication_id>/answer", summary="Record the answer to a communication",
              operation_id="recordAnswer", responses={200: CommunicationRecorded, **responses(404, 409, 422)})
    @roles(*writers)
    def answer(path: CommunicationPath, body: m.answer, header: s.IdempotencyHeader):  # type: ignore[name-defined]
        request = {"op": "answer", "ref": path.ref, "communication": path.communication_id,
                   **body.model_dump(mode="json")}
        return once(header.idempotency_key, request, _changed,
                    lambda claim: record_answer(db(), account().actor, path.ref, path.communication_id,
                                                body.answer, body.answered_on, expected_version=body.expected_version,
                                                now=now(), claim=claim))

    @api.post("/cases/<ref>/communication-exceptions", summary="Record why the material is not communicated",
              operation_id="recordCommunicationException",
              responses={201: CommunicationRecorded, **responses(404, 409, 422)})
    @roles(*writers)
    def exception(path: s.CasePath, body: m.exception, header: s.IdempotencyHeader):  # type: ignore[name-defined]
        request = {"op": "communication_exception", "ref": path.ref, **body.model_dump(mode="json")}
        return once(header.idempotency_key, request, _created,
                    lambda claim: record_exception(db(), account().actor, path.ref, body.decision, body.exception,
                                                   body.reason, expected_version=body.expected_version, now=now(),
                                                   claim=claim))

    return api


def _recorded(done) -> dict[str, Any]:
    return CommunicationRecorded(ref=done.ref, communication_id=done.id, version=done.version, seq=done.seq,
                                 answer_by=done.answer_by).model_dump(mode="json")


def _created(done) -> tuple[int, dict[str, Any]]:
    return 201, _recorded(done)


def _changed(done) -> tuple[int, dict[str, Any]]:
    return 200, _recorded(done)


def _list_of(item: Any) -> Any:
    """`list[item]` for an item type built at run time."""
    return list[item]


def _bodies(hearing: Hearing) -> SimpleNamespace:
    def one_of(codes) -> Any:  # a `Literal` of codes known only at run time
        return Literal[tuple(sorted(codes))]

    def text() -> tuple[Any, Any]:
        return Text, Field(min_length=1, max_length=MAX_TEXT)

    decisions = one_of(hearing.adverse)
    communication = create_model(
        "CommunicationRequest", __base__=Closed,
        expected_version=(Whole, Field(ge=1, description="The case version the caller last saw")),
        decision=(decisions, Field(description="The decision that goes against the person, as its trigger")),
        recipients=(_list_of(one_of(hearing.recipients)), Field(min_length=1)),
        method=(one_of(hearing.methods), ...),
        material=text(),
        sent_on=(IsoDate, ...),
        answer_by=(IsoDate | None, Field(None, description=(
            f"The last day to answer; left out, {hearing.default_answer_days} days after sent_on"))),
    )
    answer = create_model("AnswerRequest", __base__=Closed, expected_version=(Whole, Field(ge=1)),
                          answer=text(), answered_on=(IsoDate, ...))
    exception = create_model("CommunicationExceptionRequest", __base__=Closed,
                             expected_version=(Whole, Field(ge=1)), decision=(decisions, ...),
                             exception=(one_of(hearing.exceptions), ...), reason=text())
    return SimpleNamespace(communication=communication, answer=answer, exception=exception)
