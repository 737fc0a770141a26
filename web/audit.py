"""The auditor's pages: the verification status, the three logs, and emergency access reviews.

None of them shows case content: the logs hold pseudonyms, staff ids, codes and hashes only. The one
exception is the emergency review page, which shows each emergency access's reason (opened with the case's
key: reviewing it is the ground) next to what was read, by whom and when, takes a verdict, and puts the
requests waiting for approval first (decision makers other than the requester decide them). Verification
checks both logs against this instance's own verifier key and its stored checkpoints (the command line with
`--key` and `--checkpoint` also catches a replaced key or a rewritten log). It streams both logs whole, so
it runs only when an auditor asks (POST), one at a time per process, and its summary — counts, roots and the
first findings, no personal data — is kept in `last-verification.json` in the instance folder for the
overview: a file, not a table, because it is a cache of a check anyone can run again, and needs no migration.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from cases.audit import auditing, read_volume
from cases.audit.signing import LogSigner
from cases.casework.emergency import NOT_JUSTIFIED, REVIEWING_ROLES, decide_approval, mark_reviewed
from cases.casework.reviews import approval_reviews, emergency_reviews
from cases.errors import InvalidConcern, KeyMaterialError, NotPermitted, RecordNotFound
from cases.flowcharts import current_engine
from policies.limits import (
    EMERGENCY_APPROVING_ROLES,
    EMERGENCY_FREE_PER_WINDOW,
    EMERGENCY_WINDOW,
    REVIEW_COMMENT_MIN_CHARS,
)
from web.access import page, signed_in
from web.clock import now
from web.i18n import error_text, label, locale
from web.journal import OTHER_ENTRIES

__all__ = ["LAST_VERIFICATION", "bp"]

bp = Blueprint("audit", __name__)

LAST_VERIFICATION = "last-verification.json"
_running = threading.Lock()  # one verification at a time: each reads both logs whole

ACTION_LABELS = {"read": lazy_gettext("Read case data"), "disclose": lazy_gettext("Disclosure"),
                 "disclosure_refused": lazy_gettext("Disclosure refused"),
                 "review": lazy_gettext("Emergency reasons reviewed")}
GROUND_LABELS = {"role": lazy_gettext("role"), "assignment": lazy_gettext("assignment"),
                 "emergency": lazy_gettext("emergency access"), "referral": lazy_gettext("referral"),
                 "consent": lazy_gettext("consent"), "legal_basis": lazy_gettext("legal basis"),
                 "review": lazy_gettext("review of emergency access"), "none": lazy_gettext("none")}
FILTER_FIELDS = ("case_ref", "actor", "kind", "from", "to")
MAX_COMMENT = 2000
READ_BASIS_LABELS = {"assignments": lazy_gettext("their open assignments: %(num)d"),
                     "intake_cases": lazy_gettext("the cases in intake: %(num)d"),
                     "decider_policy": lazy_gettext("a decision maker's ordinary hour: %(num)d"),
                     "none": lazy_gettext("nothing: the role reads no case records")}


def _read_basis(flag: read_volume.ReadVolumeFlag) -> str:
    """What the flagged account's work explains, in the visitor's language."""
    return str(READ_BASIS_LABELS[flag.basis]) % {"num": flag.explained}
ADMINISTRATION_LABELS = {
    "create": lazy_gettext("Account created"), "set_role": lazy_gettext("Role changed"),
    "request_role": lazy_gettext("Role asked for"), "approve_role": lazy_gettext("Role approved"),
    "refuse_role": lazy_gettext("Role refused"), "withdraw_role": lazy_gettext("Request withdrawn"),
    "disable": lazy_gettext("Disabled"), "enable": lazy_gettext("Enabled"),
    "reset_password": lazy_gettext("Password set"),
}


# --- verification -------------------------------------------------------------------------------------------


@bp.get("/audit")
@page("auditor")
def overview():
    db = current_app.extensions["vidoro.db"]
    try:
        key, key_problem = _signer().verifier_key, None
    except KeyMaterialError:
        key, key_problem = None, _no_signing_key()
    last = _read_last()
    return render_template("audit/overview.html", last=last, key=key, key_problem=key_problem,
                           checkpoints=auditing.latest_checkpoints(db, signed_in().actor),
                           read_flags=read_volume.read_volume_flags(db, signed_in().actor, now=now()),
                           read_floor=read_volume.MIN_FLAGGED_READS, read_basis=_read_basis,
                           meaning=lambda kind: auditing.finding_meaning(kind, locale()))


@bp.post("/audit/verify")
@page("auditor")
def run_verify():
    try:
        signer = _signer()
    except KeyMaterialError:
        flash(_("Verification could not start: %(problem)s", problem=_no_signing_key()), "error")
        return redirect(url_for("audit.overview"), 303)
    if not _running.acquire(blocking=False):
        flash(_("A verification is already running. Wait for it to finish, then reload this page."), "warning")
        return redirect(url_for("audit.overview"), 303)
    try:
        summary = auditing.verify_logs(current_app.extensions["vidoro.db"], signed_in().actor,
                                       signer.verifier_key, origin_prefix=signer.name)
        _write_last(summary)
    finally:
        _running.release()
    if summary["ok"]:
        flash(_("Verification finished: everything agrees."), "success")
    else:
        flash(_("Verification finished: the logs do not agree. See the findings below."), "error")
    return redirect(url_for("audit.overview"), 303)


def _signer() -> LogSigner:
    return LogSigner.open(current_app.config["VIDORO_KEYS"])


def _no_signing_key() -> str:
    # Not the key store's own message: that names a folder on the server, which the page does not show.
    return _("this instance has no usable log signing key. The administrator restores it from the key backup, "
             "or runs `vidoro init` to create one (auditors then need its new verifier key).")


def _last_path() -> Path:
    return Path(current_app.instance_path) / LAST_VERIFICATION


def _read_last() -> dict | None:
    """The kept summary with its times as datetimes, or None (never run, or the file is unreadable)."""
    try:
        summary = json.loads(_last_path().read_text(encoding="utf-8"))
        summary["started_at"] = datetime.fromisoformat(summary["started_at"])
        summary["finished_at"] = datetime.fromisoformat(summary["finished_at"])
        return summary
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_last(summary: dict) -> None:
    """Replace the kept summary in one step (a reader never sees half a file); owner-only, like the instance."""
    path = _last_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.partial")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=1)
    os.replace(temp, path)


# --- the logs ------------------------------------------------------------------------------------------------


@bp.get("/audit/transitions")
@page("auditor")
def transitions():
    chart = current_engine().chart
    kinds = [(auditing.known_triggers()[0], _("Register a concern"))]
    kinds += [(trigger, _trigger_label(chart, trigger)) for trigger in chart.triggers]
    kinds += [(code, label(words)) for code, words in OTHER_ENTRIES.items()]
    return _log_page("audit/transitions.html", auditing.transition_entries, kinds, chart=chart)


@bp.get("/audit/access")
@page("auditor")
def access():
    kinds = [(action, str(ACTION_LABELS[action])) for action in auditing.ACTIONS]
    return _log_page("audit/access.html", auditing.access_entries, kinds, chart=current_engine().chart,
                     action_labels=ACTION_LABELS, ground_labels=GROUND_LABELS)


@bp.get("/audit/administration")
@page("auditor")
def administration():
    try:
        number = max(1, int(request.args.get("page", "1")))
    except ValueError:
        number = 1
    result = auditing.administration_entries(current_app.extensions["vidoro.db"], signed_in().actor,
                                             page=number)
    return render_template("audit/administration.html", result=result, shown={},
                           action_labels=ADMINISTRATION_LABELS)


def _log_page(template: str, listing, kinds: list[tuple[str, str]], **context):
    values = {name: request.args.get(name, "").strip() for name in FILTER_FIELDS}
    wanted, errors = _parse_filters(values)
    try:
        number = max(1, int(request.args.get("page", "1")))
    except ValueError:
        number = 1
    result = None
    if not errors:
        try:
            result = listing(current_app.extensions["vidoro.db"], signed_in().actor, wanted, page=number)
        except InvalidConcern as exc:
            errors[{"until": "to"}.get(exc.field, exc.field)] = error_text(exc)
    shown = {name: value for name, value in values.items() if value}
    return render_template(template, values=values, errors=errors, result=result, kinds=kinds, shown=shown,
                           kind_labels=dict(kinds), labels=_filter_labels(), **context), 400 if errors else 200


def _parse_filters(values: dict[str, str]) -> tuple[auditing.LogFilter, dict[str, str]]:
    """The filter form's values as a `LogFilter`; dates are whole days in Stockholm time."""
    errors: dict[str, str] = {}
    days: dict[str, date] = {}
    for name in ("from", "to"):
        if values[name]:
            try:
                days[name] = date.fromisoformat(values[name])
            except ValueError:
                errors[name] = _("Enter a date like 2026-11-26.")
    if "from" in days and "to" in days and days["to"] < days["from"]:
        errors["to"] = _("The end date is before the start date.")
    zone = ZoneInfo(current_engine().chart.timezone)

    def start_of(day: date | None) -> datetime | None:
        return None if day is None else datetime.combine(day, time(0), zone)

    until = days.get("to")
    wanted = auditing.LogFilter(
        case_ref=values["case_ref"] or None, username=values["actor"] or None, kind=values["kind"] or None,
        since=start_of(days.get("from")), until=start_of(until + timedelta(days=1)) if until else None)
    return wanted, errors


