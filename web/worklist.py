"""The work list of intake officers, caseworkers and decision makers: nearest deadline first."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from markupsafe import Markup, escape

from cases import worklist
from cases.flowcharts import current_engine
from web.access import CASE_ROLES, current_account, page
from web.clock import today
from web.i18n import label, local_time
from web.i18n import text as _

__all__ = ["bp"]

bp = Blueprint("worklist", __name__)


@bp.get("/cases")
@page(*CASE_ROLES)
def work_list():
    chart = current_engine().chart
    state = request.args.get("state") or None
    if state not in chart.states:
        state = None
    try:
        number = max(1, int(request.args.get("page", "1")))
    except ValueError:
        number = 1
    listing = worklist.work_list(current_app.extensions["vidoro.db"], current_account().actor, today=today(),
                        state=state, page=number)
    states = {name: label(st.label) for name, st in chart.states.items()}
    deadlines = {name: label(d.label) for name, d in chart.deadlines.items()}
    return render_template("worklist.html", listing=listing, rows=_rows(listing.items, states, deadlines),
                           states=states, state=state)


# One row of the table. Built here rather than in the template: fifty rows of template expressions cost more
# than the rest of the page (bench/README.md). Every value is escaped before it goes in.
_ROW = ('  <tr>\n    <th scope="row"><a href="/cases/{ref}">{ref}</a>{acute}</th>\n    <td>{state}</td>\n'
        '    <td>{received}</td>\n    <td>{due}</td>\n  </tr>\n')


def _rows(items, states: dict[str, str], deadlines: dict[str, str]) -> Markup:
    """The table's rows: state and deadline by their labels, the badges in words, not by colour alone."""
    states = {name: escape(text) for name, text in states.items()}
    deadlines = {name: escape(text) for name, text in deadlines.items()}
    badge = Markup(' <span class="badge badge-{}">{}</span>').format
    acute, overdue, soon = (badge("overdue", _("acute danger")), badge("overdue", _("overdue")),
                            badge("soon", _("due soon")))
    none_running = Markup('<span class="hint">{}</span>').format(_("none running"))
    html = []
    for item in items:
        due = none_running
        if item.due_on is not None:
            due = (f"{deadlines.get(item.deadline) or escape(item.deadline)}, {item.due_on.isoformat()}"
                   f"{overdue if item.overdue else soon if item.soon else ''}")
        html.append(_ROW.format(ref=escape(item.ref), acute=acute if item.acute_danger else "",
                                state=states.get(item.state) or escape(item.state),
                                received=escape(local_time(item.received_at)), due=due))
    return Markup("".join(html))  # noqa: S704 - every value in it was escaped above
