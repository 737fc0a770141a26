"""The JSON API under /api/v1, next to the pages: the same operations of `cases`, the same checks.

- Authentication: a personal API token as `Authorization: Bearer <token>` (`cases.staff.tokens`); it acts in its
  owner's role and nothing more. No cookie is read here, so no page's session can be used cross-site, and
  the API needs no CSRF token.
- Deny by default: each view names the roles that may call it (`support.roles`); any other role gets 403
  before the request is read, and `cases` checks again what the role may do to which case.
- Changes take the case version the caller last saw (stale: 409 with the current one) and an
  Idempotency-Key (a repeat gets the first answer, `cases.casework.idempotency`).
- Requests are limited per token and per account (`cases.staff.ratelimit`, counted in the database so that the
  limits hold across worker processes): over a limit, 429 with `Retry-After`.
- Errors are RFC 9457 problem details (`problems`); the OpenAPI 3.1 document at /api/v1/openapi.json is
  generated from the views and their pydantic models by flask-openapi3.
"""

from __future__ import annotations

from flask import Response, current_app, g, request
from flask_openapi3 import OpenAPI
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from cases.errors import RateLimited, TokenRefused
from cases.flowcharts import current_engine
from cases.staff import ratelimit
from cases.staff.tokens import identify_token
from web import clock
from web.access import public
from web.api.problems import from_error, problem
from web.api.routes import (
    case_routes,
    decision_routes,
    flag_routes,
    hearing_routes,
    hold_routes,
    intervention_routes,
    journal_routes,
    more_routes,
    notification_routes,
    relative_routes,
    source_routes,
    subject_routes,
)
from web.api.support import BoundedJSON, json_response

__all__ = ["PREFIX", "SECURITY", "authenticate", "handle_error", "http_problem", "init_app", "limits",
           "openapi_settings"]

PREFIX = "/api/v1"
SECURITY: list[dict[str, list[str]]] = [{"bearer": []}]


def openapi_settings() -> dict:
    """What `flask_openapi3.OpenAPI` takes for this API (the app factory passes it)."""
    from flask_openapi3 import Info

    from web.api.problems import from_validation
    from web.api.schemas import Problem

    return {
        "info": Info(title="vidoro", version="1", description=(
            "Register concerns and follow cases without a person at a screen; read referral packets as a "
            "partner; read checkpoints and Merkle proofs as an auditor. Errors are RFC 9457 problem details.")),
        "security_schemes": {"bearer": {"type": "http", "scheme": "bearer", "description": (
            "A personal API token, made on the account page (vdr_…); it acts in its owner's role.")}},
        "validation_error_status": 422,
        "validation_error_model": Problem,
        "validation_error_callback": from_validation,
        "doc_ui": False,
    }


def init_app(app: OpenAPI) -> None:
    chart = current_engine().chart
    app.json = BoundedJSON(app)  # a body nested too deeply is a 400 problem, not a RecursionError
    blueprints = (case_routes.blueprint(chart, SECURITY), journal_routes.blueprint(SECURITY),
                  decision_routes.blueprint(SECURITY), hearing_routes.blueprint(SECURITY),
                  flag_routes.blueprint(SECURITY), intervention_routes.blueprint(chart, SECURITY),
                  more_routes.blueprint(SECURITY), source_routes.blueprint(chart, SECURITY),
                  relative_routes.blueprint(SECURITY), hold_routes.blueprint(SECURITY),
                  subject_routes.blueprint(SECURITY), notification_routes.blueprint(SECURITY))
    for blueprint in (b for b in blueprints if b is not None):  # a flowchart without interventions has none
        blueprint.before_request(_authenticate)
        blueprint.register_error_handler(Exception, handle_error)
        app.extensions["csrf"].exempt(blueprint)  # no cookie is read here: a token cannot be sent cross-site
        app.register_api(blueprint, url_prefix=PREFIX)
    app.add_url_rule(f"{PREFIX}/openapi.json", "api_openapi", _openapi)


@public
def _openapi():
    return json_response(current_app.api_doc)


def _authenticate():
    """Who is calling, and may their role use this view at all; refused as a problem, never as a page."""
    view = current_app.view_functions.get(request.endpoint)
    allowed = getattr(view, "vidoro_api", None)
    if allowed is None:
        return problem(404, "not-found")
    return authenticate(allowed)


def authenticate(allowed: frozenset[str]) -> Response | None:
    """The caller's token, counted against the limits, and its owner's role among `allowed` (then
    `g.api_account` is the owner), or the problem that refuses the request (also web.metrics)."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return problem(401, "token-missing")
    database = current_app.extensions["vidoro.db"]
    moment = clock.now()
    try:
        token_id, g.api_account = identify_token(database, secret.strip(), now=moment)
        ratelimit.admit(database, token_id, g.api_account.id, moment, limits())
    except (TokenRefused, RateLimited) as exc:
        return from_error(exc)
    if g.api_account.role not in allowed:
        return problem(403, "role-not-allowed")
    return None


def limits() -> ratelimit.Limits:
    """The request limits: `cases.staff.ratelimit`'s, unless the app's configuration sets others (tests do)."""
    return current_app.config.get("VIDORO_API_LIMITS") or ratelimit.DEFAULT_LIMITS


def http_problem(error: HTTPException):
    """An HTTP error on an API path (no such route, wrong method, too large) as a problem."""
    code = error.code or 500
    response = problem(code, {404: "not-found", 405: "method-not-allowed", 413: "too-large"}.get(code, "http-error"))
    if code == 405 and isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def handle_error(error: Exception):
    """The app's error handler for API paths: a refusal from `cases` as its problem, an HTTP error as one."""
    if isinstance(error, HTTPException):
        return http_problem(error)
    answer = from_error(error)
    if answer is not None:
        return answer
    current_app.logger.exception("API request failed")  # the exception names no personal data (STYLE.md)
    return problem(500, "internal-error")