def _filter_labels() -> dict[str, str]:
    return {"case_ref": _("Case"), "actor": _("Staff member (username)"), "kind": _("Step or action"),
            "from": _("From date"), "to": _("To date")}


def _trigger_label(chart, trigger: str) -> str:
    for transition in chart.transitions:
        if transition.trigger == trigger:
            return label(transition.label)
    return trigger


# --- emergency access reviews --------------------------------------------------------------------------------


@bp.get("/audit/emergency")
@page(*REVIEWING_ROLES)
def emergency():
    return _emergency_page()


@bp.post("/audit/emergency/<int:seq>/reviewed", endpoint="mark_reviewed")
@page(*REVIEWING_ROLES)
def mark_reviewed_view(seq: int):
    verdict = request.form.get("verdict", "")
    comment = request.form.get("comment", "").strip()
    if len(comment) > MAX_COMMENT:
        return _emergency_page(_("At most %(n)d characters.", n=MAX_COMMENT), 400)
    try:
        mark_reviewed(current_app.extensions["vidoro.db"], signed_in().actor, seq, verdict=verdict,
                      comment=comment or None, now=now())
    except RecordNotFound:
        return _emergency_page(_("There is no emergency access with that number."), 404)
    except NotPermitted:
        return _emergency_page(_("You made emergency access %(seq)d yourself, so you cannot review it. Someone "
                                 "else with the right to review must do it.", seq=seq), 403)
    except InvalidConcern as exc:
        if exc.field == "seq":
            return _emergency_page(_("Emergency access %(seq)d has already been reviewed.", seq=seq), 409)
        return _emergency_page(error_text(exc), 400)
    flash(_("Your verdict on emergency access %(seq)d is recorded.", seq=seq), "success")
    return redirect(url_for("audit.emergency", all=request.args.get("all") or None), 303)


