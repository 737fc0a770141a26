"""Error pages in the visitor's language: what happened and where to go, never a traceback or a case detail.

404 is the answer for a case that does not exist and for one this person may not see, so the two cannot
be told apart. A form whose CSRF token is missing or stale gets 400 and is not acted on.

The command line's own refusal lives here too (`BadInput`), so that every error class of `web` has one home.
"""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from cases.errors import RecordNotFound
from web.api import http_problem
from web.api.problems import problem
from workflow.errors import VidoroError

__all__ = ["BadInput", "init_app"]


class BadInput(VidoroError):
    """Bad input to a command: `web.clisupport.friendly` says it in one line with exit status 2 (a UsageError
    would print the usage lines too)."""

    code = "bad_input"


def init_app(app: Flask) -> None:
    app.register_error_handler(400, lambda e: _page(e, 400, _("Bad request"),
                                                    _("The request could not be understood.")))
    app.register_error_handler(CSRFError, lambda e: _page(e,
        400, _("The form has expired"), _("The form was too old or not sent from vidoro. Go back, reload the "
                                          "page and try again; nothing was saved.")))
    app.register_error_handler(401, lambda e: _page(e, 401, _("Sign in first"), _("You need to sign in to do that.")))
    app.register_error_handler(403, lambda e: _page(e, 403, _("Not for your role"),
                                                    _("Your role does not give access to this page.")))
    app.register_error_handler(404, lambda e: _page(e, 404, _("Page not found"),
                                                    _("There is nothing here, or nothing you may see.")))
    app.register_error_handler(RecordNotFound, lambda e: _page(e, 404, _("Page not found"),
                                                               _("There is nothing here, or nothing you may see.")))
    app.register_error_handler(405, lambda e: _page(e, 405, _("Not possible"), _("This page cannot be used that way.")))
    app.register_error_handler(413, lambda e: _page(e, 413, _("Too much"), _("What was sent is too large.")))
    app.register_error_handler(500, lambda e: _page(e, 500, _("Something went wrong"),
                                                    _("Nothing was saved. Try again, and tell support if it "
                                                      "happens again.")))


def _page(error: Exception, status: int, title: str, message: str):
    if request.path.startswith("/api/"):  # the API answers in problem details, never with a page
        if isinstance(error, HTTPException):
            return http_problem(error)
        return problem(status, "internal-error" if status == 500 else "http-error")
    return render_template("error.html", title=title, message=message), status
