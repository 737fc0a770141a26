"""What staff do to a case in the browser: fire a step of the flowchart, record or withdraw a consent,
assign a caseworker, and see the case's path drawn on the flowchart.

Each form is built from the flowchart the case runs on (the fields a step requires, their kinds and
vocabularies) and every decision is the server's: the pages ask `cases` and show what it answers. None of
these pages shows personal data, so opening them is no read for the access log; they use the case's
outline (`cases.casework.outline`), which is refused to anyone without a ground on the case, with the same 404 for a
case that does not exist. The picture of the path (diagram.svg) follows the same rule: it shows states and
times from the transition log, which holds no personal data, so it is served only to those with a ground
on the case and is not logged as a read. Every change carries the case version the form was opened on; a
change made in between is refused as stale (409) and nothing is saved.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale, format_timedelta, lazy_gettext
from flask_babel import gettext as _

from cases import StaleCase, fire_trigger
from cases.casework.access import assign_case
from cases.casework.consents import ConsentForm, record_consent, withdraw_consent
from cases.casework.feedback import WITHHOLDING_ROLES, withhold_feedback
from cases.casework.outline import assignees, case_outline
from cases.errors import AccessDenied, CaseNotFound, InvalidConcern, KeyDestroyed, NotPermitted
from cases.flowcharts import chart_of
from policies.access import ASSIGNING_ROLES, CONSENT_ROLES
from policies.law import cite
from web.access import CASE_ROLES, page, signed_in
from web.clock import now, today
from web.diagram import to_case_svg
from web.hearing import assessment_view, read_assessment
from web.i18n import label, locale
from web.interventions import case_lanes
from web.step_forms import field_errors, field_view, form_version, meaning, outline_or_404, refusal_text
from workflow import InvalidInput, Refusal, RoleNotAllowed, TransitionRefused, UnknownTrigger
from workflow.hearing import ASSESSMENT_FIELD

__all__ = ["bp"]

bp = Blueprint("case_actions", __name__)

MAX_REASON = 2000

def _db():
    return current_app.extensions["vidoro.db"]






def _stale(ref: str) -> str:
    """Say who changed the case since the form was opened, if the record says so."""
    try:
        change = case_outline(_db(), signed_in().actor, ref, now=now()).last_change
    except (CaseNotFound, AccessDenied, NotPermitted):
        change = None
    if change is not None and change.by_id == signed_in().actor.id:
        return _("You changed this case yourself, in another window or tab, since you opened this form. "
                 "Nothing was saved.")
    if change is not None and change.by_name:
        return _("%(name)s changed this case since you opened this form. Nothing was saved.", name=change.by_name)
    return _("Someone else changed this case since you opened this form. Nothing was saved.")


def _to_case(ref: str):
    return redirect(url_for("case_pages.case", ref=ref), code=303)


# --- firing a step of the flowchart ----------------------------------------------------------------------


@bp.route("/cases/<ref>/actions/<trigger>", methods=["GET", "POST"])
@page(*CASE_ROLES)
def action(ref: str, trigger: str):
    """Offer one step out of the case's state with the fields it requires, or say why it is not possible."""
    outline = outline_or_404(ref, options=True)
    chart = chart_of(_db(), outline.flowchart_version)
    if trigger not in chart.triggers:
        abort(404)
    transition = chart.transition(trigger, outline.state)
    step = transition or next(t for t in chart.transitions if t.trigger == trigger)  # for its label
    option = next((o for o in outline.options if o.trigger == trigger), None)
    view = {"outline": outline, "chart": chart, "trigger": trigger, "transition": transition, "step": step,
            "option": option, "values": {}, "version": outline.version,
            "assessment": assessment_view(trigger, outline.state, {}) if transition else None}
    if request.method == "GET":
        if option is None or not option.allowed:
            refusals = option.refusals if option else [Refusal("wrong_state", {"state": outline.state})]
            status = 403 if any(r.kind == "role" for r in refusals) else 422
            return _action_page(view, refusals=refusals, form=False), status
        return _action_page(view, names=_fields(option.requires))
    # the fields this step asks for now; with no such step here, whatever was sent, to show it back
    names = _fields(option.requires) if option else [name for name in chart.fields if name in request.form]
    values = {name: _read(chart, name) for name in names}
    assessment, assessed = read_assessment()  # the structured assessment the step records (web.hearing)
    view.update(values=values, version=form_version(),
                assessment=assessment_view(trigger, outline.state, assessed) if transition else None)
    try:
        fired = fire_trigger(_db(), signed_in().actor, ref, trigger, _payload(values),
                             expected_version=view["version"], now=now(), assessment=assessment)
    except (CaseNotFound, AccessDenied, UnknownTrigger):
        abort(404)
    except NotPermitted:
        abort(403)
    except StaleCase:
        return _action_page(view, names=names, stale=_stale(ref)), 409
    except InvalidInput as exc:
        errors, general = field_errors(chart, exc.refusals)
        names += [name for name in errors if name not in names]  # e.g. a time limit that has just passed
        return _action_page(view, names=names, errors=errors, general=general), 400
    except TransitionRefused as exc:
        status = 403 if isinstance(exc, RoleNotAllowed) else 422
        return _action_page(view, names=names, refusals=exc.refusals, form=option is not None), status
    flash(_("Done: %(step)s. The case is now in “%(state)s”.", step=label(step.label),
            state=label(chart.states[fired.state].label)), "success")
    for warning in fired.warnings:
        flash(_("Note: %(warning)s", warning=warning.text(locale())), "warning")
    return _to_case(ref)


