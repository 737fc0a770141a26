"""The case page: what this person may see of a case, its journal and consents, and what they may do now.

Opening the page is a read of personal data, decided and logged by `cases.casework.access.read_case`. A case that
does not exist and one this person has no ground to read look the same (404); intake officers,
caseworkers and decision makers are offered emergency access with a written reason on both, which opens an
existing case and flags the read for review (a reason that says too little, or an opening that waits for
approval, is refused by `cases.casework.access` with its reason shown).
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import gettext as _

from cases import available_triggers
from cases.casework.access import read_case
from cases.errors import AccessDenied, CaseNotFound, EmergencyApprovalNeeded, EmergencyReasonTooShort, InvalidConcern
from cases.flowcharts import chart_of
from cases.links import EARLIER, LATER, RELATIVE_MATTER, SUBJECT_CASE, linked_cases
from policies.access import IDENTITY_ROLES
from policies.limits import EMERGENCY_REASON_MIN_CHARS, EMERGENCY_REASON_MIN_WORDS
from web.access import CASE_ROLES, page, signed_in
from web.clock import now, today
from web.i18n import error_text
from web.journal import OTHER_ENTRIES, case_journal, kind_label
from web.step_forms import refusal_text
from workflow.facts import age_on

__all__ = ["bp", "open_case_or_404"]

bp = Blueprint("case_pages", __name__)
MAX_REASON = 2000


def open_case_or_404(ref: str, *, emergency_reason: str | None = None):
    """Read the case for the signed-in person, or answer 404 (no such case, or no ground to see it)."""
    try:
        return read_case(current_app.extensions["vidoro.db"], signed_in().actor, ref,
                         emergency_reason=emergency_reason, now=now())
    except (CaseNotFound, AccessDenied):
        abort(404)


@bp.get("/cases/<ref>")
@page(*CASE_ROLES)
def case(ref: str):
    db = current_app.extensions["vidoro.db"]
    actor = signed_in().actor
    try:
        record = read_case(db, actor, ref, now=now())
    except (CaseNotFound, AccessDenied):
        return _closed_door(ref, {}, ""), 404
    return _render(record)


@bp.post("/cases/<ref>/emergency")
@page(*CASE_ROLES)
def emergency(ref: str):
    reason = request.form.get("reason", "").strip()
    errors = {}
    if not reason:
        errors["reason"] = _("Write why you need to open this case now.")
    elif len(reason) > MAX_REASON:
        errors["reason"] = _("At most %(n)d characters.", n=MAX_REASON)
    if errors:
        return _closed_door(ref, errors, reason), 400
    try:
        record = read_case(current_app.extensions["vidoro.db"], signed_in().actor, ref,
                           emergency_reason=reason, now=now())
    except EmergencyReasonTooShort as exc:  # said alike whether the case exists or not (`cases.casework.access`)
        errors["reason"] = error_text(exc)
        return _closed_door(ref, errors, reason), 400
    except EmergencyApprovalNeeded as exc:
        return _closed_door(ref, {}, reason, waiting=error_text(exc)), 403
    except (CaseNotFound, AccessDenied, InvalidConcern):
        return _closed_door(ref, {}, ""), 404
    return _render(record)


def _closed_door(ref: str, errors: dict[str, str], reason: str, *, waiting: str | None = None) -> str:
    return render_template("case_closed_door.html", ref=ref, errors=errors, reason=reason, waiting=waiting,
                           min_words=EMERGENCY_REASON_MIN_WORDS, min_chars=EMERGENCY_REASON_MIN_CHARS)


def _render(record):
    db = current_app.extensions["vidoro.db"]
    actor = signed_in().actor
    chart = chart_of(db, record.flowchart_version)
    options = (available_triggers(db, actor, record.ref, now=now())
               if record.ground != "emergency" and not record.erased else ())
    return render_template("case.html", record=record, chart=chart, options=options,
                           time_in_states=_time_in_states(record), journal=case_journal(record),
                           kind_label=kind_label, why_not=lambda r: refusal_text(chart, r),
                           links=_links(db, actor, record), approximate_age=_approximate_age(record),
                           identity_roles=IDENTITY_ROLES)


def _approximate_age(record) -> int | None:
    """The approximate age today, from the birth date estimated at registration (`cases.casework.forms`)."""
    birth = record.person.get("birth_date") if record.age_approximate and not record.erased else None
    return age_on(date.fromisoformat(birth), today()) if birth else None


def _links(db, actor, record) -> list[dict[str, object]]:
    """The linked cases this person may also read (the same person's, or a relative's own matter), each state
    in its own version's words.

    Only on a ground of their own (not emergency access): `cases.links` shows a link only with a ground on
    both cases, and logs that it was shown.
    """
    if record.ground == "emergency":
        return []
    return [{"ref": link.ref, "relation": RELATIONS[link.relation](), "received_at": link.received_at,
             "state": chart_of(db, link.flowchart_version).states[link.state].label}
            for link in linked_cases(db, actor, record.ref, now=now())]


# How a linked case stands to the one shown, in words (`cases.links`).
RELATIONS = {
    EARLIER: lambda: _("Earlier case"),
    LATER: lambda: _("Later case"),
    RELATIVE_MATTER: lambda: _("Relative's own matter"),
    SUBJECT_CASE: lambda: _("The case the support was offered from"),
}


def _time_in_states(record) -> list[tuple[str, object, object]]:
    """(state, entered, left) for each stay on the case's path; `left` is None for where it stands now."""
    stays: list[tuple[str, object, object]] = []
    for entry in record.journal:
        if entry["trigger"] in OTHER_ENTRIES:  # a notification, kommunicering: the case stays where it is
            continue
        if stays:
            stays[-1] = (stays[-1][0], stays[-1][1], entry["at"])
        stays.append((entry["to"], entry["at"], None))
    return stays
