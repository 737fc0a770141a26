"""Kommunicering and structured assessments in the browser: the forms to record a communication before a
decision that goes against the person, its answer and an exception (förvaltningslagen (2017:900) 25 §), the
assessment fields of the steps that decide one, and the case page's section that shows them in words.

Nothing here decides: `cases.hearing` records and refuses, the engine refuses the adverse decision
(`workflow.hearing`). Every label comes from policies/hearing.toml, in Swedish and English. The case page's
section is a read of personal data, logged by `cases.hearing.read_hearing`; it is shown only to staff with a
ground on the case (an emergency reader sees the case page without it).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from cases import StaleCase
from cases.errors import AccessDenied, CaseNotFound, InvalidConcern, KeyDestroyed, NotPermitted, RecordNotFound
from cases.flowcharts import chart_of
from cases.hearing import CommunicationForm, read_hearing, record_answer, record_communication, record_exception
from policies.hearing import load_hearing
from policies.law import cite
from web.access import page, signed_in
from web.clock import now, today
from web.i18n import label, locale
from web.step_forms import form_version, outline_or_404
from workflow.hearing import Assessment

__all__ = ["assessment_view", "bp", "read_assessment"]

bp = Blueprint("hearing", __name__)
WRITERS = tuple(sorted(load_hearing().roles))


def _db():
    return current_app.extensions["vidoro.db"]


# --- the case page's section ------------------------------------------------------------------------------


@bp.app_template_global()
def hearing_of(record) -> dict[str, Any] | None:
    """The communications and assessments of the case on the page, in words; None for a reader without a
    ground (emergency access) or an erased case. Reading them is logged."""
    if record.erased or record.ground == "emergency":
        return None
    try:
        seen = read_hearing(_db(), signed_in().actor, record.ref, now=now())
    except (CaseNotFound, AccessDenied):
        return None
    hearing = load_hearing()
    return {"communications": seen.communications, "assessments": seen.assessments,
            "may_record": signed_in().actor.role in hearing.roles, "words": _words,
            "provision": cite(hearing.provision)}


def _words(kind: str, codes) -> str:
    """Codes of a hearing.toml vocabulary (recipients, methods, exceptions, decisions, not_heard_reasons) in words."""
    hearing = load_hearing()
    known = {"recipients": hearing.recipients, "methods": hearing.methods, "exceptions": hearing.exceptions,
             "decisions": hearing.decisions, "not_heard_reasons": hearing.not_heard_reasons}[kind]
    if codes is None:
        return ""
    if isinstance(codes, str):
        codes = [codes]
    return ", ".join(label(known[c]) if c in known else str(c) for c in codes)


# --- the assessment a step records (used by web.case_actions) --------------------------------------------


def assessment_view(trigger: str, state: str, values: dict[str, str]) -> dict[str, Any] | None:
    """The assessment fields of the step `trigger` from `state`, or None when the step records none."""
    rule = load_hearing().assessment_for(trigger, state)
    if rule is None:
        return None
    hearing = load_hearing()
    return {"label": label(rule.label), "values": values, "provision": cite("sol_child_heard"),
            "decisions": [(c, label(hearing.decisions[c])) for c in rule.decisions] if len(rule.decisions) > 1
            else [], "reasons": [(c, label(t)) for c, t in hearing.not_heard_reasons.items()]}


ASSESSMENT_INPUTS = ("assessed", "assessment_decision", "child_view", "not_heard_reason", "not_heard_detail")


def read_assessment() -> tuple[Assessment | None, dict[str, str]]:
    """The assessment as the step's form sent it (None when nothing was filled in), and the values to show back."""
    values = {name: request.form.get(name, "").strip() for name in ASSESSMENT_INPUTS}
    if not any(values.values()):
        return None, values
    return Assessment(assessed=values["assessed"], decision=values["assessment_decision"] or None,
                      child_view=values["child_view"] or None, not_heard_reason=values["not_heard_reason"] or None,
                      not_heard_detail=values["not_heard_detail"] or None), values


# --- recording a communication, an answer, an exception ---------------------------------------------------






def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _choices(vocabulary) -> list[tuple[str, str]]:
    return [(code, label(text)) for code, text in vocabulary.items()]


def _decisions(chart) -> list[tuple[str, str]]:
    """The decisions that go against the person, by the label the case's flowchart gives their step."""
    steps = {t.trigger: label(t.label) for t in chart.transitions}
    return [(trigger, steps.get(trigger, trigger)) for trigger in load_hearing().adverse]


def _render(template: str, outline, values, errors, *, stale: str | None = None, **extra):
    hearing, chart = load_hearing(), chart_of(_db(), outline.flowchart_version)
    labels = {"decision": _("Decision"), "recipients": _("Sent to"), "method": _("How"),
              "material": _("Material sent"), "sent_on": _("Sent on"), "answer_by": _("Last day to answer"),
              "answer": _("The answer"), "answered_on": _("Answer received on"), "exception": _("Exception"),
              "reason": _("Why the exception applies")}
    return render_template(template, outline=outline, values=values, errors=errors, labels=labels, stale=stale,
                           version=values.get("version", outline.version), provision=cite(hearing.provision),
                           chart=chart, decisions=_decisions(chart), recipients=_choices(hearing.recipients),
                           methods=_choices(hearing.methods), exceptions=_choices(hearing.exceptions),
                           default_days=hearing.default_answer_days, **extra)


