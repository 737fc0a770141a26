"""docs/flowchart.* show the flowchart new cases start on; regenerate them when it changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from web.diagram import to_mermaid, to_svg
from workflow import default_flowchart

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_mermaid_block_is_current():
    text = (DOCS / "flowchart.md").read_text(encoding="utf-8")
    block = text.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert block == to_mermaid(default_flowchart()) + "\n", "regenerate: vidoro flowchart --format mermaid"


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_pictures_are_current(lang):
    picture = (DOCS / f"flowchart.{lang}.svg").read_text(encoding="utf-8")
    assert picture == to_svg(default_flowchart(), lang=lang), f"regenerate docs/flowchart.{lang}.svg"


def test_the_relative_flowchart_block_is_current():
    from policies import RELATIVE_PATH

    text = (DOCS / "flowchart.md").read_text(encoding="utf-8")
    block = text.split("```mermaid\n")[2].split("```", 1)[0]
    assert block == to_mermaid(default_flowchart(RELATIVE_PATH)) + "\n", (
        "regenerate: vidoro flowchart --name relative_support --format mermaid")
