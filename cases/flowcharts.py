"""Which flowchart version a case runs on: new cases take the current file, old cases keep theirs.

Each version's text is stored in the database the first time a case uses it, so a case can be decided on
its own version long after the file in `policies/` has changed.
"""

from __future__ import annotations

import os
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy.orm import Session

from cases.models import FlowchartVersion
from policies import DEFAULT_PATH, PolicyError
from workflow import Engine, default_flowchart, engine_for, flowchart_from_text

__all__ = ["chart_of", "current_engine", "engine_for_version", "flowchart_path", "pin_current"]


def flowchart_path() -> Path:
    """The definition new cases start on: `VIDORO_FLOWCHART`, or the one shipped in `policies/`."""
    return Path(os.environ.get("VIDORO_FLOWCHART") or DEFAULT_PATH)


@lru_cache(maxsize=8)
def _engine_at(path: Path, mtime_ns: int) -> Engine:
    return engine_for(default_flowchart(path))


def current_engine() -> Engine:
    path = flowchart_path()
    try:
        changed = path.stat().st_mtime_ns  # every page asks: one system call, not two
    except FileNotFoundError:
        changed = 0
    return _engine_at(path, changed)


def pin_current(session: Session, now: datetime) -> Engine:
    """The current engine, with its version stored so cases started on it can be decided later."""
    engine = current_engine()
    if session.get(FlowchartVersion, engine.version) is None:
        session.add(FlowchartVersion(
            version=engine.version, name=engine.chart.name, source_text=engine.chart.text, first_used_at=now
        ))
        session.flush()
    return engine


_BY_VERSION: dict[str, Engine] = {}


def engine_for_version(session: Session, version: str) -> Engine:
    """The engine of a stored version, compiled once per process."""
    engine = _BY_VERSION.get(version)
    if engine is not None:
        return engine
    current = current_engine()
    if current.version == version:
        engine = current
    else:
        row = session.get(FlowchartVersion, version)
        if row is None:
            raise PolicyError(f"flowchart version {version[:12]}", "is not stored in this database")
        engine = engine_for(flowchart_from_text(row.source_text, source=f"stored version {version[:12]}"))
        if engine.version != version:
            raise PolicyError(f"flowchart version {version[:12]}", "stored text does not hash to its version")
    return _BY_VERSION.setdefault(version, engine)


def chart_of(db, version: str):
    """The flowchart a case runs on (by its version), for labels and pictures."""
    with db.read() as session:
        return engine_for_version(session, version).chart
