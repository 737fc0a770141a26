"""Interventions over JSON: a case's interventions, proposing one, reading one, the steps open now and firing one.

Each calls the operation of `cases.interventions` the pages call, with its checks: deny by default, a ground on the
intervention's case, the version the caller last saw (the case's to propose, the intervention's own for a step)
and an Idempotency-Key, exactly as the case's transitions (`web.api.routes.case_routes`). The request bodies take the
codes of the flowchart new cases start on (its `[interventions]` section); a flowchart without one has no
intervention routes.
"""


from datetime import datetime
from types import SimpleNamespace
from typing import Any, Optional

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field, create_model

from cases.interventions import (
    InterventionForm,
    fire_intervention,
    intervention,
    intervention_options,
    interventions_of,
    propose_intervention,
)
from policies import Flowchart
from policies.access import CASE_READING_ROLES, SYSTEM_ROLE
from web.api import schemas as s
from web.api.bodies import Closed, Text, Whole, _list_of, _literal
from web.api.problems import language, responses
from web.api.support import account, db, json_response, once, roles
from web.clock import now
from workflow.fields import MAX_TEXT

__all__ = ["blueprint"]

TAG = Tag(name="interventions", description="Interventions (SIG, exit support, other): records of their own, "
                                            "several running at once")
_ID = r"^[0-9a-f-]{1,36}$"
_OPTIONAL_TEXT: Any = Optional[Text]  # noqa: UP045 - a value here, not an annotation


class InterventionPath(BaseModel):
    intervention_id: str = Field(pattern=_ID, description="The intervention's id")


class Intervention(BaseModel):
    id: str
    ref: str = Field(description="The pseudonym of the case it belongs to")
    kind: str = Field(description="The kind's code (the flowchart's [interventions.kinds])")
    kind_label: str = Field(description="The kind in the caller's language")
    state: str = Field(description="proposed, decided, running or ended (the flowchart's lifecycle)")
    state_label: str = Field(description="The state in the caller's language")
    version: int = Field(description="Send this as expected_version with the intervention's next step")
    origin: str | None = Field(description="Where it came from, e.g. police_exit_programme; null if proposed here")
    recipients: list[str]
    data_categories: list[str]
    proposed_at: datetime
    proposed_by: str | None = Field(description="The staff id of who proposed it")
    decided_at: datetime | None = None
    decision_id: str | None = Field(None, description="The decision record of granting or declining it")
    started_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str | None = Field(None, description="Why it ended (the end_reasons vocabulary), or null")
    end_reason_label: str | None = Field(None, description="The end reason in the caller's language")
    covering_consent_ids: list[str] = Field(description="The consents that cover it now")


class InterventionList(BaseModel):
    ref: str
    items: list[Intervention]


class InterventionChanged(BaseModel):
    id: str = Field(description="The intervention's id")
    state: str
    version: int = Field(description="Send this as expected_version with the intervention's next step")
    case_state: str = Field(description="The case's state after the step (interventions while any runs)")
    case_version: int = Field(description="The case's version after the step")
    seq: int | None = Field(description="The step's entry in the transition log")
    warnings: list[s.Reason] = []


class InterventionOptions(BaseModel):
    id: str
    version: int
    triggers: list[s.Option]


def _bodies(chart: Flowchart) -> SimpleNamespace:
    """The request bodies, their codes those of the chart's `[interventions]` section and vocabularies. As in
    `web.api.bodies`, they are models built at run time, which flask-openapi3 reads from the views' annotations
    where no static type can name them (hence the ignores on the views)."""
    life = chart.interventions
    assert life is not None  # noqa: S101 - the caller checks
    vocab = chart.vocabularies
    chosen = [t.trigger for t in life.transitions if not t.automatic]
    propose = create_model(
        "InterventionProposal", __base__=Closed,
        expected_version=(Whole, Field(ge=1, description="The case version the caller last saw")),
        kind=(_literal(life.kinds), Field(description="The kind of intervention")),
        goal=(Text, Field(min_length=1, max_length=MAX_TEXT, description=(
            "What the intervention is to achieve: behaviour and need, never beliefs (stored encrypted)"))),
        recipients=(_list_of(_literal(vocab["recipients"])), Field(default_factory=list, description=(
            "Who outside social services will see data, beyond what the kind itself names"))),
        data_categories=(_list_of(_literal(vocab["data_categories"])), Field(default_factory=list)),
        origin=(_literal(sorted({src for k in life.kinds.values() for src in k.referral_sources})) | None,
                Field(None, description="A referral the intervention came on, e.g. police_exit_programme")),
    )
    end_codes: Any = _literal(vocab.get("end_reasons", {})) | None
    fields = create_model(
        "InterventionStepFields", __base__=Closed,
        reason=(_OPTIONAL_TEXT, Field(None, max_length=MAX_TEXT, description="Why (stored encrypted)")),
        end_reason=(end_codes, Field(None, description="Why it ends")),
    )
    step = create_model(
        "InterventionStepRequest", __base__=Closed,
        trigger=(_literal(dict.fromkeys(chosen)), Field(description="The step to take (…/triggers lists them)")),
        expected_version=(Whole, Field(ge=1, description="The intervention's version the caller last saw")),
        fields=(fields, Field(default_factory=fields, description="What the step requires")),
    )
    return SimpleNamespace(propose=propose, step=step)


