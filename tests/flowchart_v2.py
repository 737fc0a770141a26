"""Flowchart version 2, kept byte for byte in tests/cases/fixtures/vid_oro_v2.toml: the route of issue 17, where
SIG, exit support, support for relatives and other interventions are states of the case.

Cases started on version 2 keep running on it after a later version ships (DESIGN.md §2), so every test of
that route runs on this file explicitly, never on whatever `policies/vid_oro.toml` is today:
- a test that starts cases (in-process, through a served app or a subprocess that inherits the environment)
  asks for the `flowchart_v2` fixture, which points `VIDORO_FLOWCHART` at the file;
- a pure `workflow` test loads `V2` itself (`default_flowchart(V2)`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

__all__ = ["V2", "flowchart_v2"]

V2 = Path(__file__).resolve().parent / "cases" / "fixtures" / "vid_oro_v2.toml"


@pytest.fixture
def flowchart_v2(monkeypatch) -> Path:
    """New cases start on flowchart version 2 for the length of the test (`cases.flowcharts.flowchart_path`)."""
    monkeypatch.setenv("VIDORO_FLOWCHART", str(V2))
    return V2
