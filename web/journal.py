"""The journal in the browser: the timeline on the case page, and the pages that write, edit, sign, delete and
correct notes.

Every decision is `cases.journal`'s: who may write (the roles with a ground on the case), whose draft it is, that
a signed note never changes. The pages only show what it answers; a refusal it gives is shown, never bypassed.
Reading the notes is a read of personal data, logged by `cases.journal.read_journal` each time (the case page,
the form that edits or corrects a note). Notes are not shown through emergency access: it opens the case's
record, and the journal is for those with a ground on the case.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from cases.casework.outline import case_outline
from cases.errors import (
    AccessDenied,
    CaseNotFound,
    InvalidConcern,
    KeyDestroyed,
    NoteNotFound,
    NoteNotSigned,
    NoteSigned,
    NotPermitted,
)
from cases.flowcharts import chart_of
from cases.journal import NoteForm, NoteItem, correct_note, delete_note, edit_note, read_journal, sign_note, write_note
from policies.decisions import NOTIFIED
from policies.flags import FLAG_CLEARED, FLAG_SET
from policies.journal import NOTE_MAX_CHARS, NOTE_ROLES, load_journal
from policies.model import Label
from policies.relatives import RELATIVE_INFORMED
from policies.routines.retention import HOLD_LIFTED, HOLD_PLACED
from policies.rules import COMPLETE_IDENTITY, WITHHOLD_FEEDBACK
from web.access import page, signed_in
from web.clock import now, today
from web.i18n import label, locale, role_label
from workflow.hearing import LOG_ACTIONS
from workflow.interventions import LOG_TRIGGERS as INTERVENTION_STEPS

__all__ = ["OTHER_ENTRIES", "bp", "case_journal", "step_name"]

bp = Blueprint("journal", __name__)

LABELS = {"kind": lazy_gettext("Kind of note"), "occurred_on": lazy_gettext("Date of what happened"),
          "text": lazy_gettext("Note")}


def _db():
    return current_app.extensions["vidoro.db"]


# The transition log's entries that are no step of the flowchart (the case stays in its state), named once for
# the case's timeline, the API's journal and the auditor's log page.
OTHER_ENTRIES = {
    NOTIFIED: Label("Underrättelse om beslut", "Notification of a decision"),
    **dict(zip(LOG_ACTIONS, (Label("Material kommunicerat före beslut", "Material communicated before a decision"),
                             Label("Svar på kommunicering registrerat", "Answer to a communication recorded"),
                             Label("Undantag från kommunicering registrerat",
                                   "Exception from communication recorded")), strict=True)),
    WITHHOLD_FEEDBACK: Label("Beslut att inte lämna återkoppling till anmälaren",
                             "Decision not to give the reporter feedback"),
    # an intervention's steps (flowchart version 3 on: workflow.interventions.LOG_TRIGGERS)
    **dict(zip(INTERVENTION_STEPS, (
        Label("Insats föreslagen", "Intervention proposed"),
        Label("Beslut om insats", "Intervention granted"),
        Label("Beslut att inte bevilja insats", "Intervention not granted"),
        Label("Insats påbörjad", "Intervention started"),
        Label("Insats avslutad", "Intervention ended"),
        Label("Förslag om insats tillbakataget", "Intervention proposal withdrawn"),
        Label("Insats avslutad: samtycket gäller inte längre", "Intervention ended: the consent no longer holds"),
    ), strict=True)),
    COMPLETE_IDENTITY: Label("Identiteten kompletterad", "Identity completed"),
    RELATIVE_INFORMED: Label("Anhörig informerad om stöd", "Relative told that support exists"),
    FLAG_SET: Label("Flagga satt på ärendet", "Flag set on the case"),
    FLAG_CLEARED: Label("Flagga borttagen från ärendet", "Flag cleared from the case"),
    HOLD_PLACED: Label("Ärendet undantaget från gallring", "Case held from thinning"),
    HOLD_LIFTED: Label("Undantaget från gallring upphävt", "Hold from thinning lifted"),
}


def step_name(chart, trigger: str, from_state: str | None, to_state: str, lang: str) -> str:
    """A log entry's own name: the flowchart step's label, an entry beside the steps (`OTHER_ENTRIES`), or the
    state a case began in (registering)."""
    step = chart.transition(trigger, from_state) if from_state else None
    if step is not None:
        return step.label(lang)
    if trigger in OTHER_ENTRIES:
        return OTHER_ENTRIES[trigger](lang)
    return chart.states[to_state].label(lang)


def kind_label(code: str) -> str:
    kinds = load_journal().kinds
    return label(kinds[code]) if code in kinds else code


def case_journal(record) -> dict[str, Any] | None:
    """The timeline for the case page (`web.case_pages`), or None where notes are not shown: through emergency
    access, or to a role that does not keep a journal. Each call is logged as a read of the notes."""
    actor = signed_in().actor
    if record.ground == "emergency" or actor.role not in NOTE_ROLES:
        return None
    try:
        found = read_journal(_db(), actor, record.ref, now=now())
    except (CaseNotFound, AccessDenied, NotPermitted):
        return None
    return _view(found, actor.id)


def _view(found, me: str) -> dict[str, Any]:
    charts: dict[str, Any] = {}
    lang = locale()
    items = []
    for item in found.items:
        if isinstance(item, NoteItem):
            items.append({"type": "note", "note": item, "kind": kind_label(item.note_kind),
                          "role": role_label(item.author_role), "mine": item.author_id == me})
            continue
        chart = charts.get(item.flowchart_version)
        if chart is None:
            chart = charts[item.flowchart_version] = chart_of(_db(), item.flowchart_version)
        items.append({"type": "step", "step": item, "role": role_label(item.role),
                      "name": step_name(chart, item.trigger, item.from_state, item.to_state, lang)})
    notes = {n.id: n for n in found.notes}
    return {"ref": found.ref, "erased": found.erased, "items": items, "notes": notes}


@bp.route("/cases/<ref>/notes/new", methods=["GET", "POST"])
@page(*sorted(NOTE_ROLES))
def new_note(ref: str):
    """Write a draft note, or (with `corrects`) a signed correction of a signed note."""
    corrects = request.values.get("corrects") or None
    corrected = _note_or_404(ref, corrects) if corrects else None
    if corrected is None:
        _ground_or_404(ref)
    if corrected is not None and not corrected.signed:
        abort(404)
    values = {"kind": "", "occurred_on": today().isoformat(), "text": ""}
    if corrected is not None:  # a correction is usually of the same event: its kind and date to start from
        values.update(kind=corrected.note_kind, occurred_on=corrected.occurred_on.isoformat())
    if request.method == "GET":
        return _form(ref, values, {}, corrected=corrected)
    values, form, errors = _read_form(corrects)
    if errors or form is None:
        return _form(ref, values, errors, corrected=corrected), 400
    try:
        (correct_note if corrects else write_note)(_db(), signed_in().actor, ref, form, now=now())
    except InvalidConcern as exc:
        return _form(ref, values, {exc.field: exc.text(locale()).removeprefix(f"{exc.field}: ")},
                     corrected=corrected), 400
    except (CaseNotFound, AccessDenied, KeyDestroyed, NoteNotFound, NoteNotSigned):
        abort(404)
    flash(_("The correction was signed and added to the journal.") if corrected
          else _("The note was saved as a draft. Sign it when it is complete."), "success")
    return _to_journal(ref)


@bp.route("/cases/<ref>/notes/<note_id>/edit", methods=["GET", "POST"])
@page(*sorted(NOTE_ROLES))
def edit(ref: str, note_id: str):
    """Change one's own draft; a signed note is not offered (and `cases.journal` refuses it)."""
    note = _note_or_404(ref, note_id)
    if note.signed or note.author_id != signed_in().actor.id:
        abort(404)
    values = {"kind": note.note_kind, "occurred_on": note.occurred_on.isoformat(), "text": note.text or ""}
    if request.method == "GET":
        return _form(ref, values, {}, note=note)
    values, form, errors = _read_form(None)
    if errors or form is None:
        return _form(ref, values, errors, note=note), 400
    try:
        edit_note(_db(), signed_in().actor, ref, note_id, form, now=now())
    except InvalidConcern as exc:
        return _form(ref, values, {exc.field: exc.text(locale()).removeprefix(f"{exc.field}: ")}, note=note), 400
    except NoteSigned:
        abort(409)
    except (CaseNotFound, AccessDenied, KeyDestroyed, NoteNotFound):
        abort(404)
    flash(_("The draft was saved."), "success")
    return _to_journal(ref)