def blueprint(chart: Flowchart, security: list[dict[str, list[str]]]) -> APIBlueprint | None:
    """The intervention endpoints, or None for a flowchart without interventions (versions 1 and 2)."""
    life = chart.interventions
    if life is None:
        return None
    m = _bodies(chart)
    api = APIBlueprint("api_interventions", __name__, abp_tags=[TAG], abp_security=security,
                       abp_responses=responses(400, 401, 403, 422, 429))
    step_roles = sorted({r for t in life.transitions if not t.automatic for r in t.roles} - {SYSTEM_ROLE})

    @api.get("/cases/<ref>/interventions", summary="The case's interventions", operation_id="listInterventions",
             responses={200: InterventionList, **responses(404, 422)})
    @roles(*sorted(CASE_READING_ROLES))
    def list_interventions(path: s.CasePath):
        found = interventions_of(db(), account().actor, path.ref, now=now())
        return json_response(InterventionList(ref=path.ref, items=[_item(i) for i in found]),
                             headers={"Cache-Control": "no-store"})

    @api.post("/cases/<ref>/interventions", summary="Propose an intervention", operation_id="proposeIntervention",
              responses={201: InterventionChanged, **responses(404, 409, 422)})
    @roles(*sorted(life.propose_roles))
    def propose(path: s.CasePath, body: m.propose, header: s.IdempotencyHeader):  # type: ignore[name-defined]
        form = InterventionForm(kind=body.kind, goal=body.goal, recipients=tuple(body.recipients),
                                data_categories=tuple(body.data_categories), origin=body.origin)

        def render(fired) -> tuple[int, dict[str, Any]]:
            return 201, _changed(fired).model_dump(mode="json")

        request = {"op": "propose_intervention", "ref": path.ref, **body.model_dump(mode="json")}
        return once(header.idempotency_key, request, render,
                    lambda claim: propose_intervention(db(), account().actor, path.ref, form,
                                                       expected_version=body.expected_version, now=now(),
                                                       claim=claim))

    @api.get("/interventions/<intervention_id>", summary="Read an intervention", operation_id="readIntervention",
             responses={200: Intervention, **responses(404, 422)})
    @roles(*sorted(CASE_READING_ROLES))
    def read(path: InterventionPath):
        return json_response(_item(intervention(db(), account().actor, path.intervention_id, now=now())),
                             headers={"Cache-Control": "no-store"})

    @api.get("/interventions/<intervention_id>/triggers", summary="The intervention's steps open now, and why not "
             "the rest", operation_id="listInterventionTriggers",
             responses={200: InterventionOptions, **responses(404, 422)})
    @roles(*sorted(CASE_READING_ROLES))
    def triggers(path: InterventionPath):
        lang = language()
        found = intervention(db(), account().actor, path.intervention_id, now=now())
        options = intervention_options(db(), account().actor, path.intervention_id, now=now())
        return json_response(InterventionOptions(id=found.id, version=found.version, triggers=[
            s.Option(trigger=o.trigger, label=getattr(o.label, lang, None) or str(o.label), allowed=o.allowed,
                     requires=list(o.requires), reasons=_reasons(o.refusals, lang),
                     warnings=_reasons(o.warnings, lang))
            for o in options]))

    @api.post("/interventions/<intervention_id>/transitions", summary="Take a step of the intervention",
              operation_id="fireInterventionTrigger",
              responses={200: InterventionChanged, **responses(404, 409, 422)})
    @roles(*step_roles)
    def fire(path: InterventionPath, body: m.step, header: s.IdempotencyHeader):  # type: ignore[name-defined]
        payload = body.fields.model_dump(exclude_none=True, mode="json")

        def render(fired) -> tuple[int, dict[str, Any]]:
            return 200, _changed(fired).model_dump(mode="json")

        request = {"op": "fire_intervention", "id": path.intervention_id, **body.model_dump(mode="json")}
        return once(header.idempotency_key, request, render,
                    lambda claim: fire_intervention(db(), account().actor, path.intervention_id, body.trigger,
                                                    payload, expected_version=body.expected_version, now=now(),
                                                    claim=claim))

    def _item(view) -> Intervention:
        lang = language()
        vocab = chart.vocabularies.get("end_reasons", {})
        kind = life.kinds.get(view.kind)
        state = life.states.get(view.state)
        return Intervention(
            id=view.id, ref=view.case_ref, kind=view.kind, kind_label=kind.label(lang) if kind else view.kind,
            state=view.state, state_label=state.label(lang) if state else view.state, version=view.version,
            origin=view.origin, recipients=list(view.recipients), data_categories=list(view.data_categories),
            proposed_at=(view.proposed_at), proposed_by=view.proposed_by, decided_at=(view.decided_at),
            decision_id=view.decision_id, started_at=(view.started_at), ended_at=(view.ended_at),
            end_reason=view.end_reason,
            end_reason_label=vocab[view.end_reason](lang) if view.end_reason in vocab else None,
            covering_consent_ids=list(view.covering_consent_ids))

    return api


def _changed(fired) -> InterventionChanged:
    return InterventionChanged(id=fired.id, state=fired.state, version=fired.version, case_state=fired.case_state,
                               case_version=fired.case_version, seq=fired.seq,
                               warnings=_reasons(fired.warnings, language()))


def _reasons(refusals, lang: str) -> list[s.Reason]:
    return [s.Reason(code=r.code, kind=r.kind, field=r.field_name, message=r.text(lang)) for r in refusals]
