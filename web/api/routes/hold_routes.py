"""Legal holds over JSON: list a case's holds (a read of the reasons, logged), place one, lift it
(`cases.retention`). Each calls the operation the command line calls; every change takes an Idempotency-Key.
Only the roles policies/routines/retention.toml names get through; the operations refuse everyone else as well."""


from datetime import datetime
from typing import Any

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field

from cases.retention import case_holds, lift_hold, place_hold
from policies.routines.retention import load_retention
from web.api import schemas as s
from web.api.bodies import Closed, Text
from web.api.problems import responses
from web.api.support import account, db, json_response, once, roles
from web.clock import now
from workflow.fields import MAX_TEXT

__all__ = ["blueprint"]

TAG = Tag(name="legal holds", description="Legal holds that keep a case from thinning (gallring) until lifted")


class HoldRequest(Closed):
    reason: Text = Field(min_length=1, max_length=MAX_TEXT, description="Why (sealed; never in a log)")


class HoldChanged(BaseModel):
    ref: str
    hold_id: str
    seq: int = Field(description="The entry in the transition log (beside the flowchart's steps)")


class LegalHold(BaseModel):
    id: str
    active: bool = Field(description="Whether the hold keeps the case from thinning now")
    placed_by: str
    placed_at: datetime
    reason: str | None = Field(description="Why it was placed; null once the case is erased")
    lifted_by: str | None
    lifted_at: datetime | None
    lift_reason: str | None


class HoldList(BaseModel):
    ref: str
    items: list[LegalHold]


def blueprint(security: list[dict[str, list[str]]]) -> APIBlueprint:
    """The endpoints, for the roles of policies/routines/retention.toml [legal_holds]."""
    policy = load_retention()
    api = APIBlueprint("api_holds", __name__, abp_tags=[TAG], abp_security=security,
                       abp_responses=responses(400, 401, 403, 422, 429))

    @api.get("/cases/<ref>/legal-holds", summary="The legal holds of a case (logged in the access log)",
             operation_id="listLegalHolds", responses={200: HoldList, **responses(404, 422)})
    @roles(*sorted(policy.place_roles | policy.lift_roles))
    def listed(path: s.CasePath):
        items = [LegalHold(id=i.id, active=i.active, placed_by=i.placed_by, placed_at=i.placed_at, reason=i.reason,
                           lifted_by=i.lifted_by, lifted_at=i.lifted_at, lift_reason=i.lift_reason)
                 for i in case_holds(db(), account().actor, path.ref, now=now())]
        return json_response(HoldList(ref=path.ref, items=items), headers={"Cache-Control": "no-store"})

    @api.post("/cases/<ref>/legal-holds", summary="Place a legal hold on a case", operation_id="placeLegalHold",
              responses={201: HoldChanged, **responses(404, 409, 422)})
    @roles(*sorted(policy.place_roles))
    def place(path: s.CasePath, body: HoldRequest, header: s.IdempotencyHeader):
        request = {"op": "place_legal_hold", "ref": path.ref, **body.model_dump(mode="json")}
        return once(header.idempotency_key, request, lambda done: (201, _changed(done)),
                    lambda claim: place_hold(db(), account().actor, path.ref, body.reason, now=now(), claim=claim))

    @api.post("/cases/<ref>/legal-holds/lift", summary="Lift the legal hold on a case (its record stays)",
              operation_id="liftLegalHold", responses={200: HoldChanged, **responses(404, 409, 422)})
    @roles(*sorted(policy.lift_roles))
    def lift(path: s.CasePath, body: HoldRequest, header: s.IdempotencyHeader):
        request = {"op": "lift_legal_hold", "ref": path.ref, **body.model_dump(mode="json")}
        return once(header.idempotency_key, request, lambda done: (200, _changed(done)),
                    lambda claim: lift_hold(db(), account().actor, path.ref, body.reason, now=now(), claim=claim))

    return api


def _changed(done) -> dict[str, Any]:
    return HoldChanged(ref=done.ref, hold_id=done.hold_id, seq=done.seq).model_dump(mode="json")