@bp.post("/cases/<ref>/notes/<note_id>/sign")
@page(*sorted(NOTE_ROLES))
def sign(ref: str, note_id: str):
    try:
        sign_note(_db(), signed_in().actor, ref, note_id, now=now())
    except NoteSigned:
        abort(409)
    except (CaseNotFound, AccessDenied, KeyDestroyed, NoteNotFound):
        abort(404)
    flash(_("The note was signed. It can no longer be changed; write a correction if something is wrong."),
          "success")
    return _to_journal(ref)


@bp.post("/cases/<ref>/notes/<note_id>/delete")
@page(*sorted(NOTE_ROLES))
def delete(ref: str, note_id: str):
    try:
        delete_note(_db(), signed_in().actor, ref, note_id, now=now())
    except NoteSigned:
        abort(409)
    except (CaseNotFound, AccessDenied, KeyDestroyed, NoteNotFound):
        abort(404)
    flash(_("The draft was deleted."), "success")
    return _to_journal(ref)


def _ground_or_404(ref: str) -> None:
    """The form is offered only on a case the person has a ground on (the same 404 as for no case at all)."""
    try:
        case_outline(_db(), signed_in().actor, ref, now=now())  # no personal data: not a logged read
    except (CaseNotFound, AccessDenied):
        abort(404)


