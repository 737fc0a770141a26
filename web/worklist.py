"""The work list of intake officers, caseworkers and decision makers: nearest deadline first."""

from __future__ import annotations

import html

from flask import Blueprint, current_app, render_template, request
from markupsafe import Markup, escape

from cases import worklist
from cases.flowcharts import current_engine
from web.access import CASE_ROLES, current_account, page
from web.clock import today
from web.i18n import label, local_time, locale
from web.i18n import text as _

__all__ = ["bp"]

bp = Blueprint("worklist", __name__)


@bp.get("/cases")
@page(*CASE_ROLES)
def work_list():
    engine = current_engine()
    chart = engine.chart
    state = request.args.get("state") or None
    if state not in chart.states:
        state = None
    try:
        number = max(1, int(request.args.get("page", "1")))
    except ValueError:
        number = 1
    listing = worklist.work_list(current_app.extensions["vidoro.db"], current_account().actor, today=today(),
                        state=state, page=number)
    lang = locale()
    states, deadlines = _labels(engine, lang)
    return render_template("worklist.html", listing=listing, rows=_rows(listing.items, states, deadlines),
                           state_options=_state_options(engine, lang, state), state=state)


_LABELS: dict[tuple[str, str], tuple[dict[str, Markup], dict[str, Markup]]] = {}


def _labels(engine, lang: str) -> tuple[dict[str, Markup], dict[str, Markup]]:
    """The flowchart version's state and deadline labels in `lang`, escaped: the same on every view."""
    key = (engine.version, lang)
    if key not in _LABELS:
        chart = engine.chart
        _LABELS[key] = ({name: escape(label(st.label, lang)) for name, st in chart.states.items()},
                        {name: escape(label(d.label, lang)) for name, d in chart.deadlines.items()})
    return _LABELS[key]


_OPTIONS: dict[tuple[str, str, str | None], Markup] = {}


def _state_options(engine, lang: str, chosen: str | None) -> Markup:
    """The state filter's options after "All states", `chosen` selected: the same for every view of one
    flowchart version, language and choice (a few dozen of them), so written once each."""
    key = (engine.version, lang, chosen)
    if key not in _OPTIONS:
        states = _labels(engine, lang)[0]
        _OPTIONS[key] = Markup("".join(  # noqa: S704 - names escaped here, labels by _labels
            f'      <option value="{escape(name)}"{" selected" if name == chosen else ""}>{text}</option>\n'
            for name, text in states.items()))
    return _OPTIONS[key]


def _rows(items, states: dict[str, Markup], deadlines: dict[str, Markup]) -> Markup:
    """The table's rows: state and deadline by their labels, the badges in words, not by colour alone.

    Built here rather than in the template: fifty rows of template expressions cost more than the rest of the
    page (bench/README.md). Every text from outside this function is escaped; times and dates are written
    here, from digits (`local_time`, `isoformat`), and need none."""
    acute = f' <span class="badge badge-overdue">{escape(_("acute danger"))}</span>'
    overdue = f' <span class="badge badge-overdue">{escape(_("overdue"))}</span>'
    soon = f' <span class="badge badge-soon">{escape(_("due soon"))}</span>'
    none_running = f'<span class="hint">{escape(_("none running"))}</span>'
    lines = []
    for ref, state, received_at, acute_danger, deadline, due_on, is_overdue, is_soon in items:
        due = none_running
        if due_on is not None:
            due = (f"{deadlines.get(deadline) or html.escape(deadline)}, {due_on.isoformat()}"
                   f"{overdue if is_overdue else soon if is_soon else ''}")
        ref = html.escape(ref)  # the standard library's: a third of markupsafe's cost, no Markup made
        lines.append(f'  <tr>\n    <th scope="row"><a href="/cases/{ref}">{ref}</a>{acute if acute_danger else ""}'
                    f"</th>\n    <td>{states.get(state) or html.escape(state)}</td>\n"
                    f"    <td>{local_time(received_at)}</td>\n    <td>{due}</td>\n  </tr>\n")
    return Markup("".join(lines))  # noqa: S704 - every text in it was escaped above
