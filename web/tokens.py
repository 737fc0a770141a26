"""The signed-in person's own API tokens: the list, making one, revoking one.

A new token's secret is on the answer to the form that made it, once, with `Cache-Control: no-store`;
`cases.staff.tokens` keeps only its hash, so no page can show it again. Each person sees and revokes only their
own tokens: another's token id is answered as if it did not exist.
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from cases.errors import InvalidConcern, NotPermitted, RecordNotFound
from cases.staff.tokens import DEFAULT_DAYS, MAX_DAYS, create_token, list_tokens, revoke_token
from web.access import ALL_STAFF, page, signed_in
from web.clock import now
from web.i18n import error_text

__all__ = ["bp"]

bp = Blueprint("tokens", __name__)


@bp.get("/account/tokens")
@page(*ALL_STAFF)
def tokens():
    return _page({"name": "", "days": str(DEFAULT_DAYS)}, {})


@bp.post("/account/tokens")
@page(*ALL_STAFF)
def create():
    values = {"name": request.form.get("name", "").strip(), "days": request.form.get("days", "").strip()}
    password = request.form.get("password", "")  # never put back into the form
    errors: dict[str, str] = {}
    if not values["name"]:
        errors["name"] = _("Enter a name for the token.")
    if not password:
        errors["password"] = _("Enter your password to make a token.")
    days = int(values["days"]) if re.fullmatch(r"[0-9]{1,4}", values["days"]) else None
    if days is None or not 1 <= days <= MAX_DAYS:
        errors["days"] = _("Enter a whole number of days from 1 to %(max)d.", max=MAX_DAYS)
    made = None
    if not errors:
        try:
            made = create_token(_db(), signed_in().actor, values["name"], password=password, days=days,
                                now=now())
        except InvalidConcern as exc:
            field = exc.field if exc.field in ("days", "password") else "name"
            errors[field] = error_text(exc, "token")  # a wrong password, or too many of them: said by `cases`
        except NotPermitted:
            abort(403)
    if made is None:
        return _page(values, errors, status=400)
    response = current_app.make_response(_page({"name": "", "days": str(DEFAULT_DAYS)}, {}, made=made))
    response.headers["Cache-Control"] = "no-store"  # the secret must not stay in any cache
    return response


@bp.post("/account/tokens/<token_id>/revoke")
@page(*ALL_STAFF)
def revoke(token_id: str):
    try:
        revoke_token(_db(), signed_in().actor, token_id, now=now())
    except RecordNotFound:
        abort(404)  # unknown, or someone else's: the same answer
    except NotPermitted:
        abort(403)
    flash(_("The token is revoked. Programs that use it are refused from now on."), "success")
    return redirect(url_for("tokens.tokens"), 303)


def _page(values: dict, errors: dict, *, made=None, status: int = 200):
    moment = now()
    listed = list_tokens(_db(), signed_in().actor, now=moment)
    return render_template("account/tokens.html", tokens=listed, now=moment, values=values,
                           errors=errors, made=made, labels=_labels(), max_days=MAX_DAYS), status


def _db():
    return current_app.extensions["vidoro.db"]


def _labels() -> dict[str, str]:
    return {"name": _("Name of the token"), "days": _("Valid for (days)"), "password": _("Your password")}
