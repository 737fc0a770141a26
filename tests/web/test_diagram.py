"""The flowchart drawings: every state and transition shown, in the chosen language, escaped and marked."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

import pytest

from policies import DEFAULT_PATH, load_flowchart, parse_flowchart
from tests.flowchart_v2 import V2
from web.diagram import to_mermaid, to_svg

GUARDS = {"child", "adult", "consent", "adult_consent", "pre_assessment_in_time", "due_date_in_future",
          "consent_withdrawn", "retention_over", "sig_age_range", "exit_programme_referral", "interventions_running",
          "no_intervention_running", "no_intervention_pending"}
SVG = "{http://www.w3.org/2000/svg}"
PATH = ("registered", "pre_assessment")


@pytest.fixture(scope="module")
def chart():
    return load_flowchart(guards=GUARDS)


@pytest.fixture(scope="module")
def nasty_chart():
    """A definition whose labels hold every character that markup or Mermaid would read as syntax."""
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    state = 'label = { sv = "Utredning", en = "Investigation" }'
    edge = 'label = { sv = "Inled utredning", en = "Open investigation" }'
    assert state in text and edge in text
    text = text.replace(state, r'label = { sv = "Utr<e>dning & \"co\"", en = "Investigation" }')
    text = text.replace(edge, r'label = { sv = "Inled <utredning> & \"nu\": ja; #1", en = "Open investigation" }')
    return parse_flowchart(text, source="x.toml", guards=GUARDS)


def parse(svg: str) -> ET.Element:
    """Parse our own output; a parse error is exactly what the tests look for, not an attack."""
    return ET.fromstring(svg)  # noqa: S314 - the SVG comes from the code under test, not from outside


def texts(svg: str) -> list[str]:
    """Every drawn <text>, its wrapped lines joined again, as a reader sees it."""
    root = parse(svg)
    return [" ".join(t.strip() for t in element.itertext() if t.strip()) for element in root.iter(f"{SVG}text")]


def node(svg: str, name: str) -> ET.Element:
    found = parse(svg).find(f".//{SVG}g[@id='vd-state-{name}']")
    assert found is not None, f"no node for {name}"
    return found


def node_text(element: ET.Element) -> str:
    return " ".join(t.strip() for t in element.itertext() if t.strip())


def box(element: ET.Element) -> ET.Element:
    """The state's own box: the last rectangle, drawn above any ring around it."""
    return element.findall(f"{SVG}rect")[-1]


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_every_state_and_transition_label_is_drawn_in_the_language(chart, lang):
    other = "en" if lang == "sv" else "sv"
    mermaid, drawn = to_mermaid(chart, lang=lang), texts(to_svg(chart, lang=lang))
    for state in chart.states.values():
        assert f'state "{state.label(lang)}" as {state.name}' in mermaid
        assert state.label(lang) in drawn
        if state.label(other) != state.label(lang):
            assert state.label(other) not in drawn
            assert f'"{state.label(other)}"' not in mermaid
    for t in chart.transitions:
        label = t.label(lang)
        assert any(line.startswith(f"    {t.source} --> {t.dest} : ") and label in line
                   for line in mermaid.splitlines()), label
        assert any(label in text for text in drawn), label


def test_mermaid_is_a_state_diagram_with_start_end_and_joined_edges(chart):
    lines = to_mermaid(chart).splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert "    [*] --> registered" in lines
    assert "    erased --> [*]" in lines
    assert "    closed --> [*]" not in lines, "closed can still be reopened or erased"
    assert "    interventions --> follow_up : Sista insatsen avslutad" in lines
    assert "    investigation --> investigation : Förläng utredningstiden" in lines
    pairs = {(t.source, t.dest) for t in chart.transitions}
    case_edges = [line for line in lines if line.startswith("    ") and not line.startswith("     ")]
    assert sum(" --> " in line and "[*]" not in line for line in case_edges) == len(pairs)
    # The interventions run side by side beside the case: one concurrent region per kind inside one composite
    # state, each with the lifecycle's edges joined the same way (its lines are indented inside the region).
    life = chart.interventions
    lane_pairs = {(t.source, t.dest) for t in life.transitions}
    lane_edges = [line for line in lines if line.startswith("            ") and " --> " in line]
    assert sum("[*]" not in line for line in lane_edges) == len(lane_pairs) * len(life.kinds)
    assert sum(line.strip() == "--" for line in lines) == len(life.kinds) - 1
    home = next(t.dest for t in chart.transitions if t.trigger == life.begin)
    assert any(line.startswith(f"    note right of {home} : ") for line in lines)


