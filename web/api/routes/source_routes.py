"""Completing the identity of a person registered by name and approximate age, over JSON (issue 18).

The same operation the page calls (`cases.sources.complete_identity`), with the version the caller last saw and
an Idempotency-Key, as every change to a case takes. Registering from every source is `POST /cases`
(`web.api.routes.case_routes`), whose body carries the source, anonymity and an approximate age.
"""


from typing import Any

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field

from cases.sources import complete_identity
from policies import Flowchart
from policies.access import IDENTITY_ROLES
from web.api.bodies import flowchart_models
from web.api.problems import responses
from web.api.schemas import CasePath, IdempotencyHeader
from web.api.support import account, db, once, roles
from web.clock import now

__all__ = ["IdentityCompleted", "blueprint"]

TAG = Tag(name="cases", description="Concerns and the cases they start")


class IdentityCompleted(BaseModel):
    ref: str
    state: str
    version: int = Field(description="Send this as expected_version with the next change")
    seq: int = Field(description="The entry in the transition log (beside the steps: the state is unchanged)")
    linked: list[str] = Field(description=(
        "The same person's other cases now linked to this one: only those the caller may read"))
    stopped_deadlines: list[str] = Field(description="A child's deadlines stopped: the person is an adult")
    started_deadlines: list[str] = Field(description="A child's deadlines started from the receipt")


def blueprint(chart: Flowchart, security: list[dict[str, list[str]]]) -> APIBlueprint:
    m = flowchart_models(chart)
    api = APIBlueprint("api_sources", __name__, abp_tags=[TAG], abp_security=security,
                       abp_responses=responses(400, 401, 403, 422, 429))

    @api.post("/cases/<ref>/identity", summary="Complete the identity of the person a case is about",
              operation_id="completeIdentity", responses={200: IdentityCompleted, **responses(404, 409, 422)})
    @roles(*sorted(IDENTITY_ROLES))
    def identity(path: CasePath, body: m.identity, header: IdempotencyHeader):  # type: ignore[name-defined]
        """For a person registered without an identity number (by name and approximate age, or by birth date):
        set the number, the real birth date and the blind index, and link the same person's other cases. A
        number already known is refused (422); so is one that is not a personnummer or samordningsnummer."""
        def render(done) -> tuple[int, dict[str, Any]]:
            return 200, IdentityCompleted(ref=done.ref, state=done.state, version=done.version, seq=done.seq,
                                          linked=list(done.shown), stopped_deadlines=list(done.stopped),
                                          started_deadlines=list(done.started)).model_dump()

        request = {"op": "complete_identity", "ref": path.ref, **body.model_dump(mode="json")}
        return once(header.idempotency_key, request, render,
                    lambda claim: complete_identity(db(), account().actor, path.ref, body.identity_number,
                                                    expected_version=body.expected_version, now=now(),
                                                    claim=claim))

    return api
