"""The coordinator's local picture (lägesbild): de-identified counts of concerns, small counts hidden.

The counting and the hiding are `cases.reports.statistics`'s; this page only labels the rows. No case pseudonym,
name or number reaches it.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from cases.flowcharts import current_engine
from cases.reports.statistics import MIN_CELL, local_picture
from web.access import page, signed_in
from web.clock import today

__all__ = ["bp"]

bp = Blueprint("overview", __name__)


@bp.get("/overview")
@page("coordinator")
def statistics():
    picture = local_picture(current_app.extensions["vidoro.db"], signed_in().actor, today=today())
    return render_template("overview/statistics.html", picture=picture, chart=current_engine().chart,
                           min_cell=MIN_CELL)
