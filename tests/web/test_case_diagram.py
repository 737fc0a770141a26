"""One case's path drawn: the caller's title, the time in each state said in words, the plain picture unchanged."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from web.diagram import to_case_svg, to_svg
from workflow import default_flowchart

SVG = "{http://www.w3.org/2000/svg}"
PATH = ["registered", "pre_assessment", "investigation"]
TIMES = {"registered": "Tid: 1 dag", "pre_assessment": "Tid: 3 dagar", "investigation": "Tid: 2 timmar"}


@pytest.fixture(scope="module")
def chart():
    return default_flowchart()


def test_the_case_picture_is_the_flowchart_with_its_own_title_and_times_in_the_description(chart):
    svg = to_case_svg(chart, title="Ärende VO-ABC <&>", path=PATH, current="investigation", durations=TIMES)
    root = ET.fromstring(svg)  # noqa: S314 - the code under test wrote it
    assert root.find(f"{SVG}title").text == "Ärende VO-ABC <&>"
    desc = root.find(f"{SVG}desc").text
    assert desc.endswith("Tid i varje tillstånd: Oro anmäld: Tid: 1 dag; Förhandsbedömning: Tid: 3 dagar; "
                         "Utredning: Tid: 2 timmar.")
    plain = to_svg(chart, path=PATH, current="investigation", durations=TIMES)
    drawn = lambda text: text.split("</desc>", 1)[1]  # noqa: E731
    assert drawn(svg) == drawn(plain)  # the same drawing; only the title and the description differ


def test_english_and_no_times(chart):
    svg = to_case_svg(chart, title="Case VO-ABC", lang="en", path=PATH[:1], current="pre_assessment")
    desc = ET.fromstring(svg).find(f"{SVG}desc").text  # noqa: S314
    assert "The case is in: Pre-assessment." in desc and "Time in each state" not in desc


def test_unknown_states_are_refused(chart):
    with pytest.raises(ValueError, match="nowhere"):
        to_case_svg(chart, title="x", durations={"nowhere": "1 d"})
