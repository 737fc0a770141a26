"""Flags on a case over JSON: list a case's flags with their routines (a read of the reasons, logged), set one,
clear one (`cases.flags`). Each calls the operation the pages call; every change takes the version the caller
last saw and an Idempotency-Key. Reporters and partners are refused: a flag is sensitive data about the case."""


from datetime import datetime
from types import SimpleNamespace
from typing import Any, Literal

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field, create_model

from cases.flags import case_flags, clear_flag, set_flag
from policies.flags import FLAG_READING_ROLES, Flags, load_flags
from web.api import schemas as s
from web.api.bodies import Closed, Text, Whole
from web.api.problems import language, responses
from web.api.support import account, db, json_response, once, roles
from web.clock import now
from workflow.fields import MAX_TEXT

__all__ = ["blueprint"]

TAG = Tag(name="flags", description="Flags that change a case's route: violence in close relationships, "
                                    "honour-related violence")


class FlagPath(s.CasePath):
    flag: str = Field(pattern=r"^[a-z_]{1,32}$", description="The flag's code (policies/flags.toml)")


class FlagChanged(BaseModel):
    ref: str
    flag: str
    state: str
    version: int = Field(description="Send this as expected_version with the next change")
    seq: int = Field(description="The entry in the transition log (beside the flowchart's steps)")


class CaseFlag(BaseModel):
    id: str
    flag: str = Field(description="The flag's code")
    label: str = Field(description="The flag's name in the caller's language (Accept-Language: sv or en)")
    routine: list[str] = Field(description="The steps the flag calls for, in the caller's language")
    active: bool = Field(description="Whether the flag is on the case now")
    set_by: str
    set_at: datetime
    reason: str | None = Field(description="Why it was set; null once the case is erased")
    cleared_by: str | None
    cleared_at: datetime | None
    clear_reason: str | None


class FlagList(BaseModel):
    ref: str
    version: int
    items: list[CaseFlag]


def blueprint(security: list[dict[str, list[str]]]) -> APIBlueprint:
    """The endpoints, with the flag codes of policies/flags.toml in the request body."""
    flags = load_flags()
    m = _bodies(flags)
    api = APIBlueprint("api_flags", __name__, abp_tags=[TAG], abp_security=security,
                       abp_responses=responses(400, 401, 403, 422, 429))

    @api.get("/cases/<ref>/flags", summary="The flags of a case, with their routines (logged in the access log)",
             operation_id="listFlags", responses={200: FlagList, **responses(404, 422)})
    @roles(*sorted(FLAG_READING_ROLES))
    def listed(path: s.CasePath):
        found, lang = case_flags(db(), account().actor, path.ref, now=now()), language()
        items = [CaseFlag(
            id=i.id, flag=i.flag, label=flags[i.flag].label(lang) if i.flag in flags else i.flag,
            routine=[step(lang) for step in flags[i.flag].routine] if i.flag in flags else [], active=i.active,
            set_by=i.set_by, set_at=i.set_at, reason=i.reason, cleared_by=i.cleared_by, cleared_at=i.cleared_at,
            clear_reason=i.clear_reason) for i in found.items]
        return json_response(FlagList(ref=found.ref, version=found.version, items=items),
                             headers={"Cache-Control": "no-store"})

    @api.post("/cases/<ref>/flags", summary="Set a flag on a case", operation_id="setFlag",
              responses={201: FlagChanged, **responses(404, 409, 422)})
    @roles(*sorted({role for f in flags for role in f.set_roles}))
    def set_(path: s.CasePath, body: m.set_flag, header: s.IdempotencyHeader):  # type: ignore[name-defined]
        request = {"op": "set_flag", "ref": path.ref, **body.model_dump(mode="json")}
        return once(header.idempotency_key, request, lambda done: (201, _changed(done)),
                    lambda claim: set_flag(db(), account().actor, path.ref, body.flag, body.reason,
                                           expected_version=body.expected_version, now=now(), claim=claim))

    @api.post("/cases/<ref>/flags/<flag>/clear", summary="Clear a flag from a case (its record stays)",
              operation_id="clearFlag", responses={200: FlagChanged, **responses(404, 409, 422)})
    @roles(*sorted({role for f in flags for role in f.clear_roles}))
    def clear(path: FlagPath, body: m.clear_flag, header: s.IdempotencyHeader):  # type: ignore[name-defined]
        request = {"op": "clear_flag", "ref": path.ref, "flag": path.flag, **body.model_dump(mode="json")}
        return once(header.idempotency_key, request, lambda done: (200, _changed(done)),
                    lambda claim: clear_flag(db(), account().actor, path.ref, path.flag, body.reason,
                                             expected_version=body.expected_version, now=now(), claim=claim))

    return api


def _changed(done) -> dict[str, Any]:
    return FlagChanged(ref=done.ref, flag=done.flag, state=done.state, version=done.version,
                       seq=done.seq).model_dump(mode="json")


def _bodies(flags: Flags) -> SimpleNamespace:
    codes: Any = Literal[tuple(flags.codes())]  # a `Literal` of codes known only at run time
    reason = (Text, Field(min_length=1, max_length=MAX_TEXT, description="Why (sealed; never in a log)"))
    version = (Whole, Field(ge=1, description="The case version the caller last saw"))
    return SimpleNamespace(
        set_flag=create_model("SetFlagRequest", __base__=Closed, expected_version=version, flag=(codes, ...),
                              reason=reason),
        clear_flag=create_model("ClearFlagRequest", __base__=Closed, expected_version=version, reason=reason),
    )
