"""Interventions in the browser: the case page's section that lists them, the form that proposes one, and the
page of each step of an intervention's lifecycle (decide, decline, start, end with a reason, withdraw the
proposal).

Nothing here decides: `cases.interventions` refuses, and the lifecycle is the flowchart's own data (its
`[interventions]` section, pinned with the case's version), so a step's fields, words and refusals come from
there. A case on a version without interventions (1 and 2) has no section; its interventions are states of the
case, shown by the case page as they always were. The pages show no personal data (the goal, written when
proposing, is sealed and not shown here), so opening them is no read for the access log; they need a ground on
the case all the same, with the same 404 for an intervention that does not exist.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from cases import StaleCase
from cases.errors import AccessDenied, CaseNotFound, InvalidConcern, KeyDestroyed, NotPermitted, RecordNotFound
from cases.flowcharts import chart_of
from cases.interventions import (
    InterventionForm,
    fire_intervention,
    intervention,
    intervention_options,
    interventions_of,
    propose_intervention,
)
from web.access import page, signed_in
from web.clock import now
from web.diagram_lanes import Lane
from web.i18n import label, locale, words
from web.step_forms import field_errors, field_view, form_version, outline_or_404, refusal_text
from workflow import InvalidInput, RoleNotAllowed, TransitionRefused, UnknownTrigger

__all__ = ["bp", "case_lanes", "ending_with", "interventions_section"]

bp = Blueprint("interventions", __name__)

PROPOSAL_LABELS = {"kind": lazy_gettext("Kind of intervention"), "goal": lazy_gettext("What it is to achieve"),
                   "recipients": lazy_gettext("Further recipients of data"),
                   "data_categories": lazy_gettext("Further data that may be shared"),
                   "origin": lazy_gettext("Came on a referral from")}


def _db():
    return current_app.extensions["vidoro.db"]


# --- the case page's section ------------------------------------------------------------------------------


@bp.app_template_global()
def interventions_section(record) -> dict[str, Any] | None:
    """The case's interventions in words, with each one's steps open now and why not the others; None for a
    case whose version has no interventions, an erased case, or a reader through emergency access."""
    if record.erased or record.ground == "emergency":
        return None
    chart = chart_of(_db(), record.flowchart_version)
    life = chart.interventions
    if life is None:
        return None
    actor = signed_in().actor
    try:
        found = interventions_of(_db(), actor, record.ref, now=now())
    except (CaseNotFound, AccessDenied, NotPermitted):
        return None
    items = [_item(chart, view, _options(chart, view)) for view in found]
    referral = any(record.reporter_org in k.referral_sources for k in life.kinds.values())
    may_propose = actor.role in life.propose_roles and (
        record.state in life.propose_in or (record.state == "pre_assessment" and referral))
    return {"entries": items, "may_propose": may_propose,
            "running": sum(1 for view in found if view.state == life.running)}


def _options(chart, view) -> list:
    """The steps a person may choose (never one the operations fire themselves, such as a consent ending)."""
    life = chart.interventions
    if life.ended(view.state):
        return []
    automatic = {t.trigger for t in life.transitions if t.automatic}
    try:
        options = intervention_options(_db(), signed_in().actor, view.id, now=now())
    except (RecordNotFound, AccessDenied, NotPermitted):
        return []
    return [o for o in options if o.trigger not in automatic]


def _item(chart, view, options) -> dict[str, Any]:
    life = chart.interventions
    kind = life.kinds.get(view.kind)
    return {"view": view, "kind": label(kind.label) if kind else view.kind,
            "state": label(life.states[view.state].label) if view.state in life.states else view.state,
            "running": view.state == life.running, "ended": life.ended(view.state),
            "end_reason": words(chart, "end_reasons", view.end_reason) if view.end_reason else "",
            "origin": words(chart, "reporter_orgs", view.origin) if view.origin else "",
            "recipients": words(chart, "recipients", view.recipients),
            "consents": len(view.covering_consent_ids),
            "allowed": [o for o in options if o.allowed],
            "refused": [(label(o.label), [refusal_text(chart, r) for r in o.refusals])
                        for o in options if not o.allowed]}


@bp.app_template_global()
def ending_with(outline, consent_id: str) -> list[str]:
    """The interventions withdrawing this consent ends at once, in words, for the withdrawal page: those it covers
    now that no other consent of the same giver covers (`cases.interventions` ends exactly those no longer
    covered); empty on a version without interventions."""
    chart = chart_of(_db(), outline.flowchart_version)
    life = chart.interventions
    if life is None:
        return []
    try:
        found = interventions_of(_db(), signed_in().actor, outline.ref, now=now())
    except (CaseNotFound, AccessDenied, NotPermitted):
        return []
    giver = {c.id: c.given_by for c in outline.consents}

    def rests_on_it(view) -> bool:  # covered by it, and by no other consent of the same giver
        others = [c for c in view.covering_consent_ids if c != consent_id and giver.get(c) == giver.get(consent_id)]
        return consent_id in view.covering_consent_ids and not others

    return [_("%(kind)s (%(state)s)", kind=label(life.kinds[v.kind].label) if v.kind in life.kinds else v.kind,
              state=label(life.states[v.state].label))
            for v in found if not life.ended(v.state) and rests_on_it(v)]


def case_lanes(chart, ref: str, lang: str) -> list[Lane]:
    """The case's interventions as lanes of its picture (`web.diagram_lanes`), each with the states it passed."""
    life = chart.interventions
    if life is None:
        return []
    try:
        found = interventions_of(_db(), signed_in().actor, ref, now=now())
    except (CaseNotFound, AccessDenied, NotPermitted):
        return []
    decided = next((t.dest for t in life.transitions if t.trigger == "decide"), life.initial)
    lanes = []
    for view in found:
        passed = {life.initial: True, decided: view.decided_at is not None, life.running: view.started_at is not None}
        visited = tuple(s for s in life.states if passed.get(s) and s != view.state)
        kind = life.kinds.get(view.kind)
        lanes.append(Lane(kind.label(lang) if kind else view.kind, view.state, visited))
    return lanes


