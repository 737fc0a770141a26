"""A relative told that support exists, over JSON (issue 18 item 2): recorded on the subject's case, and the
relative's own matter opened if they want support. Calls `cases.relatives.inform_relative`, the operation the
page calls, with the same checks; the change takes the version the caller last saw and an Idempotency-Key."""


from types import SimpleNamespace
from typing import Any, Literal

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field, create_model

from cases.casework.forms import MAX_APPROXIMATE_AGE
from cases.flowcharts import RELATIVE, current_engine
from cases.relatives import RELATIONSHIPS, RelativeForm, inform_relative
from policies.access import INFORMING_ROLES
from web.api import schemas as s
from web.api.bodies import Closed, IsoDate, Name, Whole
from web.api.problems import responses
from web.api.support import account, db, once, roles
from web.clock import now

__all__ = ["RelativeInformed", "blueprint"]

TAG = Tag(name="relatives", description="Support to a relative: the relative's own matter, linked to the case")
_IDENTITY = r"^(\d{2})?\d{6}[-+]?\d{4}$"
_ID = r"^[0-9a-f-]{1,36}$"
MAX_NAME = 200


class RelativeInformed(BaseModel):
    ref: str = Field(description="The subject's case: its state is unchanged")
    state: str
    version: int = Field(description="Send this as expected_version with the next change to the subject's case")
    seq: int = Field(description="The entry in the transition log on the subject's case (codes only, no name)")
    relative_ref: str | None = Field(description="The relative's own matter, when they want support")


def _one_of(codes: tuple[str, ...]) -> Any:
    """A `Literal` of codes known only at run time (the relative flowchart's vocabulary)."""
    return Literal[codes]


def _body() -> Any:
    relationships = tuple(sorted(current_engine(RELATIVE).chart.vocabularies[RELATIONSHIPS]))
    return create_model(
        "RelativeRequest", __base__=Closed,
        expected_version=(Whole, Field(ge=1, description="The subject's case version the caller last saw")),
        wants_support=(bool, Field(description="Whether the relative wants support (then their matter is opened)")),
        relationship=(_one_of(relationships) | None, Field(None, description=(
            "How the relative is related to the person of the case; required when they want support"))),
        identity_number=(str | None, Field(None, pattern=_IDENTITY, description=(
            "The relative's personnummer or samordningsnummer; or give birth_date or approximate_age"))),
        birth_date=(IsoDate | None, None),
        approximate_age=(Whole | None, Field(None, ge=0, le=MAX_APPROXIMATE_AGE, description=(
            "The relative's age in whole years, with a given or family name, when neither identity_number nor "
            "birth_date is known; the birth date is estimated and the identity can be completed later"))),
        given_name=(Name | None, Field(None, max_length=MAX_NAME)),
        family_name=(Name | None, Field(None, max_length=MAX_NAME)),
        caseworker_id=(str | None, Field(None, pattern=_ID, description=(
            "The caseworker the relative's matter is assigned to; left out, the calling caseworker"))),
    )


def blueprint(security: list[dict[str, list[str]]]) -> APIBlueprint:
    m = SimpleNamespace(relative=_body())  # a model built at run time: flask-openapi3 reads the annotation
    api = APIBlueprint("api_relatives", __name__, abp_tags=[TAG], abp_security=security,
                       abp_responses=responses(400, 401, 403, 422, 429))

    @api.post("/cases/<ref>/relatives", summary="Record that a relative was told support exists",
              operation_id="informRelative", responses={201: RelativeInformed, **responses(404, 409, 422)})
    @roles(*sorted(INFORMING_ROLES))
    def inform(path: s.CasePath, body: m.relative, header: s.IdempotencyHeader):  # type: ignore[name-defined]
        """The subject's case records only that a relative was told and whether they want support; a relative
        who does gets a case of their own on the relative_support flowchart, assigned and linked to this one."""
        values = body.model_dump(exclude={"expected_version"})
        form = RelativeForm(**values)

        def render(done) -> tuple[int, dict[str, Any]]:
            return 201, RelativeInformed(ref=done.ref, state=done.state, version=done.version, seq=done.seq,
                                         relative_ref=done.relative_ref).model_dump()

        request = {"op": "inform_relative", "ref": path.ref, **body.model_dump(mode="json")}
        return once(header.idempotency_key, request, render,
                    lambda claim: inform_relative(db(), account().actor, path.ref, form,
                                                  expected_version=body.expected_version, now=now(), claim=claim))

    return api
