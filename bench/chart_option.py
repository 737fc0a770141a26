"""`--flowchart`: the flowchart version a benchmark's new cases start on (shared by the bench scripts, run from
bench/).

The measured cycles (`request_consent` / `consent_refused`, the referrals and `start_follow_up`) are steps of the
case in flowchart version 2; a later version makes interventions records of their own and has none of them. Cases
keep the version they started on, so a benchmark of that route starts its cases on version 2:
`--flowchart tests/cases/fixtures/vid_oro_v2.toml`. The default is the flowchart shipped in `policies/`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

VARIABLE = "VIDORO_FLOWCHART"  # read by cases.flowcharts on every call, inherited by the processes a script starts


def add_flowchart_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--flowchart", type=Path, default=None, metavar="TOML",
                        help="the flowchart new cases start on (default: the one shipped in policies/; "
                             "version 2's route: tests/cases/fixtures/vid_oro_v2.toml)")


def use_flowchart(path: Path | None) -> None:
    """New cases of this process, and of the servers and workers it starts, start on `path` (if given)."""
    if path is None:
        return
    if not path.is_file():
        raise SystemExit(f"--flowchart: no file {path}")
    os.environ[VARIABLE] = str(path.resolve())