def _note_or_404(ref: str, note_id: str) -> NoteItem:
    """The note as its reader may see it (a logged read), or 404: no case, no ground, no such note."""
    try:
        found = read_journal(_db(), signed_in().actor, ref, now=now())
    except (CaseNotFound, AccessDenied, NotPermitted):
        abort(404)
    for note in found.notes:
        if note.id == note_id:
            return note
    abort(404)


def _read_form(corrects: str | None) -> tuple[dict[str, str], NoteForm | None, dict[str, str]]:
    values = {name: request.form.get(name, "") for name in ("kind", "occurred_on", "text")}
    values["kind"], values["occurred_on"] = values["kind"].strip(), values["occurred_on"].strip()
    errors: dict[str, str] = {}
    if values["kind"] not in load_journal().kinds:
        errors["kind"] = _("Choose what kind of note this is.")
    try:
        occurred_on = date.fromisoformat(values["occurred_on"]) if len(values["occurred_on"]) == 10 else None
    except ValueError:
        occurred_on = None
    if occurred_on is None:
        errors["occurred_on"] = _("Enter a date as YYYY-MM-DD.")
    elif occurred_on > today():
        errors["occurred_on"] = _("The date of what happened cannot be in the future.")
    if not values["text"].strip():
        errors["text"] = _("Write what happened.")
    elif len(values["text"]) > NOTE_MAX_CHARS:
        errors["text"] = _("At most %(n)d characters.", n=NOTE_MAX_CHARS)
    if errors or occurred_on is None:
        return values, None, errors
    return values, NoteForm(kind=values["kind"], occurred_on=occurred_on, text=values["text"], corrects=corrects), {}


def _form(ref: str, values: dict[str, str], errors: dict[str, str], *, corrected: NoteItem | None = None,
          note: NoteItem | None = None) -> str:
    kinds = [(code, label(words)) for code, words in load_journal().kinds.items()]
    heading = (_("Write a correction") if corrected else _("Edit the draft") if note else _("Write a journal note"))
    return render_template("journal/note_form.html", ref=ref, heading=heading, values=values, errors=errors,
                           labels=LABELS, kinds=kinds, corrected=corrected, note=note, kind_label=kind_label,
                           max_chars=NOTE_MAX_CHARS)


def _to_journal(ref: str):
    return redirect(url_for("case_pages.case", ref=ref) + "#h-journal", code=303)
