"""The partner's pages: the referral packets shared with their unit, and one packet's shared fields.

Which packets a partner may see is decided in `cases` (`cases.casework.referrals`, `cases.casework.disclosures`): only
those
of their unit, open, and covered by a valid consent. Opening a packet is a disclosure and is logged. A
packet that is unknown, of another unit, closed, or no longer covered by consent gets the same 404, so the
page never tells whether someone else's or an ended referral exists.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template

from cases.casework.disclosures import read_referral
from cases.casework.referrals import shared_referrals
from cases.errors import DisclosureRefused, NotPermitted, RecordNotFound
from cases.flowcharts import current_engine
from web.access import page, signed_in
from web.clock import now

__all__ = ["bp"]

bp = Blueprint("partner", __name__)


@bp.get("/referrals")
@page("partner")
def referrals():
    items = shared_referrals(current_app.extensions["vidoro.db"], signed_in().actor, now=now())
    return render_template("partner/referrals.html", items=items, chart=current_engine().chart)


@bp.get("/referrals/<packet_id>")
@page("partner")
def referral(packet_id: str):
    try:
        packet = read_referral(current_app.extensions["vidoro.db"], signed_in().actor, packet_id, now=now())
    except (RecordNotFound, DisclosureRefused, NotPermitted):
        abort(404)  # the refusal is logged by read_referral; the page tells nothing about why
    return render_template("partner/referral.html", packet=packet, chart=current_engine().chart)