def _error(exc: InvalidConcern) -> dict[str, str]:
    return {exc.field: exc.text(locale())}


@bp.route("/cases/<ref>/communications/new", methods=["GET", "POST"])
@page(*WRITERS)
def new_communication(ref: str):
    """Record what was communicated before a decision that goes against the person, and the time to answer."""
    outline = outline_or_404(ref)
    values: dict[str, Any] = {"decision": "", "recipients": [], "method": "", "material": "",
                              "sent_on": today().isoformat(), "answer_by": ""}
    if request.method == "GET":
        return _render("hearing/communication.html", outline, values, {})
    values = {name: request.form.getlist(name) if name == "recipients" else request.form.get(name, "").strip()
              for name in values}
    values["version"] = form_version()
    errors = {}
    sent_on, answer_by = _date(values["sent_on"]), _date(values["answer_by"]) if values["answer_by"] else None
    if sent_on is None:
        errors["sent_on"] = _("Enter a date as YYYY-MM-DD.")
    if values["answer_by"] and answer_by is None:
        errors["answer_by"] = _("Enter a date as YYYY-MM-DD.")
    for name in ("decision", "method"):
        if not values[name]:
            errors[name] = _("Choose one.")
    if not values["recipients"]:
        errors["recipients"] = _("Choose at least one.")
    if not values["material"]:
        errors["material"] = _("Fill in this field.")
    if errors or sent_on is None:
        return _render("hearing/communication.html", outline, values, errors), 400
    form = CommunicationForm(decision=values["decision"], recipients=tuple(values["recipients"]),
                             method=values["method"], material=values["material"], sent_on=sent_on,
                             answer_by=answer_by)
    try:
        done = record_communication(_db(), signed_in().actor, ref, form, expected_version=values["version"],
                                    now=now())
    except (CaseNotFound, AccessDenied, KeyDestroyed):
        abort(404)
    except NotPermitted:
        abort(403)
    except StaleCase:
        stale = _("The case changed since you opened this form. Nothing was saved.")
        return _render("hearing/communication.html", outline, values, {}, stale=stale), 409
    except InvalidConcern as exc:
        return _render("hearing/communication.html", outline, values, _error(exc)), 400
    flash(_("The communication was recorded. The last day to answer is %(day)s.",
            day=done.answer_by.isoformat() if done.answer_by else ""), "success")
    return redirect(url_for("case_pages.case", ref=ref), code=303)


@bp.route("/cases/<ref>/communications/<communication_id>/answer", methods=["GET", "POST"])
@page(*WRITERS)
def answer(ref: str, communication_id: str):
    """Record the answer to a communication."""
    outline = outline_or_404(ref)
    values: dict[str, Any] = {"answer": "", "answered_on": today().isoformat()}
    extra = {"communication_id": communication_id}
    if request.method == "GET":
        return _render("hearing/answer.html", outline, values, {}, **extra)
    values = {name: request.form.get(name, "").strip() for name in values}
    values["version"] = form_version()
    answered_on = _date(values["answered_on"])
    errors = {} if answered_on else {"answered_on": _("Enter a date as YYYY-MM-DD.")}
    if not values["answer"]:
        errors["answer"] = _("Fill in this field.")
    if errors or answered_on is None:
        return _render("hearing/answer.html", outline, values, errors, **extra), 400
    try:
        record_answer(_db(), signed_in().actor, ref, communication_id, values["answer"], answered_on,
                      expected_version=values["version"], now=now())
    except (CaseNotFound, AccessDenied, KeyDestroyed, RecordNotFound):
        abort(404)
    except NotPermitted:
        abort(403)
    except StaleCase:
        stale = _("The case changed since you opened this form. Nothing was saved.")
        return _render("hearing/answer.html", outline, values, {}, stale=stale, **extra), 409
    except InvalidConcern as exc:
        return _render("hearing/answer.html", outline, values, _error(exc), **extra), 400
    flash(_("The answer was recorded."), "success")
    return redirect(url_for("case_pages.case", ref=ref), code=303)


@bp.route("/cases/<ref>/communication-exceptions/new", methods=["GET", "POST"])
@page(*WRITERS)
def new_exception(ref: str):
    """Record why the material is not communicated before a decision: an exception the law allows."""
    outline = outline_or_404(ref)
    values: dict[str, Any] = {"decision": "", "exception": "", "reason": ""}
    if request.method == "GET":
        return _render("hearing/exception.html", outline, values, {})
    values = {name: request.form.get(name, "").strip() for name in values}
    values["version"] = form_version()
    errors = {name: str(_("Choose one.")) for name in ("decision", "exception") if not values[name]}
    if not values["reason"]:
        errors["reason"] = _("Fill in this field.")
    if errors:
        return _render("hearing/exception.html", outline, values, errors), 400
    try:
        record_exception(_db(), signed_in().actor, ref, values["decision"], values["exception"], values["reason"],
                         expected_version=values["version"], now=now())
    except (CaseNotFound, AccessDenied, KeyDestroyed):
        abort(404)
    except NotPermitted:
        abort(403)
    except StaleCase:
        stale = _("The case changed since you opened this form. Nothing was saved.")
        return _render("hearing/exception.html", outline, values, {}, stale=stale), 409
    except InvalidConcern as exc:
        return _render("hearing/exception.html", outline, values, _error(exc)), 400
    flash(_("The exception was recorded."), "success")
    return redirect(url_for("case_pages.case", ref=ref), code=303)

