"""How a step of the flowchart is asked for and explained on its page: fields, errors, refusals, meaning.

All of it comes from the flowchart the case runs on (the fields a step requires, their kinds and
vocabularies, the time limits it starts and stops, the consent it needs), so a changed flowchart changes
the forms without a change here. Nothing here decides: the engine's refusals are only put into words.
"""

from __future__ import annotations

from flask import abort, current_app, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from cases.casework.outline import case_outline
from cases.errors import AccessDenied, CaseNotFound, NotPermitted
from policies.law import cite
from web.access import signed_in
from web.clock import now
from web.i18n import label, locale, role_label
from workflow.fields import MAX_TEXT
from workflow.guards import rules

__all__ = ["field_errors", "field_view", "form_version", "meaning", "outline_or_404", "refusal_text"]

def outline_or_404(ref: str, *, options: bool = False):
    """The case's outline for the signed-in member of staff: 404 where they have no ground, 403 for a role that
    reads no case (the same answer for a case that is not there, so a page tells nobody which refs exist)."""
    try:
        return case_outline(current_app.extensions["vidoro.db"], signed_in().actor, ref, options=options, now=now())
    except (CaseNotFound, AccessDenied):
        abort(404)
    except NotPermitted:
        abort(403)


def form_version() -> int:
    """The case version the form was opened on; a form without one is refused, never applied blindly."""
    try:
        return int(request.form.get("version", ""))
    except ValueError:
        abort(400)


# Hints that steer what is written (DESIGN.md §2: behaviour and need, never beliefs).
FIELD_HINTS = {
    "reason": lazy_gettext("Describe behaviour and need, not opinions or beliefs. Write no more personal data "
                           "than the decision needs."),
    "protection_assessment": lazy_gettext("Record the assessment before any contact with the guardians."),
    "special_reason": lazy_gettext("The time limit has passed: say what exceptional reasons there are."),
    "new_due_on": lazy_gettext("As YYYY-MM-DD; later than today and than the current due date."),
    "recipients": lazy_gettext("Every recipient you choose must be covered by an active consent."),
}


def refusal_text(chart, refusal) -> str:
    """Why a step is refused, in words: the engine's own text, but roles, states and codes by their labels."""
    params, vocab = refusal.params, chart.vocabularies

    def words(codes, *vocabularies) -> str:
        found = [next((vocab[v][c] for v in vocabularies if c in vocab.get(v, {})), None) for c in codes]
        return ", ".join(label(text) if text else code for code, text in zip(codes, found, strict=True))

    if refusal.code == "wrong_state":
        return _("This step cannot be taken from the state the case is in now.")
    if refusal.code == "role":
        return _("Your role (%(role)s) may not take this step. It is for: %(allowed)s.",
                 role=role_label(params["role"]), allowed=", ".join(role_label(r) for r in params["allowed"]))
    if refusal.code in ("consent_missing", "consent_incomplete"):
        terms = {"giver": words([params["given_by"]], "consent_givers"),
                 "purpose": words([params["purpose"]], "purposes")}
        if refusal.code == "consent_missing":
            return _("No active consent from “%(giver)s” for “%(purpose)s”.", **terms)
        return _("The consent from “%(giver)s” for “%(purpose)s” does not cover: %(uncovered)s.", **terms,
                 uncovered=words(params["uncovered"], "recipients", "data_categories"))
    if refusal.code == "guardians_consent_missing":
        return _("The person is under 18: “%(purpose)s” needs the guardians' consent (%(law)s).",
                 purpose=words([params["purpose"]], "purposes"), law=params["law"])
    return refusal.text(locale())


def field_view(chart, transition, name: str) -> dict:
    """How one required field is asked: its widget, label, hint and the codes it may take."""
    field = chart.fields[name]
    options = []
    if field.vocabulary:
        allowed = transition.choices.get(name)
        options = [(code, label(text)) for code, text in chart.vocabularies[field.vocabulary].items()
                   if allowed is None or code in allowed]
    hint = FIELD_HINTS.get(name)
    if field.kind == "date" and hint is None:
        hint = _("As YYYY-MM-DD.")
    return {"name": name, "kind": field.kind, "label": label(field.label), "options": options,
            "hint": str(hint) if hint else None}


