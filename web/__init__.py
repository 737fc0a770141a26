"""The web layer: the Flask application factory and the command line.

Depends on `cases`; nothing below it imports Flask. Nothing is built at import time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

__all__ = ["create_app"]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application: configuration from defaults, VIDORO_* variables, then `config`."""
    from cases import Database
    from cases.keys import FileKeyStore
    from web import health
    from web.config import load_config

    app = Flask(__name__, instance_path=str(load_config(config)["VIDORO_HOME"]))
    app.config.update(load_config(config))
    keys = FileKeyStore(app.config["VIDORO_KEYS"])  # missing or broken keys stop the app here, not later
    app.extensions["vidoro.db"] = Database(app.config["VIDORO_DATABASE_URL"], keys=keys)
    health.init_app(app)
    return app