def _action_page(view, *, names=(), refusals=(), errors=None, general=(), stale=None, form=True):
    """The step's page: what it means, why it is refused if it is, and its form (`names`) unless `form` is off."""
    chart, step, option = view["chart"], view["step"], view["option"]
    return render_template(
        "case_actions/action.html", **view, refusals=[refusal_text(chart, r) for r in refusals], errors=errors or {},
        general=general, stale=stale, show_form=form,
        fields=[field_view(chart, step, name) for name in names] if form else [],
        meaning=meaning(chart, view["transition"]) if view["transition"] else [],
        warnings=[w.text(locale()) for w in option.warnings] if option else [],
        labels={name: label(chart.fields[name].label) for name in names},
    )


def _fields(requires) -> list[str]:
    """The flowchart's fields a step asks for; the structured assessment has its own fieldset."""
    return [name for name in requires if name != ASSESSMENT_FIELD]


def _read(chart, name: str):
    field = chart.fields[name]
    if field.kind == "codes":
        return request.form.getlist(name)
    return request.form.get(name, "")


def _payload(values):
    """The form as the engine takes it; empty values are left for the engine to call missing."""
    return {name: value for name, value in values.items() if value not in ("", [])}


# --- consents --------------------------------------------------------------------------------------------


@bp.route("/cases/<ref>/consents/new", methods=["GET", "POST"])
@page(*CONSENT_ROLES)
def new_consent(ref: str):
    """Record a given or refused consent (DESIGN.md §3): a record, not a checkbox."""
    outline = outline_or_404(ref)
    chart = chart_of(_db(), outline.flowchart_version)
    values: dict[str, Any] = {"given_by": "", "purposes": [], "recipients": [], "data_categories": [], "method": "",
              "evidence": "", "valid_from": today().isoformat(), "valid_until": "", "status": "given"}
    view = {"outline": outline, "chart": chart, "version": outline.version, "stale": None, "errors": {}}
    if request.method == "GET":
        return _consent_page(view, values)
    values = {name: request.form.getlist(name) if isinstance(default, list) else request.form.get(name, "").strip()
              for name, default in values.items()}
    view["version"] = form_version()
    errors = {name: str(CONSENT_PROBLEMS[name]) for name in ("given_by", "purposes", "recipients",
                                                             "data_categories", "method", "evidence", "status")
              if not values[name]}
    valid_from, valid_until = _date(values["valid_from"]), _date(values["valid_until"])
    if valid_from is None:
        errors["valid_from"] = _("Enter a date as YYYY-MM-DD.")
    if values["valid_until"] and valid_until is None:
        errors["valid_until"] = _("Enter a date as YYYY-MM-DD.")
    if errors or valid_from is None:  # no valid_from is always among the errors
        return _consent_page({**view, "errors": errors}, values), 400
    form = ConsentForm(given_by=values["given_by"], purposes=tuple(values["purposes"]),
                       recipients=tuple(values["recipients"]), data_categories=tuple(values["data_categories"]),
                       method=values["method"], evidence=values["evidence"], valid_from=valid_from,
                       valid_until=valid_until, status=values["status"])
    try:
        record_consent(_db(), signed_in().actor, ref, form, expected_version=view["version"], now=now())
    except (CaseNotFound, AccessDenied, KeyDestroyed):  # an erased case has nothing left to consent about
        abort(404)
    except NotPermitted:
        abort(403)
    except StaleCase:
        return _consent_page({**view, "stale": _stale(ref)}, values), 409
    except InvalidConcern as exc:
        message = CONSENT_PROBLEMS.get(exc.field) or exc.text(locale())
        return _consent_page({**view, "errors": {exc.field: str(message)}}, values), 400
    flash(_("The consent was recorded.") if form.status == "given" else _("The refusal was recorded."), "success")
    return _to_case(ref)


