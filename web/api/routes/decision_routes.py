"""Decisions over JSON: a case's decisions, a decision's letter as PDF (a logged read), and recording that the
person was told of a decision. Each calls the operation of `cases.decisions` the pages call, with its checks:
deny by default, a ground on the decision's case, the case version for a change, an Idempotency-Key."""


from datetime import date, datetime
from typing import Any, Literal

from flask import Response, current_app
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field, create_model

from cases.decisions import NotificationForm, case_decisions, decision_letter, record_notification
from policies.access import CASE_READING_ROLES
from policies.decisions import Decisions, load_decisions
from policies.law import load_law
from web.api import schemas as s
from web.api.bodies import Closed, IsoDate, Whole
from web.api.problems import language, responses
from web.api.support import account, db, json_response, once, roles
from web.clock import now

__all__ = ["blueprint"]

TAG = Tag(name="decisions", description="Formal decisions, their letters and the notification of the person")
PDF = "application/pdf"
_ID = r"^[0-9a-f-]{1,36}$"


class DecisionPath(BaseModel):
    decision_id: str = Field(pattern=_ID, description="The decision's id")


class Notice(BaseModel):
    recipient: str = Field(description="Who was told: person or guardians")
    method: str = Field(description="How: letter, in_person, digital or phone")
    notified_on: date
    recorded_by: str = Field(description="The staff id of who recorded it")


class DecisionItem(BaseModel):
    id: str
    ref: str
    trigger: str
    kind: str = Field(description="The kind's code in policies/decisions.toml")
    kind_label: str = Field(description="The kind in the caller's language")
    provision: str = Field(description="The provision's key in policies/law.toml")
    citation: str = Field(description="The provision cited in Swedish form")
    appealable: bool
    decided_at: datetime
    decided_by: str = Field(description="The decision maker's staff id")
    role: str
    delegation: str = Field(description="The delegation the decision maker's role holds for this kind")
    notifications: list[Notice]


class DecisionList(BaseModel):
    ref: str
    items: list[DecisionItem]


class NotificationRecorded(BaseModel):
    decision_id: str
    ref: str
    version: int = Field(description="Send this as expected_version with the next change")
    seq: int = Field(description="The notification's entry in the transition log")


def _one_of(codes: Any) -> Any:
    """A `Literal` of codes known only at run time: a type to pydantic, a plain value to mypy."""
    return Literal[tuple(sorted(codes))]


def _notification_body(policy: Decisions) -> Any:
    """The request body, its codes those of policies/decisions.toml."""
    return create_model(
        "NotificationRequest", __base__=Closed,
        recipient=(_one_of(policy.recipients), Field(description="Who was told")),
        method=(_one_of(policy.methods), Field(description="How they were told")),
        notified_on=(IsoDate, Field(description="The day they were told (YYYY-MM-DD)")),
        expected_version=(Whole, Field(ge=1, description="The case version the caller last saw")),
    )


def blueprint(security: list[dict[str, list[str]]]) -> APIBlueprint:
    """The decision endpoints."""
    policy = load_decisions()
    body_model = _notification_body(policy)
    api = APIBlueprint("api_decisions", __name__, abp_tags=[TAG], abp_security=security,
                       abp_responses=responses(400, 401, 403, 422, 429))
    pdf_answer: Any = {"200": {"description": "The decision letter, in Swedish",
                          "content": {PDF: {"schema": {"type": "string", "format": "binary"}}}}}

    @api.get("/cases/<ref>/decisions", summary="A case's decisions (without their reasons)",
             operation_id="listDecisions", responses={200: DecisionList, **responses(404)})
    @roles(*sorted(CASE_READING_ROLES))
    def list_decisions(path: s.CasePath):
        lang, law = language(), load_law()
        items = [DecisionItem(
            id=d.id, ref=d.ref, trigger=d.trigger, kind=d.kind,
            kind_label=policy.kinds[d.kind].label(lang) if d.kind in policy.kinds else d.kind,
            provision=d.provision, citation=law[d.provision].cite() if d.provision in law else d.provision,
            appealable=d.appealable, decided_at=d.decided_at, decided_by=d.decided_by, role=d.role,
            delegation=d.delegation,
            notifications=[Notice(recipient=n.recipient, method=n.method, notified_on=n.notified_on,
                                  recorded_by=n.recorded_by) for n in d.notices],
        ) for d in case_decisions(db(), account().actor, path.ref)]
        return json_response(DecisionList(ref=path.ref, items=items), headers={"Cache-Control": "no-store"})

    @api.get("/decisions/<decision_id>/letter", summary="The decision letter as PDF (logged in the access log)",
             operation_id="readDecisionLetter", responses={**pdf_answer, **responses(404)})
    @roles(*sorted(CASE_READING_ROLES))
    def letter(path: DecisionPath):
        made = decision_letter(db(), account().actor, path.decision_id,
                               municipality=current_app.config["VIDORO_MUNICIPALITY"], now=now())
        return Response(made.pdf, mimetype=PDF, headers={
            "Content-Disposition": f'inline; filename="{made.filename}"', "Cache-Control": "no-store"})

    @api.post("/decisions/<decision_id>/notifications", summary="Record that the person was told of a decision",
              operation_id="recordNotification",
              responses={201: NotificationRecorded, **responses(404, 409, 422)})
    @roles(*sorted(policy.notifying_roles))
    def notify(path: DecisionPath, body: body_model, header: s.IdempotencyHeader):  # type: ignore[valid-type]
        sent: Any = body  # a model built at run time (`_notification_body`): no static type names it
        form = NotificationForm(sent.recipient, sent.method, sent.notified_on)

        def render(done) -> tuple[int, dict[str, Any]]:
            return 201, NotificationRecorded(decision_id=done.decision_id, ref=done.ref, version=done.version,
                                             seq=done.seq).model_dump()

        request = {"op": "notify", "decision": path.decision_id, **sent.model_dump(mode="json")}
        return once(header.idempotency_key, request, render,
                    lambda claim: record_notification(db(), account().actor, path.decision_id, form,
                                                      expected_version=sent.expected_version, now=now(),
                                                      claim=claim))

    return api
