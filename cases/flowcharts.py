"""Which flowchart version a case runs on: new cases take the current file, old cases keep theirs.

There are two flowcharts, each with its current definition: `vid_oro` (the concern about a person) and
`relative_support` (a relative's own matter, opened from a subject's case). Each is pinned by its name: a new
case takes the current version of its own flowchart. Each version's text is stored in the database the first
time a case uses it, so a case can be decided on its own version long after the file in `policies/` has changed.
"""

from __future__ import annotations

import os
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.models import FlowchartVersion
from policies import DEFAULT_PATH, RELATIVE_PATH, Flowchart, PolicyError, State
from workflow import Engine, default_flowchart, engine_for, flowchart_from_text

__all__ = ["FLOWCHARTS", "RELATIVE", "VID_ORO", "chart_of", "current_engine", "engine_for_version", "every_state",
           "flowchart_path", "known_charts", "pin_current"]

VID_ORO, RELATIVE = "vid_oro", "relative_support"
# Each flowchart's name: the environment variable that points new cases at another file, and the shipped file.
FLOWCHARTS: dict[str, tuple[str, Path]] = {
    VID_ORO: ("VIDORO_FLOWCHART", DEFAULT_PATH),
    RELATIVE: ("VIDORO_RELATIVE_FLOWCHART", RELATIVE_PATH),
}


def flowchart_path(name: str = VID_ORO) -> Path:
    """The definition new cases of flowchart `name` start on: its environment variable, or the shipped file."""
    variable, shipped = FLOWCHARTS[name]
    return Path(os.environ.get(variable) or shipped)


@lru_cache(maxsize=8)
def _engine_at(path: Path, mtime_ns: int) -> Engine:
    return engine_for(default_flowchart(path))


def current_engine(name: str = VID_ORO) -> Engine:
    """The current engine of flowchart `name` (the subject's, unless named)."""
    path = flowchart_path(name)
    try:
        changed = path.stat().st_mtime_ns  # every page asks: one system call, not two
    except FileNotFoundError:
        changed = 0
    engine = _engine_at(path, changed)
    if engine.chart.name != name:  # a file pointed at the wrong flowchart never starts a case on it
        raise PolicyError(str(path), f"is the flowchart '{engine.chart.name}', not '{name}'")
    return engine


def pin_current(session: Session, now: datetime, name: str = VID_ORO) -> Engine:
    """The current engine of flowchart `name`, with its version stored so cases started on it can be decided
    later."""
    engine = current_engine(name)
    if session.get(FlowchartVersion, engine.version) is None:
        session.add(FlowchartVersion(
            version=engine.version, name=engine.chart.name, source_text=engine.chart.text, first_used_at=now
        ))
        session.flush()
    return engine


_BY_VERSION: dict[str, Engine] = {}


def engine_for_version(session: Session, version: str) -> Engine:
    """The engine of a stored version (of either flowchart), compiled once per process."""
    engine = _BY_VERSION.get(version)
    if engine is not None:
        return engine
    engine = next((e for e in (current_engine(name) for name in FLOWCHARTS) if e.version == version), None)
    if engine is None:
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


def known_charts(session: Session) -> tuple[Flowchart, ...]:
    """Every flowchart a case may run on: for each flowchart (the subject's first), its current definition and
    then every version stored in the database (cases started on it keep it), newest first.

    Lists that offer or count states (the work list's filter, the metrics) read them from all of these, so a
    case still running on an older version (version 2's `sig`, say) can be found and counted by its state."""
    charts: list[Flowchart] = []
    for name in FLOWCHARTS:
        current = current_engine(name)
        stored = session.scalars(select(FlowchartVersion.version).where(
            FlowchartVersion.name == name, FlowchartVersion.version != current.version)
            .order_by(FlowchartVersion.first_used_at.desc(), FlowchartVersion.version)).all()
        charts += [current.chart, *(engine_for_version(session, version).chart for version in stored)]
    return tuple(charts)


def every_state(charts: tuple[Flowchart, ...]) -> dict[str, State]:
    """The states of `charts`, each once, described by the first chart that has it (the current one before
    older versions), in the charts' order."""
    states: dict[str, State] = {}
    for chart in charts:
        for name, state in chart.states.items():
            states.setdefault(name, state)
    return states
