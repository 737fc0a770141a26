"""Telling a relative that support exists, from the subject's case, and opening the relative's own matter.

The page asks `cases.relatives` and shows what it answers: the subject's case records only that a relative was
told (codes, no name); a relative who wants support gets a case of their own on its own flowchart, assigned to
the acting caseworker unless another is named, and linked to the subject's case. The form carries the case
version it was opened on; a change made in between is refused as stale (409) and nothing is saved.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from cases import StaleCase
from cases.errors import AccessDenied, CaseNotFound, InvalidConcern, InvalidIdentityNumber, KeyDestroyed, NotPermitted
from cases.flowcharts import RELATIVE, chart_of, current_engine
from cases.relatives import RELATIONSHIPS, RelativeForm, caseworkers, inform_relative
from policies.access import INFORMING_ROLES
from web.access import page, signed_in
from web.clock import now
from web.i18n import error_text, label
from web.step_forms import form_version, outline_or_404

__all__ = ["FIELDS", "bp"]

bp = Blueprint("relatives", __name__)

FIELDS = ("relationship", "identity_number", "birth_date", "approximate_age", "given_name", "family_name",
          "caseworker")


def _db():
    return current_app.extensions["vidoro.db"]


@bp.route("/cases/<ref>/relatives/new", methods=["GET", "POST"], endpoint="inform")
@page(*INFORMING_ROLES)
def inform(ref: str):
    """A relative was told that support exists; if they want it, who they are, to open their own matter."""
    outline = outline_or_404(ref)
    actor = signed_in().actor
    try:
        staff = caseworkers(_db(), actor, ref)
    except (CaseNotFound, AccessDenied):
        abort(404)
    except NotPermitted:
        abort(403)
    relative_chart = current_engine(RELATIVE).chart
    view = {"outline": outline, "chart": chart_of(_db(), outline.flowchart_version), "version": outline.version,
            "stale": None, "errors": {}, "values": dict.fromkeys(FIELDS, ""), "wants": False,
            "relationships": [(code, label(words)) for code, words in
                              relative_chart.vocabularies[RELATIONSHIPS].items()],
            "caseworkers": list(staff), "named_needed": actor.role != "caseworker"}
    if request.method == "GET":
        return render_template("relatives/inform.html", **view)
    values = {name: request.form.get(name, "").strip() for name in FIELDS}
    wants = request.form.get("wants_support") == "yes"
    view.update(values=values, wants=wants, version=form_version())
    errors = _check(values, wants, dict(staff), named_needed=bool(view["named_needed"]))
    if errors:
        view["errors"] = errors
        return render_template("relatives/inform.html", **view), 400
    form = RelativeForm(
        wants_support=wants, relationship=values["relationship"] or None,
        identity_number=values["identity_number"] or None,
        birth_date=date.fromisoformat(values["birth_date"]) if values["birth_date"] else None,
        approximate_age=int(values["approximate_age"]) if values["approximate_age"] else None,
        given_name=values["given_name"] or None, family_name=values["family_name"] or None,
        caseworker_id=values["caseworker"] or None) if wants else RelativeForm(wants_support=False)
    try:
        done = inform_relative(_db(), actor, ref, form, expected_version=view["version"], now=now())
    except (CaseNotFound, AccessDenied, KeyDestroyed):
        abort(404)
    except NotPermitted:
        abort(403)
    except StaleCase:
        view["stale"] = _("Someone changed this case since you opened this form. Nothing was saved.")
        return render_template("relatives/inform.html", **view), 409
    except InvalidIdentityNumber as exc:
        view["errors"] = {"identity_number": error_text(exc)}
        return render_template("relatives/inform.html", **view), 400
    except InvalidConcern as exc:
        if exc.field == "case":
            abort(404)  # erased, or itself a relative's matter (the page offers no form there)
        field = exc.field if exc.field in FIELDS else "relationship"
        view["errors"] = {field: error_text(exc)}
        return render_template("relatives/inform.html", **view), 400
    if done.relative_ref is None:
        flash(_("Recorded: the relative was told that support exists."), "success")
        return redirect(url_for("case_pages.case", ref=ref), code=303)
    flash(_("Recorded, and the relative's own matter %(ref)s was opened.", ref=done.relative_ref), "success")
    return redirect(url_for("case_pages.case", ref=ref), code=303)


def _check(values: dict[str, str], wants: bool, staff: dict[str, str], *, named_needed: bool) -> dict[str, str]:
    """What the form lacks before `cases` is asked; `cases` checks it all again (the server decides)."""
    if not wants:
        return {}
    errors = {}
    if not values["relationship"]:
        errors["relationship"] = _("Choose the relationship.")
    if not values["identity_number"] and not values["birth_date"] and not values["approximate_age"]:
        errors["identity_number"] = _("Give an identity number, a date of birth or an approximate age.")
    if values["birth_date"]:
        try:
            date.fromisoformat(values["birth_date"])
        except ValueError:
            errors["birth_date"] = _("Write the date as YYYY-MM-DD, for example 2011-04-23.")
    if values["approximate_age"]:
        try:
            int(values["approximate_age"])
        except ValueError:
            errors["approximate_age"] = _("Write the age as a whole number of years, for example 16.")
    if (values["caseworker"] and values["caseworker"] not in staff) or (named_needed and not values["caseworker"]):
        errors["caseworker"] = _("Choose an active caseworker.")
    return errors
