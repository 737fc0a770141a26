"""The web layer: the Flask application factory, the staff pages and the command line.

Depends on `cases`; nothing below it imports Flask. Nothing is built at import time. A page parses its
input, checks who may use it (`web.access`) and calls one operation of `cases`; it never decides a rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l

__all__ = ["create_app"]

# The pages each role sees in the navigation: (endpoint, label; translated when shown).
NAV = {
    "reporter": [("reporter.new_concern", _l("Register a concern")), ("reporter.my_concerns", _l("My concerns"))],
    "coordinator": [("overview.statistics", _l("Overview"))],
    "intake": [("worklist.work_list", _l("Work list"))],
    "caseworker": [("worklist.work_list", _l("Work list"))],
    "decider": [("worklist.work_list", _l("Work list")), ("audit.emergency", _l("Emergency accesses"))],
    "partner": [("partner.referrals", _l("Referrals"))],
    "auditor": [("audit.overview", _l("Verification")), ("audit.transitions", _l("Transition log")),
                ("audit.access", _l("Access log")), ("audit.emergency", _l("Emergency accesses"))],
    "admin": [("admin.users", _l("Users"))],
}


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application: configuration from defaults, VIDORO_* variables, then `config`."""
    from flask_babel import Babel
    from flask_openapi3 import OpenAPI
    from flask_wtf.csrf import CSRFProtect

    from cases import Database
    from cases.keys import FileKeyStore
    from web import access, api, errors, health, i18n, security
    from web.config import load_config

    settings = load_config(config)
    app = OpenAPI(__name__, instance_path=str(settings["VIDORO_HOME"]), **api.openapi_settings())
    app.config.update(settings)
    keys = FileKeyStore(app.config["VIDORO_KEYS"])  # missing or broken keys stop the app here, not later
    app.extensions["vidoro.db"] = Database(app.config["VIDORO_DATABASE_URL"], keys=keys)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = security.secret_key(app.config["VIDORO_KEYS"])
    app.config.update(WTF_CSRF_TIME_LIMIT=None, WTF_CSRF_SSL_STRICT=True, MAX_CONTENT_LENGTH=256 * 1024)
    security.init_app(app)
    CSRFProtect(app)
    Babel(app, locale_selector=i18n.locale, default_locale="sv", default_timezone="Europe/Stockholm")
    access.init_app(app)
    errors.init_app(app)
    i18n.init_app(app)
    health.init_app(app)
    _register_pages(app)
    api.init_app(app)
    return app


def _register_pages(app: Flask) -> None:
    from importlib import import_module

    for name in ("auth", "worklist", "case_pages", "case_actions", "reporter", "overview", "partner", "audit",
                 "admin", "tokens"):
        module = import_module(f"web.{name}")
        app.register_blueprint(module.bp)