@pytest.mark.parametrize(("lang", "title"), [("sv", "Flödesschema"), ("en", "Flowchart")])
def test_svg_is_a_standalone_accessible_document(chart, lang, title):
    svg = to_svg(chart, lang=lang, path=PATH, current="investigation")
    root = parse(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "vd-title vd-desc"
    assert root.findtext(f"{SVG}title").startswith(title)
    desc = root.findtext(f"{SVG}desc")
    assert chart.states["investigation"].label(lang) in desc
    assert chart.transitions[0].label(lang) in desc
    for element in root.iter():
        assert element.tag.removeprefix(SVG) not in {"script", "foreignObject", "image", "a", "style"}
        for attribute, value in element.attrib.items():
            assert not attribute.lower().startswith("on"), attribute
            assert "http" not in value and "url(" not in value.replace("url(#", ""), value
    assert root.get("font-family") == "sans-serif"


def test_labels_are_escaped(nasty_chart):
    svg = to_svg(nasty_chart, path=["registered"], current="investigation")
    drawn = texts(svg)  # parsing at all proves the markup is escaped
    assert 'Utr<e>dning & "co"' in drawn
    assert any('Inled <utredning> & "nu": ja; #1' in text for text in drawn)
    assert "<e>" not in svg and "<utredning>" not in svg
    assert 'Utr&lt;e&gt;dning &amp; &quot;co&quot;' in svg
    mermaid = to_mermaid(nasty_chart).splitlines()
    assert '    state "Utr#60;e#62;dning #38; #34;co#34;" as investigation' in mermaid
    assert ("    pre_assessment --> investigation : Inled #60;utredning#62; #38; #34;nu#34;#58; ja#59; #35;1"
            in mermaid)


def test_path_and_current_state_are_marked_by_more_than_colour(chart):
    svg = to_svg(chart, path=PATH, current="investigation")
    current, visited, untouched = node(svg, "investigation"), node(svg, "registered"), node(svg, "erased")
    assert current.get("class") == "state current"
    assert "● Nu" in node_text(current)
    assert float(box(current).get("stroke-width")) > float(box(visited).get("stroke-width"))
    assert visited.get("class") == "state visited"
    assert "✓ Passerat" in node_text(visited)
    assert box(visited).get("stroke-dasharray")
    assert untouched.get("class") == "state"
    assert "●" not in node_text(untouched) and "✓" not in node_text(untouched)
    assert box(untouched).get("stroke-dasharray") is None
    assert float(box(untouched).get("stroke-width")) < float(box(visited).get("stroke-width"))
    taken = [p for p in parse(svg).iter(f"{SVG}path") if p.get("class") == "edge taken"]
    assert len(taken) == 2, "registered → pre_assessment → investigation"
    assert "● Now" in node_text(node(to_svg(chart, lang="en", current="investigation"), "investigation"))


def test_unmarked_drawing_has_no_marks(chart):
    svg = to_svg(chart)
    assert "current" not in svg and "visited" not in svg and "legend" not in svg
    assert "●" not in "".join(texts(svg))


def test_mermaid_marks_path_and_current_with_classes(chart):
    lines = to_mermaid(chart, path=PATH, current="investigation").splitlines()
    assert "    class registered,pre_assessment visited" in lines
    assert "    class investigation current" in lines
    assert '    state "Utredning ● Nu" as investigation' in lines
    defs = [line for line in lines if "classDef" in line]
    assert any("visited" in d and "stroke-dasharray" in d and "stroke-width" in d for d in defs)
    assert any("current" in d and "stroke-width" in d for d in defs)
    assert not any("classDef" in line or line.startswith("    class ") for line in to_mermaid(chart).splitlines())


def test_durations_are_shown_under_the_label(chart):
    svg = to_svg(chart, current="investigation", durations={"investigation": "3 d", "registered": "1 d"})
    assert node_text(node(svg, "investigation")) == "Utredning ● Nu 3 d"
    assert node_text(node(svg, "registered")) == "Oro anmäld 1 d"
    assert "d" not in node_text(node(svg, "closed")).split()


def test_output_is_deterministic(chart):
    kwargs = {"path": PATH, "current": "investigation"}
    first = to_svg(chart, durations={"registered": "1 d", "investigation": "3 d"}, **kwargs)
    again = to_svg(chart, durations={"investigation": "3 d", "registered": "1 d"}, **kwargs)
    assert first == again
    assert to_mermaid(chart, lang="en", **kwargs) == to_mermaid(chart, lang="en", **kwargs)


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_boxes_do_not_overlap_and_fit_the_picture(chart, lang):
    root = parse(to_svg(chart, lang=lang, path=PATH, current="interventions", durations={"interventions": "12 d"}))
    x0, y0, width, height = map(float, root.get("viewBox").split())
    boxes = {}
    for group in root.iter(f"{SVG}g"):
        if group.get("id", "").startswith("vd-state-"):
            rect = box(group)
            boxes[group.get("id")] = tuple(float(rect.get(k)) for k in ("x", "y", "width", "height"))
    assert len(boxes) == len(chart.states)
    for x, y, w, h in boxes.values():
        assert x0 <= x and x + w <= x0 + width and y0 <= y and y + h <= y0 + height
    for (a, (ax, ay, aw, ah)), (b, (bx, by, bw, bh)) in itertools.combinations(boxes.items(), 2):
        assert ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay, (a, b)


@pytest.mark.parametrize(("lang", "name"), [("sv", "interventions"), ("sv", "protection_assessment"),
                                            ("en", "interventions")])
def test_long_labels_fit_their_box(chart, lang, name):
    group = node(to_svg(chart, lang=lang), name)
    label = group.find(f"{SVG}text")
    lines = [span.text for span in label.iter(f"{SVG}tspan")]
    assert " ".join(lines) == chart.states[name].label(lang)
    # bold sans-serif averages well under 0.6 em per character
    assert float(box(group).get("width")) >= max(map(len, lines)) * float(label.get("font-size")) * 0.6


@pytest.mark.parametrize("kwargs", [{"path": ["registered", "nowhere"]}, {"current": "nowhere"}])
def test_unknown_states_are_refused(chart, kwargs):
    with pytest.raises(ValueError, match="nowhere"):
        to_svg(chart, **kwargs)
    with pytest.raises(ValueError, match="nowhere"):
        to_mermaid(chart, **kwargs)


def test_unknown_state_in_durations_is_refused(chart):
    with pytest.raises(ValueError, match="nowhere"):
        to_svg(chart, durations={"nowhere": "1 d"})


# --- version 2: a case started on it is drawn on it, its interventions states of the case ---------------------


@pytest.fixture(scope="module")
def chart_v2():
    return load_flowchart(V2, guards=GUARDS)


def test_version_2_draws_its_interventions_as_states_with_their_steps(chart_v2):
    lines = to_mermaid(chart_v2).splitlines()
    assert "    awaiting_consent --> sig : Remittera till social insatsgrupp" in lines
    assert "    sig --> follow_up : Samtycket har återkallats / Påbörja uppföljning" in lines
    pairs = {(t.source, t.dest) for t in chart_v2.transitions}
    assert sum(" --> " in line and "[*]" not in line for line in lines) == len(pairs)


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_version_2_boxes_do_not_overlap_with_a_case_in_sig(chart_v2, lang):
    root = parse(to_svg(chart_v2, lang=lang, path=PATH, current="sig", durations={"sig": "12 d"}))
    x0, y0, width, height = map(float, root.get("viewBox").split())
    boxes = {group.get("id"): tuple(float(box(group).get(k)) for k in ("x", "y", "width", "height"))
             for group in root.iter(f"{SVG}g") if group.get("id", "").startswith("vd-state-")}
    assert len(boxes) == len(chart_v2.states)
    for x, y, w, h in boxes.values():
        assert x0 <= x and x + w <= x0 + width and y0 <= y and y + h <= y0 + height
    for (a, (ax, ay, aw, ah)), (b, (bx, by, bw, bh)) in itertools.combinations(boxes.items(), 2):
        assert ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay, (a, b)


@pytest.mark.parametrize(("lang", "name"), [("sv", "sig"), ("sv", "exit_support"), ("en", "sig")])
def test_version_2_long_labels_fit_their_box(chart_v2, lang, name):
    group = node(to_svg(chart_v2, lang=lang), name)
    label = group.find(f"{SVG}text")
    lines = [span.text for span in label.iter(f"{SVG}tspan")]
    assert " ".join(lines) == chart_v2.states[name].label(lang)
    assert float(box(group).get("width")) >= max(map(len, lines)) * float(label.get("font-size")) * 0.6
