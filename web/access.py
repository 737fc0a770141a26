"""Deny by default: every view says who may use it, and a view that says nothing is not there.

`page(*roles)` marks a view with the roles that may use it; `public()` marks the few that need no sign-in
(the sign-in page, the health check, static files). Before each request the guard finds the view: an
unmarked view is a 404, a signed-out visitor of a page is sent to sign in (GET) or refused (401), a
signed-in account without the role gets 403. The rules about cases themselves live in `cases/`; this
only decides who reaches a view at all.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, g, redirect, request, session, url_for

from cases.staff.accounts import Account, open_session
from policies.access import CASE_READING_ROLES
from web import clock

__all__ = ["ALL_STAFF", "CASE_ROLES", "current_account", "page", "public", "safe_next", "signed_in"]

F = TypeVar("F", bound=Callable)

ALL_STAFF = frozenset({"reporter", "coordinator", "intake", "caseworker", "decider", "partner", "auditor", "admin"})
CASE_ROLES = CASE_READING_ROLES  # the case pages are for the roles with a ground on some case


def page(*roles: str) -> Callable[[F], F]:
    """Allow the view to signed-in accounts of `roles` (at least one)."""
    if not roles or not set(roles) <= ALL_STAFF:
        raise ValueError(f"a page names the staff roles that may use it, got {roles}")

    def mark(view: F) -> F:
        view.vidoro_roles = frozenset(roles)  # type: ignore[attr-defined]
        return view

    return mark


def public(view: F) -> F:
    """Allow the view to anyone, signed in or not."""
    view.vidoro_public = True  # type: ignore[attr-defined]
    return view


def init_app(app: Flask) -> None:
    app.before_request(_guard)


def current_account() -> Account | None:
    if "vidoro_account" not in g:
        g.vidoro_account = _load_account()
    return g.vidoro_account


def signed_in() -> Account:
    """The account of a view behind `page()`: its guard has already turned away anyone signed out."""
    account = current_account()
    if account is None:
        abort(401)
    return account


def _load_account() -> Account | None:
    token = session.get("sid")
    if not token:
        return None
    config = current_app.config
    account = open_session(current_app.extensions["vidoro.db"], token,
                           idle=timedelta(seconds=config["VIDORO_SESSION_IDLE"]),
                           absolute=timedelta(seconds=config["VIDORO_SESSION_MAX"]), now=clock.now())
    if account is None:
        session.pop("sid", None)  # timed out, signed out elsewhere, or the account was disabled
    return account


def _guard():
    if request.endpoint is None:
        return None  # no such route, or not this method: Flask answers 404 or 405
    view = current_app.view_functions[request.endpoint]
    if request.endpoint == "static" or getattr(view, "vidoro_public", False):
        return None  # the account is loaded only if the page shows it (templates ask for it)
    if getattr(view, "vidoro_api", None) is not None:
        return None  # the API authenticates by token, never by this session (web.api)
    roles = getattr(view, "vidoro_roles", None)
    if roles is None:
        abort(404)  # a view nobody declared access for does not exist
    account = current_account()
    if account is None:
        if request.method == "GET":
            return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))
        abort(401)
    if account.role not in roles:
        abort(403)
    return None


def safe_next(target: str | None, default: str) -> str:
    """Only a path on this site: never send a signed-in person to another host, else `default`.

    No control character either (CR/LF made the redirect's Location header fail after signing the person in,
    a 500; browsers drop a tab, so "/<tab>/host" would become "//host"), and no backslash (read as "/").
    """
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target
