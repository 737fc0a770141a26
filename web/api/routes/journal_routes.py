"""A case's journal over JSON: the timeline (transitions and notes), writing a draft note or a correction, and
signing a draft. Each calls the one operation of `cases.journal` the pages call, with the same checks; every
change takes an Idempotency-Key. Notes do not move the case's version, so no expected_version is sent.
"""


from datetime import date, datetime
from typing import Any, Literal

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field, create_model

from cases.flowcharts import chart_of
from cases.journal import NoteForm, NoteItem, correct_note, read_journal, sign_note, write_note
from policies.journal import NOTE_MAX_CHARS, NOTE_ROLES, load_journal
from web.api import schemas as s
from web.api.bodies import Closed, IsoDate, Text
from web.api.problems import language, responses
from web.api.support import account, db, json_response, once, roles
from web.clock import now
from web.journal import step_name

__all__ = ["NotePath", "Timeline", "TimelineNote", "TimelineStep", "blueprint"]

TAG = Tag(name="journal", description="A case's journal: its transitions and its notes, as one timeline")
_ID = r"^[0-9a-f-]{1,36}$"


class NotePath(s.CasePath):
    note_id: str = Field(pattern=_ID)


class TimelineStep(BaseModel):
    type: Literal["step"] = "step"
    seq: int = Field(description="The transition's entry in the transition log")
    at: datetime
    trigger: str
    step: str = Field(description="The step's name from the flowchart, in the caller's language")
    from_state: str | None
    to_state: str
    actor_id: str
    actor_name: str | None
    role: str


class TimelineNote(BaseModel):
    type: Literal["note"] = "note"
    note_id: str
    at: datetime = Field(description="When the note was written")
    kind: str
    kind_label: str = Field(description="The kind in the caller's language")
    occurred_on: date = Field(description="The date of what happened")
    text: str | None = Field(description="The note; null once the case is erased")
    author_id: str
    author_name: str | None
    author_role: str
    signed: bool
    signed_at: datetime | None
    corrects: str | None = Field(description="The note this one corrects, if it is a correction")
    corrected_by: list[str] = Field(description="The signed corrections of this note")


class Timeline(BaseModel):
    ref: str
    erased: bool
    items: list[TimelineStep | TimelineNote] = Field(description="Newest first")


class SignatureRequest(Closed):
    """Signing takes nothing but the note (in the path): send an empty object, `{}`."""


class NoteChanged(BaseModel):
    ref: str
    note_id: str
    signed: bool
    seq: int = Field(description="The change's entry in the journal log")


def blueprint(security: list[dict[str, list[str]]]) -> APIBlueprint:
    """The journal endpoints; the note's kinds are the codes of `policies/journal.toml`."""
    kinds: Any = Literal[tuple(sorted(load_journal().kinds))]
    note_body = create_model(
        "NoteRequest", __base__=Closed,
        kind=(kinds, Field(description="The kind of note")),
        occurred_on=(IsoDate, Field(description="The date of what happened (YYYY-MM-DD), not in the future")),
        text=(Text, Field(min_length=1, max_length=NOTE_MAX_CHARS)),
        corrects=(str | None, Field(None, pattern=_ID, description=(
            "The id of a signed note: this note is then a signed correction of it (both stay in the journal)"))),
    )
    api = APIBlueprint("api_journal", __name__, abp_tags=[TAG], abp_security=security,
                       abp_responses=responses(400, 401, 403, 422, 429))
    note_roles = sorted(NOTE_ROLES)

    @api.get("/cases/<ref>/journal", summary="The case's journal: transitions and notes, newest first (logged)",
             operation_id="readJournal", responses={200: Timeline, **responses(404, 422)})
    @roles(*note_roles)
    def journal(path: s.CasePath):
        lang = language()
        found = read_journal(db(), account().actor, path.ref, now=now())
        charts: dict[str, Any] = {}
        words = load_journal().kinds
        items: list[TimelineStep | TimelineNote] = []
        for item in found.items:
            if isinstance(item, NoteItem):
                items.append(TimelineNote(
                    note_id=item.id, at=item.at, kind=item.note_kind,
                    kind_label=words[item.note_kind](lang) if item.note_kind in words else item.note_kind,
                    occurred_on=item.occurred_on, text=item.text, author_id=item.author_id,
                    author_name=item.author_name, author_role=item.author_role, signed=item.signed,
                    signed_at=item.signed_at, corrects=item.corrects, corrected_by=list(item.corrected_by)))
            else:
                chart = charts.get(item.flowchart_version) or chart_of(db(), item.flowchart_version)
                charts[item.flowchart_version] = chart
                name = step_name(chart, item.trigger, item.from_state, item.to_state, lang)
                items.append(TimelineStep(seq=item.seq, at=item.at, trigger=item.trigger, step=name,
                                          from_state=item.from_state, to_state=item.to_state,
                                          actor_id=item.actor_id, actor_name=item.actor_name, role=item.role))
        return json_response(Timeline(ref=found.ref, erased=found.erased, items=items),
                             headers={"Cache-Control": "no-store"})

    @api.post("/cases/<ref>/notes", summary="Write a draft note, or a signed correction of a signed note",
              operation_id="writeNote", responses={201: NoteChanged, **responses(404, 409, 422)})
    @roles(*note_roles)
    def write(path: s.CasePath, body: note_body, header: s.IdempotencyHeader):  # type: ignore[valid-type]
        values = body.model_dump()  # type: ignore[attr-defined]
        form = NoteForm(kind=values["kind"], occurred_on=values["occurred_on"], text=values["text"],
                        corrects=values["corrects"])

        def render(done) -> tuple[int, dict[str, Any]]:
            return 201, NoteChanged(ref=done.ref, note_id=done.note_id, signed=done.signed, seq=done.seq).model_dump()

        request = {"op": "note", "ref": path.ref, **body.model_dump(mode="json")}  # type: ignore[attr-defined]
        return once(header.idempotency_key, request, render,
                    lambda claim: (correct_note if form.corrects else write_note)(db(), account().actor, path.ref,
                                                                                  form, now=now(), claim=claim))

    @api.post("/cases/<ref>/notes/<note_id>/signature", summary="Sign your draft note: it never changes after",
              operation_id="signNote", responses={200: NoteChanged, **responses(404, 409, 422)})
    @roles(*note_roles)
    def sign(path: NotePath, body: SignatureRequest, header: s.IdempotencyHeader):
        def render(done) -> tuple[int, dict[str, Any]]:
            return 200, NoteChanged(ref=done.ref, note_id=done.note_id, signed=done.signed, seq=done.seq).model_dump()

        return once(header.idempotency_key, {"op": "sign", "ref": path.ref, "note": path.note_id}, render,
                    lambda claim: sign_note(db(), account().actor, path.ref, path.note_id, now=now(), claim=claim))

    return api
