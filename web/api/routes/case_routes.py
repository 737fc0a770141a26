"""The case operations over JSON: register a concern, list and read cases, the triggers open now, fire one,
record and withdraw consents. Each calls the one operation of `cases` the pages call, with the same checks;
every change takes the version the caller last saw and an Idempotency-Key."""


from typing import Any

from flask_openapi3 import APIBlueprint, Tag

from cases import ConcernForm, fire_trigger, record_consent, register_concern, withdraw_consent
from cases.casework.access import read_case
from cases.casework.consents import CONSENT_ROLES, ConsentForm
from cases.casework.feedback import WITHHOLDING_ROLES, withhold_feedback
from cases.casework.outline import case_outline
from cases.casework.worklist import work_list
from cases.flowcharts import RELATIVE, current_engine
from cases.links import linked_cases
from policies import Flowchart
from policies.access import CASE_READING_ROLES, SYSTEM_ROLE
from web.api import schemas as s
from web.api.bodies import flowchart_models
from web.api.problems import language, responses
from web.api.support import account, db, json_response, once, roles
from web.clock import now, today
from workflow.hearing import Assessment

__all__ = ["blueprint"]

TAG = Tag(name="cases", description="Concerns and the cases they start")


def blueprint(chart: Flowchart, security: list[dict[str, list[str]]]) -> APIBlueprint:
    """The case endpoints, with request bodies built from `chart`'s codes."""
    # The request bodies are models built from the flowchart's codes at run time (web.api.bodies): flask-openapi3
    # reads them from the views' annotations, where no static type can name them (hence the ignores below).
    m = flowchart_models(chart, current_engine(RELATIVE).chart)  # a relative's own matter moves on here too
    api = APIBlueprint("api_cases", __name__, abp_tags=[TAG], abp_security=security,
                       abp_responses=responses(400, 401, 403, 422, 429))
    firing_roles = sorted({role for t in chart.transitions for role in t.roles} - {SYSTEM_ROLE})

    @api.post("/cases", summary="Register a concern", operation_id="registerConcern",
              responses={201: s.Registered, **responses(422)})
    @roles(*sorted(chart.initial_roles))
    def register(body: m.concern, header: s.IdempotencyHeader):  # type: ignore[name-defined]
        form = ConcernForm(**body.model_dump())

        def render(fired) -> tuple[int, dict[str, Any]]:  # no `existing`: other cases about the person are secret
            return 201, s.Registered(ref=fired.ref, state=fired.state, version=fired.version).model_dump()

        return once(header.idempotency_key, {"op": "register", **body.model_dump(mode="json")}, render,
                    lambda claim: register_concern(db(), account().actor, form, now=now(), claim=claim))

    @api.get("/cases", summary="The caller's cases, nearest deadline first", operation_id="listCases",
             responses={200: s.CaseList, **responses(422)})
    @roles(*sorted(CASE_READING_ROLES))
    def list_cases(query: m.case_query):  # type: ignore[name-defined]
        found = work_list(db(), account().actor, today=today(), state=query.state, due_by=query.due_by,
                          cursor=query.cursor, per_page=query.per_page)
        items = [s.CaseSummary(ref=i.ref, state=i.state, received_at=i.received_at, acute_danger=i.acute_danger,
                               deadline=i.deadline, due_on=i.due_on, overdue=i.overdue, soon=i.soon)
                 for i in found.items]
        return json_response(s.CaseList(items=items, per_page=query.per_page, has_next=found.has_next,
                                        next_cursor=found.next_cursor, previous_cursor=found.previous_cursor))

    @api.get("/cases/<ref>", summary="Read a case (logged in the access log)", operation_id="readCase",
             responses={200: s.CaseRecord, **responses(404, 422)})
    @roles(*sorted(CASE_READING_ROLES))
    def read(path: s.CasePath):
        record = read_case(db(), account().actor, path.ref, now=now())
        person = None if record.erased else s.Person(**{k: record.person.get(k) for k in s.Person.model_fields})
        journal = [s.JournalEntry(seq=e["seq"], at=e["at"], trigger=e["trigger"], from_state=e["from"],
                                  to_state=e["to"], fields=e["fields"]) for e in record.journal]
        return json_response(s.CaseRecord(
            ref=record.ref, state=record.state, version=record.version, ground=record.ground,
            received_at=record.received_at, reporter_org=record.reporter_org, acute_danger=record.acute_danger,
            erased=record.erased, person=person, concern=record.concern,
            consents=[s.Consent(**c) for c in record.consents], journal=journal,
            links=[] if record.ground == "emergency" else [  # as the page: only on a ground of one's own
                s.CaseLink(ref=link.ref, relation=link.relation, state=link.state)
                for link in linked_cases(db(), account().actor, path.ref, now=now())],
        ), headers={"Cache-Control": "no-store"})

    @api.get("/cases/<ref>/triggers", summary="What the caller may fire now, and why not the rest",
             operation_id="listTriggers", responses={200: s.Options, **responses(404, 422)})
    @roles(*sorted(CASE_READING_ROLES))
    def triggers(path: s.CasePath):
        lang = language()
        outline = case_outline(db(), account().actor, path.ref, options=True, now=now())  # one read
        options = outline.options
        return json_response(s.Options(ref=path.ref, version=outline.version, triggers=[
            s.Option(trigger=o.trigger, label=getattr(o.label, lang, None) or str(o.label), allowed=o.allowed,
                     requires=list(o.requires), reasons=_reasons(o.refusals, lang),
                     warnings=_reasons(o.warnings, lang))
            for o in options]))

    @api.post("/cases/<ref>/transitions", summary="Fire a trigger", operation_id="fireTrigger",
              responses={200: s.Changed, **responses(404, 409, 422)})
    @roles(*firing_roles)
    def fire(path: s.CasePath, body: m.transition, header: s.IdempotencyHeader):  # type: ignore[name-defined]
        payload = body.fields.model_dump(exclude_none=True, mode="json")
        assessment = Assessment(**body.assessment.model_dump()) if body.assessment is not None else None

        def render(fired) -> tuple[int, dict[str, Any]]:
            return 200, s.Changed(ref=fired.ref, state=fired.state, version=fired.version, seq=fired.seq,
                                  warnings=_reasons(fired.warnings, language())).model_dump()

        return once(header.idempotency_key, {"op": "fire", "ref": path.ref, **body.model_dump(mode="json")}, render,
                    lambda claim: fire_trigger(db(), account().actor, path.ref, body.trigger, payload,
                                               expected_version=body.expected_version, now=now(), claim=claim,
                                               assessment=assessment))

    @api.post("/cases/<ref>/consents", summary="Record a consent (given or refused)", operation_id="recordConsent",
              responses={201: s.ConsentRecorded, **responses(404, 409, 422)})
    @roles(*sorted(CONSENT_ROLES))
    def consent(path: s.CasePath, body: m.consent, header: s.IdempotencyHeader):  # type: ignore[name-defined]
        values = body.model_dump(exclude={"expected_version"})
        form = ConsentForm(**{**values, **{k: tuple(values[k]) for k in ("purposes", "recipients",
                                                                           "data_categories")}})

        def render(done) -> tuple[int, dict[str, Any]]:
            return 201, s.ConsentRecorded(ref=path.ref, consent_id=done.id, version=done.version).model_dump()

        return once(header.idempotency_key, {"op": "consent", "ref": path.ref, **body.model_dump(mode="json")},
                    render, lambda claim: record_consent(db(), account().actor, path.ref, form,
                                                         expected_version=body.expected_version, now=now(),
                                                         claim=claim))

    @api.post("/cases/<ref>/consents/<consent_id>/withdrawal", summary="Withdraw a consent now",
              operation_id="withdrawConsent", responses={200: s.Changed, **responses(404, 409, 422)})
    @roles(*sorted(CONSENT_ROLES))
    def withdraw(path: s.ConsentPath, body: m.withdrawal, header: s.IdempotencyHeader):  # type: ignore[name-defined]
        def render(done) -> tuple[int, dict[str, Any]]:
            return 200, s.Changed(ref=path.ref, state=done.state, version=done.version, seq=done.seq).model_dump()

        request = {"op": "withdraw", "ref": path.ref, "consent": path.consent_id, **body.model_dump(mode="json")}
        return once(header.idempotency_key, request, render,
                    lambda claim: withdraw_consent(db(), account().actor, path.ref, path.consent_id, body.reason,
                                                   expected_version=body.expected_version, now=now(),
                                                   claim=claim))

    @api.post("/cases/<ref>/feedback-withholding", summary="Decide not to give the reporter feedback",
              operation_id="withholdFeedback", responses={200: s.Changed, **responses(404, 409, 422)})
    @roles(*sorted(WITHHOLDING_ROLES))
    def withhold(path: s.CasePath, body: m.withdrawal, header: s.IdempotencyHeader):  # type: ignore[name-defined]
        """Where feedback to the reporter would be inappropriate, record that none is given, with a reason
        (sealed); the reporter then sees only that the concern was received (`cases.casework.feedback`).
        The body is the same as a withdrawal's: the version last seen and the reason."""
        def render(done) -> tuple[int, dict[str, Any]]:
            return 200, s.Changed(ref=done.ref, state=done.state, version=done.version, seq=done.seq).model_dump()

        request = {"op": "withhold_feedback", "ref": path.ref, **body.model_dump(mode="json")}
        return once(header.idempotency_key, request, render,
                    lambda claim: withhold_feedback(db(), account().actor, path.ref, body.reason,
                                                    expected_version=body.expected_version, now=now(),
                                                    claim=claim))

    return api


def _reasons(refusals, lang: str) -> list[s.Reason]:
    return [s.Reason(code=r.code, kind=r.kind, field=r.field_name, message=r.text(lang)) for r in refusals]

