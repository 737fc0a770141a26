"""Signing in and out, choosing the language, and the start page that sends each role to its work.

Password sign-in is one way to an `Account`; municipal single sign-on will be another, ending in the same
`begin_session`. Every sign-in gets a new session (the cookie is emptied first), so a session id seen
before signing in is worth nothing after.

A successful password sign-in also leaves a device cookie (`__Host-vidoro-device` over HTTPS, else
`vidoro-device`; HttpOnly, SameSite=Lax, a year): the token `cases.staff.accounts.sign_in` returns, sent back to
it on the next sign-in. What it is worth is decided there; the page only carries it.
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.wrappers import Response  # what `redirect` returns: Flask's own Response is a subclass

from cases.errors import SignInRefused, SignInThrottled
from cases.staff import accounts
from cases.staff.accounts import Account
from web import clock
from web.access import ALL_STAFF, current_account, page, public, safe_next

__all__ = ["HOME", "LANGUAGES", "begin_session", "bp"]

bp = Blueprint("auth", __name__)

LANGUAGES = ("sv", "en")

# Where each role starts (the endpoint of its main page).
HOME = {
    "reporter": "reporter.new_concern",
    "coordinator": "overview.statistics",
    "intake": "worklist.work_list",
    "caseworker": "worklist.work_list",
    "decider": "worklist.work_list",
    "partner": "partner.referrals",
    "auditor": "audit.overview",
    "admin": "admin.users",
}


@bp.get("/")
@public
def home() -> Response:
    account = current_account()
    if account is None:
        return redirect(url_for("auth.sign_in"))
    return redirect(url_for(HOME[account.role]))


@bp.route("/sign-in", methods=["GET", "POST"])
@public
def sign_in():
    errors: dict[str, str] = {}
    username, status = "", 200
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        if not username:
            errors["username"] = _("Enter your username.")
        if not password:
            errors["password"] = _("Enter your password.")
        status = 400 if errors else 200
        if not errors:
            try:
                signed_in = accounts.sign_in(current_app.extensions["vidoro.db"], username, password,
                                             request.remote_addr or "unknown",
                                             device=request.cookies.get(_device_cookie()), now=clock.now())
            except SignInThrottled as exc:
                minutes = max(1, -(-exc.retry_after // 60))
                errors["username"] = ngettext("Too many failed attempts. Try again in %(num)d minute.",
                                              "Too many failed attempts. Try again in %(num)d minutes.", minutes)
                status = 429
            except SignInRefused:
                errors["password"] = _("Wrong username or password.")
                status = 401
            else:
                begin_session(signed_in.account)
                response = redirect(safe_next(request.args.get("next"), url_for("auth.home")))
                response.set_cookie(_device_cookie(), signed_in.device_token, path="/", httponly=True,
                                    samesite="Lax", secure=request.is_secure,
                                    max_age=int(accounts.DEVICE_LIFETIME.total_seconds()))
                return response
    return render_template("sign_in.html", errors=errors, username=username), status


def _device_cookie() -> str:
    """Over HTTPS `__Host-`: Secure, no Domain, Path=/, so no other host or path can set or read it."""
    return "__Host-vidoro-device" if request.is_secure else "vidoro-device"


def begin_session(account: Account) -> None:
    """A fresh session for a signed-in account: nothing from before signing in survives but the language."""
    lang = session.get("lang")
    end = session.get("sid")
    if end:
        accounts.end_session(current_app.extensions["vidoro.db"], end)
    session.clear()
    session["sid"] = accounts.start_session(current_app.extensions["vidoro.db"], account, now=clock.now())
    if lang:
        session["lang"] = lang


@bp.post("/sign-out")
@page(*ALL_STAFF)
def sign_out() -> Response:
    token = session.get("sid")
    if token:
        accounts.end_session(current_app.extensions["vidoro.db"], token)
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    return redirect(url_for("auth.sign_in", signed_out=1))


@bp.post("/language")
@public
def language() -> Response:
    chosen = request.form.get("lang")
    if chosen in LANGUAGES:
        session["lang"] = chosen
    return redirect(safe_next(request.form.get("next"), url_for("auth.home")))