@bp.post("/audit/emergency/requests/<request_id>/decision", endpoint="decide_approval")
@page(*EMERGENCY_APPROVING_ROLES)
def decide_approval_view(request_id: str):
    decision = request.form.get("decision")
    if decision not in ("approve", "refuse"):
        return _emergency_page(_("Choose whether to approve or refuse the request."), 400)
    try:
        decide_approval(current_app.extensions["vidoro.db"], signed_in().actor, request_id,
                        approve=decision == "approve", now=now())
    except RecordNotFound:
        return _emergency_page(_("There is no such request for approval."), 404)
    except NotPermitted:
        return _emergency_page(_("You asked for this approval yourself, so someone else must decide it."), 403)
    except InvalidConcern:
        return _emergency_page(_("This request has already been decided."), 409)
    if decision == "approve":
        flash(_("The request is approved: the requester can now open the case once."), "success")
    else:
        flash(_("The request is refused: the case stays closed to the requester."), "success")
    return redirect(url_for("audit.emergency", all=request.args.get("all") or None), 303)


def _emergency_page(refusal: str | None = None, status: int = 200):
    show_all = request.args.get("all") == "1"
    db, actor = current_app.extensions["vidoro.db"], signed_in().actor
    reviews = emergency_reviews(db, actor, pending_only=not show_all)
    requests = approval_reviews(db, actor, pending_only=not show_all)
    # Those found not justified stay in view until someone looks at everything (`?all=1` shows them all).
    unjustified = [] if show_all else emergency_reviews(db, actor, verdict=NOT_JUSTIFIED)
    return render_template("audit/emergency.html", reviews=reviews, requests=requests, show_all=show_all,
                           unjustified=unjustified,
                           refusal=refusal, may_decide=actor.role in EMERGENCY_APPROVING_ROLES,
                           min_comment=REVIEW_COMMENT_MIN_CHARS, max_comment=MAX_COMMENT,
                           free=EMERGENCY_FREE_PER_WINDOW,
                           hours=int(EMERGENCY_WINDOW.total_seconds() // 3600)), status