# --- proposing one ----------------------------------------------------------------------------------------


# The doors: the roles of the interventions' lifecycle (vid_oro.toml [interventions]); intake has no step in it.
# cases.interventions checks each step's roles (and who proposes: propose_roles) and refuses the others in words.
@bp.route("/cases/<ref>/interventions/new", methods=["GET", "POST"])
@page("caseworker", "decider")
def propose(ref: str):
    """Propose an intervention: its kind, what it is to achieve, and whom it shares data with beyond its kind."""
    outline = outline_or_404(ref)
    chart = chart_of(_db(), outline.flowchart_version)
    if chart.interventions is None:
        abort(404)  # a case on a version whose interventions are states of the case
    values: dict[str, Any] = {"kind": "", "goal": "", "recipients": [], "data_categories": [], "origin": ""}
    view: dict[str, Any] = {"outline": outline, "chart": chart, "version": outline.version, "stale": None,
                            "errors": {}, "refusals": []}
    if request.method == "GET":
        return _proposal_page(view, values)
    values = {name: request.form.getlist(name) if isinstance(default, list) else request.form.get(name, "").strip()
              for name, default in values.items()}
    view["version"] = form_version()
    errors = {}
    if values["kind"] not in chart.interventions.kinds:
        errors["kind"] = _("Choose the kind of intervention.")
    if not values["goal"]:
        errors["goal"] = _("Say what the intervention is to achieve.")
    if errors:
        return _proposal_page({**view, "errors": errors}, values), 400
    form = InterventionForm(kind=values["kind"], goal=values["goal"], recipients=tuple(values["recipients"]),
                            data_categories=tuple(values["data_categories"]), origin=values["origin"] or None)
    try:
        propose_intervention(_db(), signed_in().actor, ref, form, expected_version=view["version"], now=now())
    except (CaseNotFound, AccessDenied, KeyDestroyed):
        abort(404)
    except NotPermitted:
        abort(403)
    except StaleCase:
        return _proposal_page({**view, "stale": _("Someone changed this case since you opened this form. "
                                                  "Nothing was saved.")}, values), 409
    except InvalidConcern as exc:
        field = exc.field if exc.field in PROPOSAL_LABELS else "goal"
        return _proposal_page({**view, "errors": {field: exc.text(locale())}}, values), 400
    except InvalidInput as exc:
        errors, general = field_errors(chart, exc.refusals)
        return _proposal_page({**view, "errors": errors, "refusals": general}, values), 400
    except TransitionRefused as exc:
        status = 403 if isinstance(exc, RoleNotAllowed) else 422
        return _proposal_page({**view, "refusals": [refusal_text(chart, r) for r in exc.refusals]}, values), status
    flash(_("The intervention was proposed: a decision maker decides on it."), "success")
    return redirect(url_for("case_pages.case", ref=ref, _anchor="h-interventions"), code=303)


def _proposal_page(view, values):
    chart = view["chart"]
    life = chart.interventions
    vocab = chart.vocabularies
    kinds = [{"code": code, "label": label(kind.label), "purpose": words(chart, "purposes", kind.consent.purpose),
              "recipients": words(chart, "recipients", kind.consent.recipients),
              "data": words(chart, "data_categories", kind.consent.data_categories),
              "sources": words(chart, "reporter_orgs", kind.referral_sources)}
             for code, kind in life.kinds.items()]
    sources = sorted({s for k in life.kinds.values() for s in k.referral_sources})
    options = {"kind": [(k["code"], k["label"]) for k in kinds],
               "recipients": [(c, label(t)) for c, t in vocab["recipients"].items()],
               "data_categories": [(c, label(t)) for c, t in vocab["data_categories"].items()],
               "origin": [(c, label(vocab["reporter_orgs"][c])) for c in sources if c in vocab["reporter_orgs"]]}
    return render_template("interventions/propose.html", **view, values=values, kinds=kinds, options=options,
                           labels={k: str(v) for k, v in PROPOSAL_LABELS.items()})


