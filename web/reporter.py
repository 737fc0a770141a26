"""The reporter's pages: register a concern, its receipt, and the feedback on their own concerns.

The form is short and asks for behaviour and need, not beliefs (DESIGN.md §2). Acute danger never waits
for a page: the "call 112" notice stands next to the checkbox without any script, and again on the
receipt. Whether the person already has open cases is secret; the reporter is told nothing about it
(`Fired.existing` is not used here). Feedback is only what `cases.casework.feedback` allows.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from cases import ConcernForm, register_concern
from cases.casework.feedback import ALREADY_RUNNING, NOT_OPENED, OPENED, RECEIVED, concern_receipt, reporter_feedback
from cases.errors import (
    ArrivalNotPermitted,
    CaseNotFound,
    InvalidConcern,
    InvalidIdentityNumber,
    NotPermitted,
    SourceNotPermitted,
)
from cases.flowcharts import current_engine
from policies.rules import load_rules as rules
from web.access import current_account, page, signed_in
from web.clock import now
from web.i18n import error_text, label

__all__ = ["TEXT_FIELDS", "bp", "concern_form", "concern_values", "problem_text", "sources_of"]

bp = Blueprint("reporter", __name__)

# What the reporter is told for each category, and what it means for them (nothing more may be said).
FEEDBACK = {
    RECEIVED: (lazy_gettext("Received"),
               lazy_gettext("The social services have received the concern and are assessing it. Here you will "
                            "see whether an investigation is opened.")),
    OPENED: (lazy_gettext("Investigation opened"),
             lazy_gettext("The social services have opened an investigation.")),
    NOT_OPENED: (lazy_gettext("No investigation opened"),
                 lazy_gettext("The social services have decided not to open an investigation.")),
    ALREADY_RUNNING: (lazy_gettext("Investigation already under way"),
                      lazy_gettext("An investigation was already under way when the concern was assessed.")),
}

ARRIVAL_FIELDS = ("received_at", "arrival_reason")  # intake's alone (`cases.casework.forms`): never on this page
TEXT_FIELDS = ("concern", "reporter_org", "identity_number", "birth_date", "approximate_age", "given_name",
               "family_name", "police_contacted_at")


def sources_of(role: str) -> list[tuple[str, str]]:
    """The sources `role` registers concerns from (policies/rules.toml [sources]), in the vocabulary's order and
    words: the list a form offers, so that it shows only what the server accepts."""
    allowed = rules().sources.get(role, frozenset())
    vocabulary = current_engine().chart.vocabularies.get("reporter_orgs", {})
    return [(code, label(words)) for code, words in vocabulary.items() if code in allowed]


@bp.route("/concerns/new", methods=["GET", "POST"])
@page("reporter")
def new_concern():
    chart = current_engine().chart
    account = current_account()
    options = sources_of(account.role)
    values = {name: "" for name in TEXT_FIELDS}
    values.update(reporter_org=account.unit if account.unit in dict(options) else "", acute_danger=False,
                  police_contacted=False)
    errors: dict[str, str] = {}
    status = 400
    if request.method == "POST":
        values = concern_values()
        form, errors = concern_form(values, chart.timezone)
        if form is not None:
            try:
                fired = register_concern(current_app.extensions["vidoro.db"], account.actor, form, now=now())
            except ArrivalNotPermitted as exc:  # a posted arrival time is refused by the rule, not dropped
                errors["received_at"] = problem_text(exc, "")
                status = 403
            except SourceNotPermitted as exc:  # a source not theirs, posted anyway: refused by the rule
                errors["reporter_org"] = problem_text(exc, "")
                status = 403
            except InvalidConcern as exc:
                errors[exc.field if exc.field in TEXT_FIELDS else "concern"] = problem_text(exc, exc.field)
            except InvalidIdentityNumber as exc:
                errors["identity_number"] = problem_text(exc, "invalid identity number")
            else:  # fired.existing is deliberately not shown: other cases about the person are secret
                flash(_("Your concern has been registered. Thank you."), "success")
                return redirect(url_for("reporter.receipt", ref=fired.ref), code=303)
    return render_template("reporter/new_concern.html", values=values, errors=errors, orgs=options), \
        status if errors else 200


@bp.get("/concerns")
@page("reporter")
def my_concerns():
    items = reporter_feedback(current_app.extensions["vidoro.db"], signed_in().actor)
    return render_template("reporter/my_concerns.html", items=items, chart=current_engine().chart,
                           feedback=FEEDBACK)


@bp.get("/concerns/<ref>")
@page("reporter")
def receipt(ref: str):
    try:
        item = concern_receipt(current_app.extensions["vidoro.db"], signed_in().actor, ref)
    except (CaseNotFound, NotPermitted):
        abort(404)
    return render_template("reporter/receipt.html", item=item, chart=current_engine().chart, feedback=FEEDBACK)


def concern_values(fields: tuple[str, ...] = TEXT_FIELDS) -> dict[str, Any]:
    """The posted form's text fields (trimmed) and its checkboxes."""
    values: dict[str, Any] = {name: request.form.get(name, "").strip() for name in fields}
    for box in ("acute_danger", "police_contacted", "anonymous"):
        values[box] = request.form.get(box) == "yes"
    return values


def concern_form(values: dict[str, Any], timezone: str) -> tuple[ConcernForm | None, dict[str, str]]:
    """Turn the typed text into a ConcernForm; only the shape of the input is checked here, the rules in
    `cases.casework.forms`. Every shape error is returned at once."""
    errors: dict[str, str] = {}
    birth_date = None
    if values["birth_date"]:
        try:
            birth_date = date.fromisoformat(values["birth_date"])
        except ValueError:
            errors["birth_date"] = _("Write the date as YYYY-MM-DD, for example 2011-04-23.")
    approximate_age = None
    if values["approximate_age"]:
        try:
            approximate_age = int(values["approximate_age"])
        except ValueError:
            errors["approximate_age"] = _("Write the age as a whole number of years, for example 16.")
    police_at = None
    if values["police_contacted_at"]:
        try:
            clock = time.fromisoformat(values["police_contacted_at"])
        except ValueError:
            errors["police_contacted_at"] = _("Write the time as HH:MM, for example 14:05.")
        else:
            zone = ZoneInfo(timezone)
            police_at = datetime.combine(now().astimezone(zone).date(), clock.replace(tzinfo=None), zone)
    elif values["police_contacted"]:
        police_at = now()
    if errors:
        return None, errors
    # The page has no field for the time of arrival (only intake records an earlier one): one posted anyway
    # goes on to `cases`, which refuses it with its reason, rather than being quietly dropped here.
    received_at, arrival_reason = None, None
    if any(name in request.form for name in ARRIVAL_FIELDS):
        arrival_reason = request.form.get("arrival_reason", "")
        try:
            received_at = datetime.fromisoformat(request.form.get("received_at", ""))
        except ValueError:
            received_at = None
    return ConcernForm(
        concern=values["concern"], reporter_org=values["reporter_org"],
        identity_number=values["identity_number"] or None, birth_date=birth_date,
        given_name=values["given_name"] or None, family_name=values["family_name"] or None,
        acute_danger=values["acute_danger"], police_contacted_at=police_at,
        received_at=received_at, arrival_reason=arrival_reason, approximate_age=approximate_age,
        anonymous=values.get("anonymous", False), reporter_name=values.get("reporter_name") or None,
        reporter_contact=values.get("reporter_contact") or None,
    ), {}


def problem_text(exc, prefix: str) -> str:
    """The refusal's own words (it carries both languages), without the field name, as a sentence."""
    text = error_text(exc, prefix, "ogiltigt id-nummer")
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
