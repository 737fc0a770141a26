"""One case's path drawn: the caller's title, the time in each state said in words, the plain picture unchanged."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from web.diagram import to_case_svg, to_mermaid, to_svg
from web.diagram_lanes import Lane
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


# --- interventions side by side (version 3 on) ---------------------------------------------------------------

def _lanes(svg: str) -> ET.Element | None:
    return ET.fromstring(svg).find(f".//{SVG}g[@class='interventions']")  # noqa: S314


def _lane_boxes(group: ET.Element) -> list[tuple[str, ET.Element]]:
    """Each drawn lifecycle state of the panel: its words, and its box."""
    return [(" ".join(t.strip() for t in g.itertext() if t.strip()), g.find(f"{SVG}rect"))
            for g in group.iter(f"{SVG}g") if g.get("class") == "intervention-state"]


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_flowchart_draws_a_lane_per_kind_beside_the_path(chart, lang):
    life = chart.interventions
    svg = to_svg(chart, lang=lang)
    group = _lanes(svg)
    assert group is not None
    drawn = " ".join(t.strip() for t in group.itertext() if t.strip())
    for kind in life.kinds.values():
        assert kind.label(lang) in drawn
    boxes = _lane_boxes(group)
    assert len(boxes) == len(life.kinds) * len(life.states)  # every kind runs the whole lifecycle
    assert not any("●" in words or "✓" in words for words, _ in boxes)  # nothing marked on the plain picture
    for t in life.transitions:  # every step named once, in the first lane
        assert t.label(lang) in drawn, t.label(lang)
    desc = ET.fromstring(svg).find(f"{SVG}desc").text  # noqa: S314
    assert life.states["running"].label(lang) in desc


def test_the_lanes_fit_the_picture_and_keep_clear_of_the_path(chart):
    root = ET.fromstring(to_svg(chart))  # noqa: S314
    x0, y0, width, height = map(float, root.get("viewBox").split())
    path_right = max(float(g.findall(f"{SVG}rect")[-1].get("x")) + float(g.findall(f"{SVG}rect")[-1].get("width"))
                     for g in root.iter(f"{SVG}g") if g.get("id", "").startswith("vd-state-"))
    for _words, rect in _lane_boxes(root.find(f".//{SVG}g[@class='interventions']")):
        x, y, w, h = (float(rect.get(k)) for k in ("x", "y", "width", "height"))
        assert x0 <= x and x + w <= x0 + width and y0 <= y and y + h <= y0 + height
        assert x > path_right


def test_a_case_shows_its_own_interventions_side_by_side_with_their_states(chart):
    lanes = [Lane("Social insatsgrupp", "running", ("proposed", "decided")),
             Lane("Avhopparverksamhet", "ended", ("proposed", "decided", "running"))]
    svg = to_case_svg(chart, title="Ärende VO-ABC", path=PATH, current="interventions", lanes=lanes)
    boxes = _lane_boxes(_lanes(svg))
    assert len(boxes) == 2 * len(chart.interventions.states)
    now = [words for words, _ in boxes if "● Nu" in words]
    assert now == ["Pågår ● Nu", "Avslutad ● Nu"]  # one current state per lane, each its own
    assert [words for words, _ in boxes].count("Föreslagen ✓ Passerat") == 2
    current = [rect for words, rect in boxes if "●" in words]
    plain = [rect for words, rect in boxes if "●" not in words and "✓" not in words]
    assert all(float(r.get("stroke-width")) > float(p.get("stroke-width")) for r in current for p in plain)
    desc = ET.fromstring(svg).find(f"{SVG}desc").text  # noqa: S314
    assert "Social insatsgrupp: Pågår" in desc and "Avhopparverksamhet: Avslutad" in desc


def test_a_case_of_version_2_is_drawn_as_it_was(flowchart_v2):
    old = default_flowchart(flowchart_v2)
    assert old.interventions is None
    svg = to_case_svg(old, title="x", path=PATH, current="investigation")
    assert _lanes(svg) is None and "iv_lanes" not in to_mermaid(old)
    assert 'id="vd-state-sig"' in svg  # its interventions are states of the case, as before


def test_mermaid_runs_the_lifecycle_in_a_region_per_kind(chart):
    life = chart.interventions
    lines = to_mermaid(chart, lang="en").splitlines()
    start = lines.index('    state "Interventions#58; each its own, several at once" as iv_lanes {')
    block = lines[start:]
    assert block.count("        --") == len(life.kinds) - 1  # concurrent regions: side by side
    for number, kind in enumerate(life.kinds.values()):
        assert f'        state "{kind.label("en")}" as iv{number} {{' in block
        assert f"            [*] --> iv{number}_0" in block
    assert any(line.startswith("    note right of interventions : ") for line in lines)
