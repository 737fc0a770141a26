"""The health page: is the process up, can it reach its database, is the schema current."""

from __future__ import annotations

from flask import Flask, Response, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from cases.flowcharts import current_engine
from policies import PolicyError

__all__ = ["init_app"]

_INDEX = """<!doctype html>
<html lang="sv"><head><meta charset="utf-8"><title>vidoro</title></head>
<body><main><h1>vidoro</h1>
<p>Ärendeflöde vid oro för våldsbejakande extremism. <a href="/health">Driftstatus</a></p>
<p lang="en">Case workflow for concerns about violent extremism. <a href="/health">Health</a></p>
</main></body></html>"""


def init_app(app: Flask) -> None:
    app.add_url_rule("/", "index", index)
    app.add_url_rule("/health", "health", health)
    app.after_request(_headers)


def index() -> Response:
    return Response(_INDEX, mimetype="text/html")


def health() -> tuple[Response, int]:
    db = current_app.extensions["vidoro.db"]
    try:
        report = {"status": "ok", "flowchart": current_engine().version[:12]}
    except PolicyError as exc:
        return jsonify({"status": "unavailable", "flowchart": f"broken: {exc.fault}"}), 503
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        current, head = db.current_revision(), db.head_revision()
        report["schema"] = "current" if current == head else f"needs upgrade ({current} < {head})"
    except SQLAlchemyError as exc:
        report.update(status="unavailable", database=type(exc).__name__)
        return jsonify(report), 503
    if current != head:
        report["status"] = "degraded"
        return jsonify(report), 503
    return jsonify(report), 200


def _headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
    response.headers.setdefault("Cache-Control", "no-store")
    return response
