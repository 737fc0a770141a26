"""Register extracts over JSON (GDPR article 15): register a person's request, read the screened draft, decide
release, and fetch the released extract as PDF. Each calls the operation of `cases.subjects` the command line
calls, with its checks (the roles of policies/subjects.toml, deny by default; a decision maker other than the
requester who has read the draft; the draft and the extract for the requester and decision makers only; nothing
delivered before release, nor once the released items changed). The identity number travels in a request body,
never in a URL, and no answer repeats it."""

from typing import Any

from flask import Response, current_app
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field

from cases.subjects import decide_extract, extract_pdf, request_extract
from policies.subjects import load_subjects
from web.api import schemas as s
from web.api.bodies import Closed, Text
from web.api.problems import responses
from web.api.support import account, db, once, roles
from web.clock import now

__all__ = ["blueprint"]

TAG = Tag(name="subjects", description="A person's register extract (GDPR article 15): screened, decided, "
                                       "delivered")
PDF = "application/pdf"


class ExtractPath(BaseModel):
    extract_id: str = Field(pattern=r"^[0-9a-f-]{1,36}$", description="The request's id")


class ExtractRequest(Closed):
    identity_number: Text = Field(min_length=1, max_length=20,
                                  description="The person's personnummer or samordningsnummer (never logged)")


class ExtractDecision(Closed):
    release: bool = Field(description="true: release the extract; false: refuse release (appealable)")
    hold_back: dict[str, str] = Field(default_factory=dict, max_length=500,
                                      description="More items to hold back: an item's key (as the draft shows "
                                                  "it) -> a reason code of policies/subjects.toml")
    release_items: list[str] = Field(default_factory=list, max_length=500,
                                     description="The free texts to release, by key (held back unless listed)")
    refusal_reason: str | None = Field(default=None, max_length=32,
                                       description="With release false: the reason's code")


class ExtractSummary(BaseModel):
    id: str
    status: str = Field(description="screened, released or refused")
    cases: int = Field(description="How many cases are in scope (the draft says which)")
    held_back: int = Field(description="How many items are held back")


def blueprint(security: list[dict[str, list[str]]]) -> APIBlueprint:
    policy = load_subjects()
    reading = sorted(policy.requesting_roles | policy.deciding_roles)
    api = APIBlueprint("api_subjects", __name__, abp_tags=[TAG], abp_security=security,
                       abp_responses=responses(400, 401, 403, 422, 429))

    def pdf_answer(what: str) -> Any:
        return {"200": {"description": what, "content": {PDF: {"schema": {"type": "string", "format": "binary"}}}}}

    def render(done) -> tuple[int, dict[str, Any]]:
        return 201 if done.status == "screened" else 200, ExtractSummary(
            id=done.id, status=done.status, cases=done.cases, held_back=len(done.held_back)).model_dump()

    @api.post("/subject-extracts", summary="Register a person's request for a register extract and screen it",
              operation_id="requestExtract", responses={201: ExtractSummary, **responses(404)})
    @roles(*sorted(policy.requesting_roles))
    def requested(body: ExtractRequest, header: s.IdempotencyHeader):
        # the idempotency record keeps the request as a keyed hash only: the number is not stored
        request = {"op": "request_extract", "identity_number": body.identity_number}
        return once(header.idempotency_key, request, render,
                    lambda claim: request_extract(db(), account().actor, body.identity_number, now=now(),
                                                  claim=claim))

    @api.get("/subject-extracts/<extract_id>/draft",
             summary="The screened draft for the decision maker, as PDF (the requester or a decision maker; "
                     "logged in the access log)",
             operation_id="readExtractDraft", responses={**pdf_answer("The draft, in Swedish"), **responses(404)})
    @roles(*reading)
    def draft(path: ExtractPath):
        return _pdf(extract_pdf(db(), account().actor, path.extract_id, draft=True, now=now(),
                                municipality=current_app.config["VIDORO_MUNICIPALITY"]), f"utkast-{path.extract_id}")

    @api.post("/subject-extracts/<extract_id>/decision", summary="Release the extract or refuse release",
              operation_id="decideExtract", responses={200: ExtractSummary, **responses(404, 409)})
    @roles(*sorted(policy.deciding_roles))
    def decided(path: ExtractPath, body: ExtractDecision, header: s.IdempotencyHeader):
        request = {"op": "decide_extract", "extract": path.extract_id, **body.model_dump(mode="json")}
        return once(header.idempotency_key, request, render,
                    lambda claim: decide_extract(db(), account().actor, path.extract_id, release=body.release,
                                                 hold_back=body.hold_back, release_items=body.release_items,
                                                 refusal_reason=body.refusal_reason,
                                                 now=now(), claim=claim))

    @api.get("/subject-extracts/<extract_id>/pdf",
             summary="The released extract as PDF (409 before release or once its items changed; logged)",
             operation_id="readExtract", responses={**pdf_answer("The extract, in Swedish"), **responses(404, 409)})
    @roles(*reading)
    def delivered(path: ExtractPath):
        return _pdf(extract_pdf(db(), account().actor, path.extract_id, now=now(),
                                municipality=current_app.config["VIDORO_MUNICIPALITY"]),
                    f"registerutdrag-{path.extract_id}")

    return api


def _pdf(made: bytes, name: str) -> Response:
    return Response(made, mimetype=PDF, headers={"Content-Disposition": f'attachment; filename="{name[:60]}.pdf"',
                                                 "Cache-Control": "no-store"})
