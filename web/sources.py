"""Intake's pages for concerns from every source, and completing the identity of a person known by name and
approximate age (issue 18).

Intake registers a concern from any source: the police, healthcare, a relative, a member of the public (also
anonymous: nothing about the reporter is kept), the person themself (an application) or the municipality's
own services. The page offers only what `cases` accepts for the role (policies/rules.toml [sources]) and the
rules are `cases.casework.forms`'; a refusal is shown beside its field, all at once where the form can.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from cases import StaleCase, register_concern
from cases.errors import (
    AccessDenied,
    CaseNotFound,
    InvalidConcern,
    InvalidIdentityNumber,
    KeyDestroyed,
    NotPermitted,
    SourceNotPermitted,
)
from cases.flowcharts import chart_of, current_engine
from cases.sources import complete_identity
from policies.access import IDENTITY_ROLES
from policies.rules import load_rules
from web.access import current_account, page, signed_in
from web.clock import now
from web.reporter import TEXT_FIELDS, concern_form, concern_values, problem_text, sources_of
from web.step_forms import form_version, outline_or_404

__all__ = ["bp"]

bp = Blueprint("sources", __name__)

FIELDS = (*TEXT_FIELDS, "reporter_name", "reporter_contact")
BOXES = ("anonymous",)


def _db():
    return current_app.extensions["vidoro.db"]


@bp.route("/intake/concerns/new", methods=["GET", "POST"])
@page("intake")
def new_concern():
    """Register a concern from any source, as intake: a call, a letter, a visit, an application."""
    chart = current_engine().chart
    account = current_account()
    policy = load_rules()
    values = {name: "" for name in FIELDS} | {"acute_danger": False, "police_contacted": False, "anonymous": False}
    errors: dict[str, str] = {}
    status = 400
    if request.method == "POST":
        values = concern_values(FIELDS)
        form, errors = concern_form(values, chart.timezone)
        if form is not None:
            try:
                fired = register_concern(_db(), account.actor, form, now=now())
            except SourceNotPermitted as exc:
                errors["reporter_org"] = problem_text(exc, "")
                status = 403
            except InvalidConcern as exc:
                errors[exc.field if exc.field in (*FIELDS, *BOXES) else "concern"] = problem_text(exc, exc.field)
            except InvalidIdentityNumber as exc:
                errors["identity_number"] = problem_text(exc, "invalid identity number")
            else:
                flash(_("The concern has been registered as case %(ref)s.", ref=fired.ref), "success")
                return redirect(url_for("case_pages.case", ref=fired.ref), code=303)
    sources = sources_of(account.role)
    words = dict(sources)
    return render_template(
        "sources/new_concern.html", values=values, errors=errors, sources=sources,
        anonymous_sources=", ".join(words[c] for c in words if c in policy.anonymous_sources),
        contact_sources=", ".join(words[c] for c in words if c in policy.contact_sources),
    ), status if errors else 200


@bp.route("/cases/<ref>/identity", methods=["GET", "POST"])
@page(*sorted(IDENTITY_ROLES))
def identity(ref: str):
    """Complete the identity of the person a case is about, once the number is known."""
    outline = outline_or_404(ref)
    chart = chart_of(_db(), outline.flowchart_version)
    view = {"outline": outline, "chart": chart, "version": outline.version, "stale": None, "errors": {},
            "identity_number": ""}
    if request.method == "GET":
        return render_template("sources/identity.html", **view)
    view.update(identity_number=request.form.get("identity_number", "").strip(), version=form_version())
    try:
        done = complete_identity(_db(), signed_in().actor, ref, view["identity_number"],
                                 expected_version=view["version"], now=now())
    except (CaseNotFound, AccessDenied, KeyDestroyed):
        abort(404)
    except NotPermitted:
        abort(403)
    except StaleCase:
        view["stale"] = _("Someone else changed this case since you opened this form. Nothing was saved.")
        return render_template("sources/identity.html", **view), 409
    except InvalidIdentityNumber as exc:
        view["errors"] = {"identity_number": problem_text(exc, "invalid identity number")}
        return render_template("sources/identity.html", **view), 400
    except InvalidConcern as exc:
        if exc.field == "case":
            abort(404)  # the case was erased
        view["errors"] = {"identity_number": problem_text(exc, exc.field)}
        return render_template("sources/identity.html", **view), 400
    flash(_("The identity has been completed."), "success")
    if done.shown:
        flash(ngettext("%(num)d other case about the same person was found and linked.",
                       "%(num)d other cases about the same person were found and linked.", len(done.shown)),
              "success")
    if done.stopped:
        flash(_("The person is an adult: the time limits for a concern about a child no longer run."), "success")
    if done.started:
        flash(_("The person is a child: the time limits for a concern about a child run from the receipt."),
              "success")
    if done.now_child:
        flash(_("The person is a child, but the case was handled as an adult's: make the protection assessment "
                "at once."), "warning")
    return redirect(url_for("case_pages.case", ref=ref), code=303)
