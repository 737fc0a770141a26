"""The web layer: the Flask application factory, the staff pages and the command line.

Depends on `cases`; nothing below it imports Flask. Nothing is built at import time. A page parses its
input, checks who may use it (`web.access`) and calls one operation of `cases`; it never decides a rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

__all__ = ["N_", "create_app"]


def N_(message: str) -> str:
    """Mark a text for the catalogue (`pybabel extract -k N_`); it is translated where it is shown
    (`gettext`), not through a lazy string on every use."""
    return message


# The pages each role sees in the navigation: (endpoint, label; translated when shown).
NAV = {
    "reporter": [("reporter.new_concern", N_("Register a concern")), ("reporter.my_concerns", N_("My concerns"))],
    "coordinator": [("overview.statistics", N_("Overview"))],
    "intake": [("worklist.work_list", N_("Work list")), ("sources.new_concern", N_("Register a concern"))],
    "caseworker": [("worklist.work_list", N_("Work list"))],
    "decider": [("worklist.work_list", N_("Work list")), ("audit.emergency", N_("Emergency accesses"))],
    "partner": [("partner.referrals", N_("Referrals"))],
    "auditor": [("audit.overview", N_("Verification")), ("audit.transitions", N_("Transition log")),
                ("audit.access", N_("Access log")), ("audit.administration", N_("Administration log")),
                ("audit.emergency", N_("Emergency accesses"))],
    "admin": [("admin.users", N_("Users"))],
}


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application: configuration from defaults, VIDORO_* variables, then `config`."""
    from flask_babel import Babel
    from flask_openapi3 import OpenAPI
    from flask_wtf.csrf import CSRFProtect

    from cases import Database
    from cases.crypto.keys import FileKeyStore
    from web import access, api, clock, errors, health, i18n, metrics, security
    from web.config import load_config

    settings = load_config(config)
    app = OpenAPI(__name__, instance_path=str(settings["VIDORO_HOME"]), **api.openapi_settings())
    app.config.update(settings)
    keys = FileKeyStore(app.config["VIDORO_KEYS"])  # missing or broken keys stop the app here, not later
    app.extensions["vidoro.db"] = Database(app.config["VIDORO_DATABASE_URL"], keys=keys)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = security.secret_key(app.config["VIDORO_KEYS"])
    app.config.update(WTF_CSRF_TIME_LIMIT=None, WTF_CSRF_SSL_STRICT=True, MAX_CONTENT_LENGTH=256 * 1024)
    clock.init_app(app)
    security.init_app(app)
    CSRFProtect(app)
    Babel(app, locale_selector=i18n.locale, default_locale="sv", timezone_selector=clock.zone_name)
    access.init_app(app)
    errors.init_app(app)
    i18n.init_app(app)
    health.init_app(app)
    metrics.init_app(app)
    _register_pages(app)
    api.init_app(app)
    return app


def _register_pages(app: Flask) -> None:
    from importlib import import_module

    for name in ("auth", "worklist", "case_pages", "case_actions", "journal", "decisions", "hearing", "interventions",
                 "reporter", "overview", "partner", "audit", "admin", "tokens", "sources", "relatives",
                 "flags", "notifications"):
        module = import_module(f"web.{name}")
        app.register_blueprint(module.bp)