CONSENT_PROBLEMS = {
    "given_by": lazy_gettext("Choose who gave or refused the consent."),
    "purposes": lazy_gettext("Choose at least one purpose."),
    "recipients": lazy_gettext("Choose at least one recipient."),
    "data_categories": lazy_gettext("Choose at least one kind of data."),
    "method": lazy_gettext("Choose how the consent was obtained."),
    "evidence": lazy_gettext("Say how the consent was obtained and where it is documented (at most 20,000 "
                             "characters)."),
    "status": lazy_gettext("Choose whether the consent was given or refused."),
    "valid_until": lazy_gettext("The end date must not be before the start date."),
}


def _date(text: str) -> date | None:
    """A calendar day as YYYY-MM-DD (what a date field sends), or None for empty or anything else."""
    try:
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


def _consent_page(view, values):
    chart = view["chart"]
    vocab = {name: [(code, label(text)) for code, text in chart.vocabularies[name].items()]
             for name in ("consent_givers", "purposes", "recipients", "data_categories", "consent_methods")}
    labels = {"given_by": _("Given by"), "purposes": _("Purposes"), "recipients": _("Recipients"),
              "data_categories": _("Data that may be shared"), "method": _("How it was obtained"),
              "evidence": _("Documentation"), "valid_from": _("Valid from"), "valid_until": _("Valid until"),
              "status": _("Answer")}
    return render_template("case_actions/consent.html", **view, values=values, vocab=vocab, labels=labels,
                           statuses=[("given", _("Consent given")), ("refused", _("Consent refused"))])


@bp.route("/cases/<ref>/consents/<consent_id>/withdraw", methods=["GET", "POST"], endpoint="withdraw_consent")
@page(*CONSENT_ROLES)
def withdraw_consent_page(ref: str, consent_id: str):
    """Withdraw a consent in force; it takes effect at once and may move the case on."""
    outline = outline_or_404(ref)
    consent = next((c for c in outline.consents if c.id == consent_id and c.status == "given"), None)
    if consent is None:
        abort(404)
    chart = chart_of(_db(), outline.flowchart_version)
    view = {"outline": outline, "chart": chart, "consent": consent, "version": outline.version, "stale": None,
            "errors": {}, "reason": ""}
    if request.method == "GET":
        return render_template("case_actions/withdraw.html", **view)
    view.update(reason=request.form.get("reason", "").strip(), version=form_version())
    if not view["reason"] or len(view["reason"]) > MAX_REASON:
        view["errors"] = {"reason": _("Say why the consent was withdrawn (at most %(n)d characters).", n=MAX_REASON)}
        return render_template("case_actions/withdraw.html", **view), 400
    try:
        done = withdraw_consent(_db(), signed_in().actor, ref, consent_id, view["reason"],
                                expected_version=view["version"], now=now())
    except (CaseNotFound, AccessDenied, KeyDestroyed):
        abort(404)
    except NotPermitted:
        abort(403)
    except StaleCase:
        return render_template("case_actions/withdraw.html", **{**view, "stale": _stale(ref)}), 409
    except InvalidConcern as exc:
        if exc.field != "reason":
            abort(404)  # no consent in force with that id on this case (any more)
        view["errors"] = {"reason": _("Say why the consent was withdrawn (at most %(n)d characters).", n=MAX_REASON)}
        return render_template("case_actions/withdraw.html", **view), 400
    flash(_("The consent was withdrawn. Sharing that rested on it has stopped."), "success")
    if done.state != outline.state:
        flash(_("The case moved on to “%(state)s”.", state=label(chart.states[done.state].label)), "success")
    return _to_case(ref)


# --- the decision not to give the reporter feedback ------------------------------------------------------


