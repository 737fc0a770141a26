"""The signed-in person's notifications ("Aviseringar"): the list, newest first, with marking read, and the
count of unread ones in the navigation.

Each person sees and marks only their own (`cases.notifications`): another's notification id is a 404, as if
it did not exist. A notification names its kind in words and the case by its pseudonym; the case's own
page decides, as always, whether this person may open it.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from cases.errors import BadCursor, NotificationNotFound, NotPermitted
from cases.inbox import list_notifications, mark_all_read, mark_read, unread_count
from cases.notifications import MailSettings
from policies.routines.notifications import load_notifications
from web.access import ALL_STAFF, CASE_ROLES, current_account, page, signed_in
from web.clock import now
from web.i18n import label

__all__ = ["bp", "mail_settings"]

bp = Blueprint("notifications", __name__)


@bp.app_context_processor
def _unread():
    """`unread_notifications()` for the navigation: one count, only where a page asks for it."""

    def unread_notifications() -> int:
        account = current_account()
        return 0 if account is None else unread_count(current_app.extensions["vidoro.db"], account.actor)

    return {"unread_notifications": unread_notifications}


@bp.get("/notifications")
@page(*ALL_STAFF)
def notifications():
    account = signed_in()
    try:
        found = list_notifications(_db(), account.actor, cursor=request.args.get("after") or None)
    except BadCursor:
        return redirect(url_for("notifications.notifications"), 303)
    kinds = load_notifications()
    words = {k.code: label(k.label) for k in kinds}
    return render_template("notifications/list.html", page=found, words=words,
                           case_links=account.role in CASE_ROLES)


@bp.post("/notifications/<notification_id>/read")
@page(*ALL_STAFF)
def read(notification_id: str):
    try:
        mark_read(_db(), signed_in().actor, notification_id, now=now())
    except NotificationNotFound:
        abort(404)  # unknown, or someone else's: the same answer
    except NotPermitted:
        abort(403)
    return redirect(url_for("notifications.notifications"), 303)


@bp.post("/notifications/read-all")
@page(*ALL_STAFF)
def read_all():
    try:
        count = mark_all_read(_db(), signed_in().actor, now=now())
    except NotPermitted:
        abort(403)
    flash(_("%(count)d notifications marked as read.", count=count), "success")
    return redirect(url_for("notifications.notifications"), 303)


def mail_settings(config) -> MailSettings:
    """The mail job's settings from the app's configuration (`web.config`), for the worker to pass on:
    `send_pending_mail(database, now=…, settings=mail_settings(app.config))`."""
    return MailSettings(smtp_url=config.get("VIDORO_SMTP_URL") or None,
                        mail_from=config.get("VIDORO_MAIL_FROM") or "vidoro@localhost",
                        base_url=str(config.get("VIDORO_BASE_URL") or "http://127.0.0.1:8000").rstrip("/"))


def _db():
    return current_app.extensions["vidoro.db"]
