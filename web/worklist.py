"""The work list of intake officers, caseworkers and decision makers: nearest deadline first, a page at a
time by cursor (`cases.casework.worklist`). Everything on the page is written by its template."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue

from cases.casework import worklist
from cases.errors import BadCursor
from cases.flowcharts import RELATIVE, chart_of
from policies import Flowchart
from web.access import CASE_ROLES, current_account, page
from web.clock import today
from web.i18n import label

__all__ = ["bp", "labels"]

bp = Blueprint("worklist", __name__)


@bp.get("/cases")
@page(*CASE_ROLES)
def work_list() -> ResponseReturnValue:
    db, on = current_app.extensions["vidoro.db"], today()
    known, named = worklist.filter_states(db)  # every version's states: older cases keep theirs
    state = request.args.get("state") or None
    if state not in known:
        state = None
    cursor = request.args.get("cursor") or None
    account = current_account()
    assert account is not None  # noqa: S101 - @page let only a signed-in account in
    bad_cursor = False
    try:
        listing = worklist.work_list(db, account.actor, today=on, state=state, cursor=cursor)
    except BadCursor:  # an old or edited address: the first page, and a word on why
        bad_cursor = True
        listing = worklist.work_list(db, account.actor, today=on, state=state)
    states, deadlines = ({name: label(words) for name, words in known.items()},
                         {name: label(words) for name, words in named.items()})
    return render_template("worklist.html", listing=listing, states=states, deadlines=deadlines, state=state,
                           bad_cursor=bad_cursor, first_page=cursor is None or bad_cursor,
                           matters=_relatives_matters(db, listing.items))


def _relatives_matters(db, items) -> dict[str, str]:
    """Each relative's own matter on the page (issue 18), by ref: its state in its own flowchart's words.

    A relative's matter runs on its own flowchart; the list names it as a relative's matter, not by a code."""
    charts = {version: chart_of(db, version) for version in {item.flowchart_version for item in items}
              if version}
    return {item.ref: label(charts[item.flowchart_version].states[item.state].label) for item in items
            if item.flowchart_version in charts and charts[item.flowchart_version].name == RELATIVE
            and item.state in charts[item.flowchart_version].states}


def labels(chart: Flowchart) -> tuple[dict[str, str], dict[str, str]]:
    """The flowchart's state and deadline labels in the page's language (the template escapes them)."""
    return ({name: label(st.label) for name, st in chart.states.items()},
            {name: label(d.label) for name, d in chart.deadlines.items()})