@bp.route("/cases/<ref>/feedback/withhold", methods=["GET", "POST"], endpoint="withhold_feedback")
@page(*WITHHOLDING_ROLES)
def withhold_feedback_page(ref: str):
    """Decide not to give the reporter feedback where it would be inappropriate; the reporter then sees only
    that the concern was received (`cases.casework.feedback`)."""
    outline = outline_or_404(ref)
    chart = chart_of(_db(), outline.flowchart_version)
    view = {"outline": outline, "chart": chart, "version": outline.version, "stale": None, "errors": {},
            "reason": "", "law": cite("sol_feedback"), "secrecy": cite("osl_26_9a")}
    if request.method == "GET":
        return render_template("case_actions/withhold_feedback.html", **view)
    view.update(reason=request.form.get("reason", "").strip(), version=form_version())
    problem = _("Say why feedback would be inappropriate (at most %(n)d characters).", n=MAX_REASON)
    if not view["reason"] or len(view["reason"]) > MAX_REASON:
        view["errors"] = {"reason": problem}
        return render_template("case_actions/withhold_feedback.html", **view), 400
    try:
        withhold_feedback(_db(), signed_in().actor, ref, view["reason"], expected_version=view["version"], now=now())
    except (CaseNotFound, AccessDenied, KeyDestroyed):
        abort(404)
    except NotPermitted:
        abort(403)
    except StaleCase:
        return render_template("case_actions/withhold_feedback.html", **{**view, "stale": _stale(ref)}), 409
    except InvalidConcern as exc:
        if exc.field != "reason":
            abort(404)  # the case was erased
        view["errors"] = {"reason": problem}
        return render_template("case_actions/withhold_feedback.html", **view), 400
    flash(_("Recorded: the reporter gets no feedback on this concern beyond that it was received."), "success")
    return _to_case(ref)


# --- assigning a caseworker ------------------------------------------------------------------------------


@bp.route("/cases/<ref>/assign", methods=["GET", "POST"])
@page(*ASSIGNING_ROLES)
def assign(ref: str):
    """Assign a caseworker: only an assigned caseworker works on a case (`cases.casework.grounds`)."""
    try:
        choices = assignees(_db(), signed_in().actor, ref)
    except (CaseNotFound, AccessDenied):
        abort(404)
    except NotPermitted:
        abort(403)
    chosen, errors, replace = "", {}, False
    if request.method == "POST":
        chosen = request.form.get("caseworker", "")
        replace = request.form.get("replace") == "yes"  # reassign: end the others' assignments
        names = dict(choices.available)
        if chosen not in names:
            errors["caseworker"] = _("Choose an active caseworker.")
        else:
            try:
                assign_case(_db(), signed_in().actor, ref, chosen, replace=replace, now=now())
            except CaseNotFound:
                abort(404)
            except NotPermitted:
                abort(403)
            except InvalidConcern:
                errors["caseworker"] = _("Choose an active caseworker.")
            else:
                flash(_("%(name)s now works on the case.", name=names[chosen]), "success")
                return _to_case(ref)
    assigned = dict(choices.current)
    options = [(staff_id, name) for staff_id, name in choices.available if staff_id not in assigned]
    return render_template("case_actions/assign.html", choices=choices, options=options, chosen=chosen,
                           replace=replace, errors=errors), 400 if errors else 200


# --- the case's path, drawn ------------------------------------------------------------------------------


@bp.get("/cases/<ref>/diagram.svg")
@page(*CASE_ROLES)
def diagram(ref: str):
    """Draw the flowchart with this case's path, its current state and the time spent in each state.

    No read is logged: the picture holds states and times from the transition log, no personal data; it
    is still only for those with a ground on the case, as the path says something about the person.
    """
    outline = outline_or_404(ref)
    chart = chart_of(_db(), outline.flowchart_version)
    wanted = request.args.get("lang")
    lang = wanted if wanted in ("sv", "en") else locale()
    moment = now()
    spent: dict[str, timedelta] = {}
    for stay in outline.stays:
        spent[stay.state] = spent.get(stay.state, timedelta()) + ((stay.left or moment) - stay.entered)
    with force_locale(lang):
        durations = {state: _("Time: %(duration)s", duration=format_timedelta(max(time, timedelta()),
                                                                               threshold=1.5))
                     for state, time in spent.items()}
        title = _("Case %(ref)s: its path through the flowchart", ref=outline.ref)
    svg = to_case_svg(chart, title=title, lang=lang, path=[s.state for s in outline.stays],
                      current=outline.state, durations=durations, lanes=case_lanes(chart, ref, lang))
    return Response(svg, mimetype="image/svg+xml")