# --- a step of one intervention ---------------------------------------------------------------------------


@bp.route("/interventions/<intervention_id>/steps/<trigger>", methods=["GET", "POST"])
@page("caseworker", "decider")  # as the proposal's door above
def step(intervention_id: str, trigger: str):
    """Offer one step of the intervention's lifecycle with the fields it requires, or say why it is not possible."""
    try:
        view = intervention(_db(), signed_in().actor, intervention_id, now=now())
        options = intervention_options(_db(), signed_in().actor, intervention_id, now=now())
    except (RecordNotFound, AccessDenied):
        abort(404)
    except NotPermitted:
        abort(403)
    outline = outline_or_404(view.case_ref)
    chart = chart_of(_db(), outline.flowchart_version)
    life = chart.interventions
    if life is None or trigger not in life.triggers:
        abort(404)
    transition = life.transition(trigger, view.state)
    shown = transition or next(t for t in life.transitions if t.trigger == trigger)
    if shown.automatic:
        abort(404)  # fired by the operations themselves (a consent ending), never from a form
    option = next((o for o in options if o.trigger == trigger), None)
    names = list(option.requires) if option else list(shown.requires)
    page_view = {"outline": outline, "chart": chart, "item": _item(chart, view, []), "trigger": trigger,
                 "step": shown, "version": view.version, "values": {}, "errors": {}, "general": [],
                 "stale": None, "fields": [field_view(chart, shown, n) for n in names if n in chart.fields],
                 "labels": {n: label(chart.fields[n].label) for n in names if n in chart.fields},
                 "meaning": _meaning(chart, shown),
                 "warnings": [w.text(locale()) for w in option.warnings] if option else []}
    if request.method == "GET":
        if option is None or not option.allowed:
            refusals = [refusal_text(chart, r) for r in option.refusals] if option else [
                _("This step cannot be taken from the state the intervention is in now.")]
            status = 403 if option is not None and any(r.kind == "role" for r in option.refusals) else 422
            return _step_page(page_view, refusals=refusals, form=False), status
        return _step_page(page_view)
    values = {n: request.form.get(n, "").strip() for n in names}
    page_view.update(values=values, version=form_version())
    try:
        fired = fire_intervention(_db(), signed_in().actor, intervention_id, trigger,
                                  {n: v for n, v in values.items() if v}, expected_version=page_view["version"],
                                  now=now())
    except (RecordNotFound, AccessDenied, UnknownTrigger):
        abort(404)
    except NotPermitted:
        abort(403)
    except StaleCase:
        page_view["stale"] = _("The intervention or its case changed since you opened this form. Nothing was saved.")
        return _step_page(page_view), 409
    except InvalidInput as exc:
        errors, general = field_errors(chart, exc.refusals)
        page_view.update(errors=errors, general=general)
        return _step_page(page_view), 400
    except TransitionRefused as exc:
        status = 403 if isinstance(exc, RoleNotAllowed) else 422
        return _step_page(page_view, refusals=[refusal_text(chart, r) for r in exc.refusals]), status
    flash(_("Done: %(step)s. The intervention is now “%(state)s”.", step=label(shown.label),
            state=label(life.states[fired.state].label)), "success")
    if fired.case_state != outline.state:
        flash(_("The case moved on to “%(state)s”.", state=label(chart.states[fired.case_state].label)), "success")
    for warning in fired.warnings:
        flash(_("Note: %(warning)s", warning=warning.text(locale())), "warning")
    return redirect(url_for("case_pages.case", ref=outline.ref, _anchor="h-interventions"), code=303)


def _step_page(view, *, refusals=(), form=True):
    return render_template("interventions/step.html", **view, refusals=list(refusals), show_form=form)


def _meaning(chart, transition) -> list[str]:
    """What the step does, in words, from the lifecycle's own data."""
    life = chart.interventions
    state = lambda name: label(life.states[name].label)  # noqa: E731
    said = [_("The intervention moves from “%(source)s” to “%(dest)s”.", source=state(transition.source),
              dest=state(transition.dest))]
    if transition.end_reason:
        said.append(_("It ends with the reason “%(reason)s”.",
                      reason=words(chart, "end_reasons", transition.end_reason)))
    if "consent" in transition.guards:
        said.append(_("It needs an active consent that covers its purpose, every recipient and the data it "
                      "shares: an adult's own; for a person under 18 the guardians' (and from 15 the person's own "
                      "where the rules say so)."))
    if transition.dest == life.running:
        said.append(_("When it is the first intervention running, the case moves to “%(state)s” and the "
                      "investigation's time limits stop. Partners named as recipients get a referral packet "
                      "with only the data the consent covers.", state=label(chart.states[_case_state(chart)].label)))
    if transition.source == life.running and life.ended(transition.dest):
        said.append(_("When it is the last intervention running, the case moves on to follow-up; its referral "
                      "packet closes."))
    return said


def _case_state(chart) -> str:
    """The case's state while interventions run: where the case's `begin` step leads."""
    life = chart.interventions
    return next(t.dest for t in chart.transitions if t.trigger == life.begin)
