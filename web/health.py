"""The health check: is the process up, can it reach its database, is the schema current (open to all)."""

from __future__ import annotations

from flask import Flask, Response, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError

from cases.flowcharts import current_engine
from policies import PolicyError
from web.access import public

__all__ = ["init_app"]

def init_app(app: Flask) -> None:
    app.add_url_rule("/health", "health", health)
    app.add_url_rule("/health/live", "live", live)


@public
def live() -> Response:
    """Liveness: the process answers (no database): for load balancers, and the benchmarks' trivial route."""
    return Response("ok\n", mimetype="text/plain")


@public
def health() -> tuple[Response, int]:
    db = current_app.extensions["vidoro.db"]
    try:
        report = {"status": "ok", "flowchart": current_engine().version[:12]}
    except PolicyError as exc:
        return jsonify({"status": "unavailable", "flowchart": f"broken: {exc.fault}"}), 503
    try:
        db.ping()
        current, head = db.current_revision(), db.head_revision()
        report["schema"] = "current" if current == head else f"needs upgrade ({current} < {head})"
    except SQLAlchemyError as exc:
        report.update(status="unavailable", database=type(exc).__name__)
        return jsonify(report), 503
    if current != head:
        report["status"] = "degraded"
        return jsonify(report), 503
    return jsonify(report), 200
