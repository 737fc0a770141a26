"""The work list of intake officers, caseworkers and decision makers: nearest deadline first."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from cases import worklist
from cases.flowcharts import current_engine
from web.access import CASE_ROLES, current_account, page
from web.clock import today
from web.i18n import label

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
    return render_template("worklist.html", listing=listing, states=states, deadlines=deadlines, state=state)
