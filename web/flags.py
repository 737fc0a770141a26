"""Flags on a case in the browser: the case page's section, the routine on every decision page, set and clear.

Every rule is the server's (`cases.flags`): only staff with a ground on the case see its flags; reporters and
partners never do (a flag is sensitive data about the case); only the roles of `policies/flags.toml` set or
clear one, on the version of the case the form was opened on. Words come from `flags.toml`, never codes.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from cases.errors import AccessDenied, CaseNotFound, InvalidConcern, KeyDestroyed, NotPermitted, StaleCase
from cases.flags import case_flags, clear_flag, consent_warnings, flags_on_case, set_flag
from cases.flowcharts import chart_of
from policies.flags import FLAG_READING_ROLES, load_flags
from policies.law import load_law
from web.access import page, signed_in
from web.clock import now
from web.i18n import label, locale
from web.step_forms import form_version, outline_or_404

__all__ = ["bp", "consent_flag_warnings", "flag_panel", "flag_section"]

bp = Blueprint("flags", __name__)
MAX_REASON = 2000


def _db():
    return current_app.extensions["vidoro.db"]


def _words(code: str) -> dict[str, Any]:
    """A flag in words: its name, its routine and the provisions it rests on, in the page's language."""
    flag, law = load_flags()[code], load_law()
    return {"code": code, "label": label(flag.label), "routine": [label(step) for step in flag.routine],
            "law": [label(law[key].label()) for key in flag.law]}


@bp.app_template_global()
def flag_panel(ref: str) -> list[dict[str, Any]]:
    """The flags on the case with their routines, for a decision page; none for a reader without a ground.

    No reason is opened: the page shows what the flag calls for, not why it was set (the case page does)."""
    if signed_in().role not in FLAG_READING_ROLES:
        return []
    try:
        codes = flags_on_case(_db(), signed_in().actor, ref)
    except (CaseNotFound, AccessDenied, NotPermitted):
        return []
    return [_words(flag.code) for flag in load_flags() if flag.code in codes]


@bp.app_template_global()
def consent_flag_warnings(ref: str) -> list[str]:
    """The guardians' warnings of the flags on the case, for the form recording a consent (`flags.toml`)."""
    if signed_in().role not in FLAG_READING_ROLES:
        return []
    try:
        return [w.text(locale()) for w in consent_warnings(_db(), signed_in().actor, ref, now=now())]
    except (CaseNotFound, AccessDenied, NotPermitted):
        return []


@bp.app_template_global()
def flag_section(ref: str) -> dict[str, Any] | None:
    """The case page's flags: those on the case with why and when, those cleared, and what this person may do.

    Opening the reasons is a logged read (`cases.flags.case_flags`); None for a reader without a ground."""
    actor = signed_in().actor
    if actor.role not in FLAG_READING_ROLES:
        return None
    try:
        found = case_flags(_db(), actor, ref, now=now())
    except (CaseNotFound, AccessDenied, NotPermitted):
        return None
    policy = load_flags()
    on = {item.flag for item in found.active}
    return {
        "active": [{**_words(i.flag), "reason": i.reason, "set_at": i.set_at,
                    "may_clear": actor.role in policy[i.flag].clear_roles} for i in found.active],
        "cleared": [{"label": label(policy[i.flag].label), "set_at": i.set_at, "cleared_at": i.cleared_at,
                     "clear_reason": i.clear_reason} for i in found.items if not i.active and i.flag in policy],
        "may_set": any(actor.role in f.set_roles and f.code not in on for f in policy),
    }


@bp.route("/cases/<ref>/flags/new", methods=["GET", "POST"])
@page(*sorted({role for f in load_flags() for role in f.set_roles}))
def new_flag(ref: str):
    """Set a flag on the case, with the reason (sealed; the log holds the flag's code only)."""
    outline = outline_or_404(ref)
    actor = signed_in().actor
    on = {f["code"] for f in flag_panel(ref)}
    choices = [(f.code, label(f.label)) for f in load_flags() if actor.role in f.set_roles and f.code not in on]
    if not choices:
        abort(403)
    view: dict[str, Any] = {"outline": outline, "chart": chart_of(_db(), outline.flowchart_version),
                            "version": outline.version, "stale": None, "errors": {}, "choices": choices,
                            "values": {"flag": "", "reason": ""},
                            "routines": [_words(code) for code, _name in choices]}
    if request.method == "GET":
        return render_template("flags/set.html", **view)
    values = {"flag": request.form.get("flag", ""), "reason": request.form.get("reason", "").strip()}
    view.update(values=values, version=form_version())
    errors = {}
    if values["flag"] not in dict(choices):
        errors["flag"] = _("Choose a flag.")
    if not values["reason"] or len(values["reason"]) > MAX_REASON:
        errors["reason"] = _("Say why the case is flagged (at most %(n)d characters).", n=MAX_REASON)
    if errors:
        return render_template("flags/set.html", **{**view, "errors": errors}), 400
    try:
        set_flag(_db(), actor, ref, values["flag"], values["reason"], expected_version=view["version"], now=now())
    except (CaseNotFound, AccessDenied, KeyDestroyed):
        abort(404)
    except NotPermitted:
        abort(403)
    except StaleCase:
        return render_template("flags/set.html", **{**view, "stale": _stale()}), 409
    except InvalidConcern as exc:
        field = exc.field if exc.field in values else "flag"
        return render_template("flags/set.html", **{**view, "errors": {field: _problem(field)}}), 400
    flash(_("The flag was set on the case."), "success")
    return redirect(url_for("case_pages.case", ref=ref, _anchor="h-flags"), code=303)


@bp.route("/cases/<ref>/flags/<flag>/clear", methods=["GET", "POST"])
@page(*sorted({role for f in load_flags() for role in f.clear_roles}))
def clear(ref: str, flag: str):
    """Clear a flag from the case, with the reason; the record of the flag stays."""
    policy = load_flags()
    if flag not in policy:
        abort(404)
    if signed_in().role not in policy[flag].clear_roles:
        abort(403)
    outline = outline_or_404(ref)
    if flag not in {f["code"] for f in flag_panel(ref)}:
        abort(404)
    view: dict[str, Any] = {"outline": outline, "chart": chart_of(_db(), outline.flowchart_version),
                            "version": outline.version, "stale": None, "errors": {}, "reason": "",
                            "flag": _words(flag)}
    if request.method == "GET":
        return render_template("flags/clear.html", **view)
    view.update(reason=request.form.get("reason", "").strip(), version=form_version())
    if not view["reason"] or len(view["reason"]) > MAX_REASON:
        return render_template("flags/clear.html", **{**view, "errors": {"reason": _problem("reason")}}), 400
    try:
        clear_flag(_db(), signed_in().actor, ref, flag, view["reason"], expected_version=view["version"], now=now())
    except (CaseNotFound, AccessDenied, KeyDestroyed):
        abort(404)
    except NotPermitted:
        abort(403)
    except StaleCase:
        return render_template("flags/clear.html", **{**view, "stale": _stale()}), 409
    except InvalidConcern:
        return render_template("flags/clear.html", **{**view, "errors": {"reason": _problem("reason")}}), 400
    flash(_("The flag was cleared from the case."), "success")
    return redirect(url_for("case_pages.case", ref=ref, _anchor="h-flags"), code=303)


def _problem(field: str) -> str:
    if field == "flag":
        return _("Choose a flag the case does not have yet.")
    return _("Give a reason (at most %(n)d characters).", n=MAX_REASON)


def _stale() -> str:
    return _("Someone changed this case since you opened this form. Nothing was saved.")