def field_errors(chart, refusals) -> tuple[dict[str, str], list[str]]:
    """Put each refusal next to its field; the rest go above the form."""
    errors: dict[str, str] = {}
    general: list[str] = []
    for refusal in refusals:
        name = refusal.field_name
        if refusal.kind == "field" and name in chart.fields and refusal.code != "unexpected_field":
            errors.setdefault(name, _field_message(chart.fields[name].kind, refusal))
        else:
            general.append(refusal.text(locale()))
    return errors, general


def _field_message(kind: str, refusal) -> str:
    problem = refusal.params.get("problem")
    if refusal.code == "missing_field" or problem == "empty":
        return {"codes": _("Choose at least one."), "code": _("Choose one."), "date": _("Enter a date.")}.get(
            kind, _("Fill in this field."))
    if problem == "not_a_date":
        return _("Enter a date as YYYY-MM-DD.")
    if problem in ("unknown_code", "code_not_allowed", "not_a_list"):
        return _("Choose from the list.")
    if problem == "too_long":
        return _("At most %(n)d characters.", n=MAX_TEXT)
    return refusal.text(locale())


def meaning(chart, transition) -> list[str]:
    """What the step does and asks, in words, from the flowchart's own data."""
    state = lambda name: label(chart.states[name].label)  # noqa: E731
    words = [_("The case moves from “%(source)s” to “%(dest)s”.", source=state(transition.source),
               dest=state(transition.dest)) if transition.source != transition.dest else
             _("The case stays in “%(state)s”.", state=state(transition.source))]
    for name in transition.stops:
        if name in chart.deadlines and name not in transition.starts:
            words.append(_("The time limit “%(limit)s” ends, if it runs.", limit=label(chart.deadlines[name].label)))
    for name in transition.starts:
        deadline = chart.deadlines[name]
        words.append(_("The time limit “%(limit)s” starts (%(law)s).", limit=label(deadline.label),
                       law=cite(deadline.law)) if deadline.law else
                     _("The time limit “%(limit)s” starts.", limit=label(deadline.label)))
    guards = set(transition.guards)
    if "child" in guards:
        words.append(_("Only for a child (under 18 on the day the concern was received)."))
    if "adult" in guards:
        words.append(_("Only for an adult (18 or older on the day the concern was received)."))
    if "pre_assessment_in_time" in guards:
        words.append(_("After the time limit for the pre-assessment, exceptional reasons must be given."))
    if "due_date_in_future" in guards:
        words.append(_("The new due date must be after today and after the current due date."))
    if "consent_withdrawn" in guards:
        words.append(_("Only when the consent the intervention rests on no longer holds. To withdraw a consent, "
                       "use “Withdraw” in the case's list of consents."))
    rule = transition.consent
    if rule is not None and guards & {"consent", "adult_consent"}:
        vocab = chart.vocabularies
        terms = {"purpose": label(vocab["purposes"][rule.purpose]),
                 "givers": ", ".join(label(vocab["consent_givers"][g]) for g in rule.given_by),
                 "recipients": ", ".join(label(vocab["recipients"][r]) for r in rule.recipients),
                 "data": ", ".join(label(vocab["data_categories"][d]) for d in rule.data_categories)}
        words.append(_("Needs an active consent for “%(purpose)s” from: %(givers)s; covering the recipients "
                       "%(recipients)s and the data %(data)s.", **terms) if "consent" in guards else
                     _("For an adult, needs their active consent for “%(purpose)s”, covering the recipients "
                       "%(recipients)s and the data %(data)s.", **terms))
        if "consent" in guards:
            words.append(_("While the person is under 18, the guardians must consent too."))
        elif rule.purpose in rules().child_consent.interventions:  # a child's voluntary intervention
            words.append(_("For a person under 18 on the day of the decision, the guardians must consent (%(law)s).",
                           law=cite(rules().child_consent.law)))
    if chart.states[transition.dest].consent_purpose:
        words.append(_("The recipients get a referral packet with only the data the consent covers, for as "
                       "long as the consent holds."))
    return words
