"""A case's decisions in the browser: the list on the case page, the letter as PDF, the notification form.

Every rule is the server's (`cases.decisions`): the list is refused to anyone without a ground on the case (an
emergency reader sees the case, not its decisions), the letter is a logged read, the notification a change of
the case that takes the version the form was opened on. The list shows words from policy data, not codes.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from cases.decisions import NotificationForm, case_decisions, decision_letter, record_notification
from cases.errors import (
    AccessDenied,
    CaseNotFound,
    InvalidConcern,
    KeyDestroyed,
    NotPermitted,
    RecordNotFound,
    StaleCase,
)
from cases.flowcharts import chart_of
from policies.decisions import load_decisions
from policies.law import load_law
from web.access import CASE_ROLES, page, signed_in
from web.clock import now, today
from web.i18n import error_text, label
from web.step_forms import outline_or_404

__all__ = ["bp", "decision_rows"]

bp = Blueprint("decisions", __name__)


def _db():
    return current_app.extensions["vidoro.db"]


@bp.app_template_global()
def decision_rows(ref: str, flowchart_version: str) -> list[dict[str, Any]]:
    """The case's decisions in words, for the case page; none for a reader without a ground on the case."""
    try:
        found = case_decisions(_db(), signed_in().actor, ref)
    except (CaseNotFound, AccessDenied, NotPermitted):
        return []
    if not found:
        return []
    policy, law, chart = load_decisions(), load_law(), chart_of(_db(), flowchart_version)
    rows = []
    for d in found:
        provision = law[d.provision]
        delegation = policy.delegations.get(d.delegation)
        rows.append({
            "id": d.id, "kind": label(policy.kinds[d.kind].label) if d.kind in policy.kinds else d.kind,
            "intervention": label(chart.states[d.to_state].label) if d.kind == "grant_intervention"
            and d.to_state in chart.states else None,
            "provision": provision.cite(), "provision_words": label(provision.words),
            "decided_at": d.decided_at, "maker": d.decided_by_name,
            "role": label(chart.roles[d.role]) if d.role in chart.roles else d.role,
            "delegation": label(delegation.label) if delegation else d.delegation, "appealable": d.appealable,
            "notices": [{"recipient": label(policy.recipients[n.recipient]), "method": label(policy.methods[n.method]),
                         "on": n.notified_on, "by": n.recorded_by_name} for n in d.notices],
        })
    return rows


@bp.get("/cases/<ref>/decisions/<decision_id>/letter.pdf")
@page(*CASE_ROLES)
def letter(ref: str, decision_id: str):
    """The decision letter as PDF; reading it is logged (`cases.decisions.letter`)."""
    try:
        made = decision_letter(_db(), signed_in().actor, decision_id,
                               municipality=current_app.config["VIDORO_MUNICIPALITY"], ref=ref, now=now())
    except (RecordNotFound, AccessDenied, KeyDestroyed):
        abort(404)
    return Response(made.pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{made.filename}"', "Cache-Control": "no-store"})


@bp.route("/cases/<ref>/decisions/<decision_id>/notifications", methods=["GET", "POST"])
@page("caseworker", "decider")  # the notifying roles of policies/decisions.toml; cases.decisions checks them too
def notify(ref: str, decision_id: str):
    """Record that the person (or a child's guardians) was told of a decision: to whom, how and when."""
    policy = load_decisions()
    if signed_in().role not in policy.notifying_roles:
        abort(403)
    outline = outline_or_404(ref)
    row = next((r for r in decision_rows(ref, outline.flowchart_version) if r["id"] == decision_id), None)
    if row is None:
        abort(404)
    view: dict[str, Any] = {
        "ref": ref, "decision": row, "errors": {}, "stale": None,
        "values": {"recipient": "person", "method": "letter", "notified_on": today().isoformat()},
        "recipients": [(code, label(words)) for code, words in policy.recipients.items()],
        "methods": [(code, label(words)) for code, words in policy.methods.items()],
        "version": outline.version,
    }
    if request.method == "GET":
        return render_template("decisions/notify.html", **view)
    values = {name: request.form.get(name, "").strip() for name in ("recipient", "method", "notified_on")}
    view["values"] = values
    try:
        version = int(request.form.get("version", ""))
    except ValueError:
        abort(400)
    try:
        on = date.fromisoformat(values["notified_on"])
    except ValueError:
        view["errors"] = {"notified_on": _("Give the day as YYYY-MM-DD.")}
        return render_template("decisions/notify.html", **view), 400
    try:
        record_notification(_db(), signed_in().actor, decision_id,
                            NotificationForm(values["recipient"], values["method"], on),
                            expected_version=version, now=now())
    except (RecordNotFound, AccessDenied, KeyDestroyed):
        abort(404)
    except NotPermitted:
        abort(403)
    except StaleCase:
        view["stale"] = _("Someone changed this case since you opened this form. Nothing was saved.")
        view["version"] = outline_or_404(ref).version
        return render_template("decisions/notify.html", **view), 409
    except InvalidConcern as exc:
        view["errors"] = {exc.field if exc.field in values else "recipient": error_text(exc)}
        return render_template("decisions/notify.html", **view), 400
    flash(_("The notification was recorded."), "success")
    return redirect(url_for("case_pages.case", ref=ref, _anchor="h-decisions"), code=303)

