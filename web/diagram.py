"""Draw the flowchart for people: Mermaid text and a standalone SVG picture, with a case's path marked.

Pure (standard library only) and deterministic; it lives with the pages and the command that show it, not in
the engine (`workflow/`), which never needs a picture. The SVG puts states in rows by their longest distance
from the initial state over forward edges (back edges from a depth-first walk are left out, so `closed` sits
below all that leads to it); neighbouring rows are joined by S-curves, longer and backward edges run in side
lanes outside every box they pass. Marks are never colour alone (WCAG 1.4.1): visited states get a thick
dashed border and "✓", the current one a very thick border, an outer ring and "● Nu"/"● Now".
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from itertools import pairwise
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from policies import Flowchart
    from web.diagram_lanes import Lane

__all__ = ["to_case_svg", "to_mermaid", "to_svg"]

_WORDS = {
    "sv": {"title": "Flödesschema", "states": "tillstånd", "transitions": "övergångar", "start": "Start",
           "now": "Nu", "visited": "Passerat", "current": "Ärendet står i", "path": "Passerade",
           "legend_now": "● Nu: där ärendet står nu", "legend_visited": "✓ Passerat: steg som ärendet tagit",
           "time": "Tid i varje tillstånd"},
    "en": {"title": "Flowchart", "states": "states", "transitions": "transitions", "start": "Start",
           "now": "Now", "visited": "Visited", "current": "The case is in", "path": "Passed through",
           "legend_now": "● Now: where the case is now", "legend_visited": "✓ Visited: steps the case took",
           "time": "Time in each state"},
}
_INK, _EDGE, _TAKEN, _HALO = "#1a1a1a", "#555555", "#1f4e8c", "#ffffff"
_EDGE_STYLE = {False: f'class="edge" stroke="{_EDGE}" stroke-width="1.5" marker-end="url(#vd-arrow)"',
               True: f'class="edge taken" stroke="{_TAKEN}" stroke-width="3" marker-end="url(#vd-arrow-taken)"'}
_STATE_FONT, _SMALL_FONT, _LINE = 14, 12, 15
_STATE_WRAP, _EDGE_WRAP, _LANE_WRAP = 18, 24, 16
_PAD, _LANE_MARGIN, _MIN_GAP = 12, 22, 64
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_MERMAID_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_MERMAID_RESERVED = {"end", "state", "class", "classdef", "note", "direction", "style", "click", "as"}

_Edge = tuple[str, str]  # (source, dest): one drawn edge
_Block = tuple[float, float, int, int]  # (left, right, first gap, last gap): taken room, in rows and gaps


def to_mermaid(chart: Flowchart, *, lang: str = "sv", path: Sequence[str] = (),
               current: str | None = None) -> str:
    """Write the flowchart as a Mermaid `stateDiagram-v2`, for documents and the Mermaid live editor."""
    words = _words(lang)
    visited, _ = _marks(chart, path, current)
    ids = _mermaid_ids(chart)
    lines = ["stateDiagram-v2", f"    accTitle: {_one_line(words['title'] + ' ' + chart.name)}",
             f"    accDescr: {_one_line(_summary(chart, lang, visited, current))}"]
    for name, state in chart.states.items():
        mark = f" ● {words['now']}" if name == current else " ✓" if name in visited else ""
        lines.append(f'    state "{_mermaid_text(state.label(lang) + mark)}" as {ids[name]}')
    lines.append(f"    [*] --> {ids[chart.initial_state]}")
    for (source, dest), labels in _edges(chart, lang).items():
        lines.append(f"    {ids[source]} --> {ids[dest]} : {_mermaid_text(' / '.join(labels))}")
    lines += [f"    {ids[name]} --> [*]" for name in _ends(chart)]
    lines += _mermaid_lanes(chart, lang, ids)
    if visited:
        lines.append(f"    classDef visited fill:#eef4fb,stroke:{_TAKEN},stroke-width:3px,"
                     "stroke-dasharray:6 3")
        lines.append(f"    class {','.join(ids[n] for n in chart.states if n in visited)} visited")
    if current is not None:
        lines.append(f"    classDef current fill:#fff4d6,stroke:{_INK},stroke-width:5px,font-weight:bold")
        lines.append(f"    class {ids[current]} current")
    return "\n".join(lines) + "\n"


def to_svg(chart: Flowchart, *, lang: str = "sv", path: Sequence[str] = (), current: str | None = None,
           durations: Mapping[str, str] | None = None) -> str:
    """Draw the flowchart as a standalone SVG that a browser shows without scripts, fonts or other files."""
    return _draw(chart, lang, path, current, durations, None, describe_durations=False)


def to_case_svg(chart: Flowchart, *, title: str, lang: str = "sv", path: Sequence[str] = (),
                current: str | None = None, durations: Mapping[str, str] | None = None,
                lanes: Sequence[Lane] = ()) -> str:
    """Draw one case's path: `to_svg` with the caller's title, and the time in each state told in words too.

    The description (read by screen readers in place of the picture, WCAG 1.1.1) names the time spent in
    each state as well, since the drawing shows it only as text inside the boxes. `lanes` are the case's
    interventions, drawn side by side beside the path (`web.diagram_lanes`), for a version that has them.
    """
    return _draw(chart, lang, path, current, durations, title, describe_durations=True, lanes=lanes)


def _draw(chart: Flowchart, lang: str, path: Sequence[str], current: str | None,
          durations: Mapping[str, str] | None, title: str | None, *, describe_durations: bool,
          lanes: Sequence[Lane] = ()) -> str:
    durations, lang = dict(durations or {}), "en" if lang == "en" else "sv"
    _check_states(chart, durations, "durations")
    words = _words(lang)
    visited, route = _marks(chart, path, current)
    taken = set(pairwise(route))
    layout = _Layout(chart, lang, words, durations, visited, current)
    summary = _summary(chart, lang, visited, current, detail=True)
    beside = _beside(chart, lang, layout, lanes)
    if beside:
        summary += " " + beside[0]
    if describe_durations and durations:
        summary += f" {words['time']}: " + "; ".join(
            f"{chart.states[n].label(lang)}: {durations[n]}" for n in chart.states if n in durations) + "."
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" lang="{lang}" role="img" '
           f'aria-labelledby="vd-title vd-desc" viewBox="{layout.viewbox}" width="{_n(layout.width)}" '
           f'height="{_n(layout.height)}" font-family="sans-serif">',
           f'<title id="vd-title">{_xml(title if title is not None else words["title"] + ": " + chart.name)}'
           '</title>',
           f'<desc id="vd-desc">{_xml(summary)}</desc>',
           "<defs>" + "".join(f'<marker id="{m}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="{size}" '
                              f'markerHeight="{size}" markerUnits="userSpaceOnUse" orient="auto">'
                              f'<path d="M0,0 L10,5 L0,10 z" fill="{ink}"/></marker>'
                              for m, size, ink in (("vd-arrow", 9, _EDGE), ("vd-arrow-taken", 11, _TAKEN)))
           + "</defs>",
           f'<rect x="{_n(layout.x0)}" y="{_n(layout.y0)}" width="{_n(layout.width)}" '
           f'height="{_n(layout.height)}" fill="#ffffff"/>']
    out += layout.legend() if layout.marked else []
    out += beside[1] if beside else []
    out += [f'<path {_EDGE_STYLE[key in taken]} fill="none" d="{d}"/>' for key, d, _ in layout.edges]
    out += [layout.node(name) for name in chart.states]
    out += [label for _, _, label in layout.edges]
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _beside(chart: Flowchart, lang: str, layout: _Layout, lanes: Sequence[Lane]) -> tuple[str, list[str]] | None:
    """The interventions' panel to the right of the path, joined to the case's state where they run, and what
    it shows in words; None for a version without interventions (its drawing stays as it was)."""
    life = chart.interventions
    if life is None:
        return None
    from web.diagram_lanes import lanes_of_chart, panel  # it draws with this module's helpers

    home = next(t.dest for t in chart.transitions if t.trigger == life.begin)
    right = layout.x0 + layout.width
    x, y = right + 28, max(layout.y0 + 8, layout.y[home] - layout.h / 2 - 60)
    drawn = panel(chart, lang, list(lanes) or lanes_of_chart(chart, lang), x, y)
    join = (f'<path class="join" stroke="{_INK}" stroke-width="1.5" stroke-dasharray="6 4" fill="none" '
            f'd="M{_n(layout.x[home] + layout.w / 2)},{_n(layout.y[home])} H{_n(x)}"/>')
    layout.width = x + drawn.width + 16 - layout.x0
    layout.height = max(layout.height, y + drawn.height + 16 - layout.y0)
    layout.viewbox = " ".join(_n(v) for v in (layout.x0, layout.y0, layout.width, layout.height))
    return drawn.summary, [join, *drawn.parts]


def _words(lang: str) -> dict[str, str]:
    """Pick the interface words the way `Label` picks a label: English only when asked, else Swedish."""
    return _WORDS["en" if lang == "en" else "sv"]


def _check_states(chart: Flowchart, names: Iterable[str], what: str) -> None:
    """Refuse names the flowchart does not know, so a case on another version is not drawn wrongly."""
    unknown = [n for n in names if n not in chart.states]
    if unknown:
        raise ValueError(f"{what} names unknown state(s) {unknown} of flowchart '{chart.name}'")


def _marks(chart: Flowchart, path: Sequence[str], current: str | None) -> tuple[set[str], list[str]]:
    """Return the visited states (without the current one) and the route including the current state."""
    path = list(path)
    _check_states(chart, [*path, *([current] if current is not None else [])], "path/current")
    route = path + ([current] if current is not None and (not path or path[-1] != current) else [])
    return set(path) - {current}, route


def _edges(chart: Flowchart, lang: str) -> dict[tuple[str, str], list[str]]:
    """Group transitions by (source, dest) in definition order; one drawn edge carries all their labels."""
    edges: dict[tuple[str, str], list[str]] = {}
    for t in chart.transitions:
        labels = edges.setdefault((t.source, t.dest), [])
        if t.label(lang) not in labels:
            labels.append(t.label(lang))
    return edges


def _ends(chart: Flowchart) -> list[str]:
    """End the diagram at states with no way out, or at the closing state when every state has one."""
    ends = [n for n, s in chart.states.items() if s.terminal or not chart.transitions_from(n)]
    return ends or [n for n, s in chart.states.items() if s.closing]


def _summary(chart: Flowchart, lang: str, visited: set[str], current: str | None, detail: bool = False) -> str:
    """Say in words what the picture shows, for screen readers (WCAG 1.1.1)."""
    words = _words(lang)

    def label(name: str) -> str:
        return chart.states[name].label(lang)

    parts = [f"{len(chart.states)} {words['states']}, {len(chart.transitions)} {words['transitions']}. "
             f"{words['start']}: {label(chart.initial_state)}."]
    if detail:
        parts += [f"{label(s)} → {label(d)}: {' / '.join(ls)}." for (s, d), ls in _edges(chart, lang).items()]
    if visited:
        parts.append(f"{words['path']}: {', '.join(label(n) for n in chart.states if n in visited)}.")
    if current is not None:
        parts.append(f"{words['current']}: {label(current)}.")
    return " ".join(parts)


def _mermaid_lanes(chart: Flowchart, lang: str, ids: Mapping[str, str]) -> list[str]:
    """The interventions side by side: a composite state with a concurrent region per kind, each running the
    lifecycle, and a note on the case's state where they run; nothing for a version without interventions."""
    life = chart.interventions
    if life is None:
        return []
    from web.diagram_lanes import _WORDS as LANE_WORDS

    words = LANE_WORDS["en" if lang == "en" else "sv"]
    home = next(t.dest for t in chart.transitions if t.trigger == life.begin)
    lines = [f'    state "{_mermaid_text(words["title"])}" as iv_lanes {{']
    for number, spec in enumerate(life.kinds.values()):
        lane = f"iv{number}"
        if number:
            lines.append("        --")
        lines.append(f'        state "{_mermaid_text(spec.label(lang))}" as {lane} {{')
        lines += [f'            state "{_mermaid_text(s.label(lang))}" as {lane}_{i}'
                  for i, s in enumerate(life.states.values())]
        index = {name: i for i, name in enumerate(life.states)}
        lines.append(f"            [*] --> {lane}_{index[life.initial]}")
        edges: dict[tuple[str, str], list[str]] = {}
        for t in life.transitions:
            names = edges.setdefault((t.source, t.dest), [])
            if t.label(lang) not in names:
                names.append(t.label(lang))
        lines += [f"            {lane}_{index[s]} --> {lane}_{index[d]} : {_mermaid_text(' / '.join(v))}"
                  for (s, d), v in edges.items()]
        lines += [f"            {lane}_{index[name]} --> [*]" for name, s in life.states.items() if s.terminal]
        lines.append("        }")
    lines.append("    }")
    lines.append(f"    note right of {ids[home]} : {_mermaid_text(words['note'])}")
    return lines


def _mermaid_ids(chart: Flowchart) -> dict[str, str]:
    """Use state names as ids where Mermaid accepts them, else a safe numbered id."""
    ids = {}
    for number, name in enumerate(chart.states):
        ok = _MERMAID_ID.fullmatch(name) and name.lower() not in _MERMAID_RESERVED
        ids[name] = name if ok else f"s{number}_" + re.sub(r"\W", "_", name, flags=re.ASCII)
    return ids


def _one_line(text: str) -> str:
    """Collapse white space, so a label cannot end a Mermaid statement early."""
    return " ".join(_XML_BAD.sub("", text).split())


def _mermaid_text(text: str) -> str:
    """Replace characters Mermaid reads as syntax with its `#code;` entities."""
    text = _one_line(text)
    return "".join(f"#{ord(c)};" if c in '"#:;<>&`{}[]|\\%' else c for c in text)


def _xml(text: str) -> str:
    """Escape text for XML content and attributes, dropping characters XML 1.0 forbids."""
    text = _XML_BAD.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _n(value: float) -> str:
    """Format a coordinate with one decimal and no trailing zeros, so output is byte-stable."""
    text = f"{round(value, 1) + 0.0:.1f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _wrap(text: str, width: int) -> list[str]:
    """Break text into lines of about `width` characters at spaces; a longer word keeps its own line."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _width(lines: Sequence[str], size: int, bold: bool = False) -> float:
    """Estimate rendered width from character count: no font metrics exist without a renderer."""
    return max(len(line) for line in lines) * size * (0.62 if bold else 0.57)


def _text(x: float, y: float, lines: Sequence[str], anchor: str = "middle", size: int = _SMALL_FONT,
          extra: str = "", halo: bool = True) -> str:
    """Write lines of text centred vertically on y, with a white halo so crossing lines do not hide it."""
    top = y - (len(lines) - 1) * _LINE / 2 + size * 0.35
    spans = "".join(f'<tspan x="{_n(x)}" y="{_n(top + i * _LINE)}">{_xml(line)}</tspan>'
                    for i, line in enumerate(lines))
    if halo:
        extra += f' stroke="{_HALO}" stroke-width="4" stroke-linejoin="round" paint-order="stroke"'
    return f'<text text-anchor="{anchor}" font-size="{size}" fill="{_INK}"{extra}>{spans}</text>'


def _edge_lines(labels: Sequence[str], width: int = _EDGE_WRAP) -> list[str]:
    """Wrap each joined label on its own, so "A / B" breaks between the transitions, not inside them."""
    lines: list[str] = []
    for i, label in enumerate(labels):
        lines += _wrap(label + (" /" if i < len(labels) - 1 else ""), width)
    return lines


class _Layout:
    """Place states in rows and route edges; all coordinates are computed once, in a fixed order."""

    def __init__(self, chart: Flowchart, lang: str, words: Mapping[str, str], durations: Mapping[str, str],
                 visited: set[str], current: str | None) -> None:
        self.chart, self.words, self.durations = chart, words, durations
        self.visited, self.current, self.marked = visited, current, bool(visited) or current is not None
        self.layer, self.back = self.layers()
        rows = [[n for n in chart.states if self.layer[n] == r] for r in range(max(self.layer.values()) + 1)]
        self.texts = {n: _wrap(s.label(lang), _STATE_WRAP) for n, s in chart.states.items()}
        extra = bool(durations) + self.marked
        small = [*durations.values(), f"● {words['now']}", f"✓ {words['visited']}"]
        self.w = max(130.0, _width(small, _SMALL_FONT, True) + 2 * _PAD,
                     *(_width(t, _STATE_FONT, True) + 2 * _PAD for t in self.texts.values()))
        self.h = 2 * _PAD + _LINE * (max(len(t) for t in self.texts.values()) + extra) + 4
        edges = _edges(chart, lang)
        adjacent = [k for k in edges if k[0] != k[1] and k not in self.back
                    and self.layer[k[1]] == self.layer[k[0]] + 1]
        fans = [k for k in adjacent if sum(j[0] == k[0] or j[1] == k[1] for j in adjacent) > 1]
        step = max([self.w + 36] + [_width(_edge_lines(edges[k]), _SMALL_FONT) + 16 for k in fans])
        self.x: dict[str, float] = {}
        for row in rows:  # order each row by where its predecessors stand, to keep crossings few
            row.sort(key=lambda n: (self.barycentre(n), list(chart.states).index(n)))
            for i, name in enumerate(row):
                self.x[name] = (i - (len(row) - 1) / 2) * step
        self.route(edges, adjacent, len(rows))

    def layers(self) -> tuple[dict[str, int], set[tuple[str, str]]]:
        """Find back edges by a depth-first walk, then layer by the longest path over the rest."""
        out: dict[str, list[str]] = {n: [] for n in self.chart.states}
        for t in self.chart.transitions:
            if t.dest not in out[t.source]:
                out[t.source].append(t.dest)
        state: dict[str, str] = {}
        back: set[_Edge] = set()
        finished: list[str] = []

        def visit(node: str) -> None:
            state[node] = "open"
            for nxt in out[node]:
                if state.get(nxt) == "open":
                    back.add((node, nxt))
                elif nxt not in state:
                    visit(nxt)
            state[node] = "done"
            finished.append(node)

        for node in [self.chart.initial_state, *self.chart.states]:
            if node not in state:
                visit(node)
        layer = dict.fromkeys(self.chart.states, 0)
        for node in reversed(finished):
            for nxt in out[node]:
                if (node, nxt) not in back:
                    layer[nxt] = max(layer[nxt], layer[node] + 1)
        return layer, back

    def barycentre(self, name: str) -> float:
        """Average the x of the forward predecessors already placed; the first row has none."""
        xs = [self.x[t.source] for t in self.chart.transitions
              if t.dest == name and t.source in self.x and (t.source, name) not in self.back]
        return sum(xs) / len(xs) if xs else 0.0

    def route(self, edges: Mapping[_Edge, list[str]], adjacent: Collection[_Edge], nrows: int) -> None:
        """Size the gaps between rows to their labels, then draw neighbour edges, loops and side lanes."""
        loops = [k for k in edges if k[0] == k[1]]
        lanes = sorted((k for k in edges if k[0] != k[1] and k not in adjacent),
                       key=lambda k: (abs(self.layer[k[0]] - self.layer[k[1]]), list(edges).index(k)))
        self.lines = {k: _edge_lines(v, _LANE_WRAP if k in lanes else _EDGE_WRAP) for k, v in edges.items()}
        gap_of = {k: (self.layer[k[0]] + self.layer[k[1]] - 1) // 2 for k in lanes}
        gap_of.update({k: self.layer[k[0]] for k in adjacent})
        gap_of.update({k: max(self.layer[k[0]] - 1, 0) for k in loops})
        need = [0] * nrows
        for k, gap in gap_of.items():
            need[gap] = max(need[gap], len(self.lines[k]) + (k in loops))
        self.top = [60.0 if any(self.layer[k[0]] == 0 for k in loops) else 0.0] * nrows
        for r in range(1, nrows):
            self.top[r] = self.top[r - 1] + self.h + max(_MIN_GAP, 34 + _LINE * need[r - 1])
        self.y = {n: self.top[self.layer[n]] + self.h / 2 for n in self.chart.states}
        self.edges: list[tuple[tuple[str, str], str, str]] = []
        blocks = [(self.x[n] - self.w / 2, self.x[n] + self.w / 2, 2 * self.layer[n], 2 * self.layer[n])
                  for n in self.chart.states]
        self.neighbours(adjacent, blocks)
        for key in loops:
            self.loop(key, blocks)
        self.lanes(lanes, gap_of, blocks)
        xs = [b[0] for b in blocks] + [b[1] for b in blocks]
        self.x0, self.y0 = min(xs) - 16, -16 - 40 * self.marked
        legend = sum(68 + _width([self.words[k]], _SMALL_FONT) for k in ("legend_now", "legend_visited"))
        self.width = max(max(xs) + 16 - self.x0, legend * self.marked)
        self.height = self.top[-1] + self.h + 16 - self.y0
        self.viewbox = " ".join(_n(v) for v in (self.x0, self.y0, self.width, self.height))

    def neighbours(self, adjacent: Collection[_Edge], blocks: list[_Block]) -> None:
        """Join neighbouring rows with S-curves; labels sit nearer the end where fewer edges crowd."""
        fan_out = {n: sorted((k for k in adjacent if k[0] == n), key=lambda k: self.x[k[1]]) for n in self.x}
        fan_in = {n: sorted((k for k in adjacent if k[1] == n), key=lambda k: self.x[k[0]]) for n in self.x}

        def port(siblings: list[_Edge], key: _Edge, centre: float) -> float:
            spread = min(self.w - 40, 30 * (len(siblings) - 1))
            return centre - spread / 2 + (spread * siblings.index(key) / (len(siblings) - 1) if spread else 0)

        for key in adjacent:
            source, dest = key
            sx, sy = port(fan_out[source], key, self.x[source]), self.y[source] + self.h / 2
            dx, dy = port(fan_in[dest], key, self.x[dest]), self.y[dest] - self.h / 2
            mid = (sy + dy) / 2
            d = f"M{_n(sx)},{_n(sy)} C{_n(sx)},{_n(mid)} {_n(dx)},{_n(mid)} {_n(dx)},{_n(dy)}"
            lines = self.lines[key]
            width, gap = _width(lines, _SMALL_FONT), 2 * self.layer[source] + 1
            height, anchor, lx, ly = len(lines) * _LINE / 2 + 12, "middle", (sx + dx) / 2, mid
            if abs(sx - dx) < 1:  # a straight line: the label stands beside it, not on it
                anchor, lx = "end", sx - 8
            elif len(fan_out[source]) > len(fan_in[dest]):  # a fan: the label goes by its lone end
                lx, ly = dx, dy - height
            elif len(fan_in[dest]) > len(fan_out[source]):
                lx, ly = sx, sy + height
            left = lx - width if anchor == "end" else lx - width / 2
            blocks.append((left, left + width, gap, gap))
            self.edges.append((key, d, _text(lx, ly, lines, anchor)))

    def loop(self, key: _Edge, blocks: list[_Block]) -> None:
        """Draw a transition back into the same state as a small loop on the top right of its box."""
        name, lines = key[0], self.lines[key]
        top, right = self.y[name] - self.h / 2, self.x[name] + self.w / 2
        xs, xe = right - 48, right - 16
        d = (f"M{_n(xs)},{_n(top)} C{_n(xs - 4)},{_n(top - 44)} {_n(xe + 24)},{_n(top - 44)} "
             f"{_n(xe)},{_n(top)}")
        label = _text(xe + 22, top - 30, lines, "start")
        gap = 2 * self.layer[name] - 1
        blocks.append((xs - 4, xe + 22 + _width(lines, _SMALL_FONT), gap, gap))
        self.edges.append((key, d, label))

    def lanes(self, lanes: Sequence[_Edge], gap_of: Mapping[_Edge, int], blocks: list[_Block]) -> None:
        """Run long forward edges down the left and back edges up the right, outside everything they pass."""
        lane_x: dict[tuple[str, str], float] = {}
        for key in lanes:
            lo, hi = sorted((2 * self.layer[key[0]], 2 * self.layer[key[1]]))
            right = self.layer[key[1]] < self.layer[key[0]]
            width = _width(self.lines[key], _SMALL_FONT) + 8
            near = [b for b in blocks if b[2] <= hi and b[3] >= lo]
            lane_x[key] = x = max(b[1] for b in near) + _LANE_MARGIN if right else \
                min(b[0] for b in near) - _LANE_MARGIN
            blocks.append((x, x + width, lo, hi) if right else (x - width, x, lo, hi))
        ports: dict[tuple[str, bool], list[tuple[tuple[int, float], _Edge]]] = {}
        for key in lanes:  # upward ends take the upper ports, so that no stub crosses another lane
            right = self.layer[key[1]] < self.layer[key[0]]
            for end, other in ((key[0], key[1]), (key[1], key[0])):
                up = self.layer[other] < self.layer[end]
                outward = lane_x[key] if right else -lane_x[key]
                ports.setdefault((end, right), []).append(((0, outward) if up else (1, -outward), key))
        port_y: dict[tuple[str, tuple[str, str]], float] = {}
        for (name, _), ends in ports.items():
            for i, (_, key) in enumerate(sorted(ends)):
                port_y[name, key] = self.y[name] - self.h / 2 + self.h * (i + 1) / (len(ends) + 1)
        for key in lanes:
            source, dest = key
            right, x = self.layer[dest] < self.layer[source], lane_x[key]
            side = self.w / 2 if right else -self.w / 2
            d = _lane_path(self.x[source] + side, port_y[source, key], x, port_y[dest, key],
                           self.x[dest] + side)
            mid = (self.top[gap_of[key]] + self.h + self.top[gap_of[key] + 1]) / 2
            label = _text(x + 6 if right else x - 6, mid, self.lines[key], "start" if right else "end")
            self.edges.append((key, d, label))

    def node(self, name: str) -> str:
        """Draw one state; visited and current differ by border width, dash and a text mark, not colour."""
        x, y, w, h = self.x[name] - self.w / 2, self.y[name] - self.h / 2, self.w, self.h
        lines, marks, words = self.texts[name], [], self.words
        kind, box = "state", f'fill="#ffffff" stroke="{_INK}" stroke-width="1.5"'
        if name == self.current:
            kind, box = "state current", f'fill="#fff4d6" stroke="{_INK}" stroke-width="5"'
            marks.append(f'<rect x="{_n(x - 7)}" y="{_n(y - 7)}" width="{_n(w + 14)}" height="{_n(h + 14)}" '
                         f'rx="14" fill="none" stroke="{_INK}" stroke-width="1.5" stroke-dasharray="4 3"/>')
        elif name in self.visited:
            kind, box = "state visited", f'fill="#eef4fb" stroke="{_TAKEN}" stroke-width="3" stroke-dasharray="7 4"'
        parts = [f'<g id="vd-state-{_xml(re.sub(r"[^A-Za-z0-9_-]", "_", name))}" class="{kind}">', *marks,
                 f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" rx="10" {box}/>']
        below = [(f"● {words['now']}", ' font-weight="bold"')] if name == self.current else \
            [(f"✓ {words['visited']}", "")] if name in self.visited else []
        below += [(self.durations[name], ' font-style="italic"')] if name in self.durations else []
        first = self.y[name] - (len(lines) + len(below) - 1) * _LINE / 2
        parts.append(_text(self.x[name], first + (len(lines) - 1) * _LINE / 2, lines, size=_STATE_FONT,
                           extra=' font-weight="bold"', halo=False))
        for i, (text, style) in enumerate(below):
            parts.append(_text(self.x[name], first + (len(lines) + i) * _LINE, [text], extra=style, halo=False))
        return "".join(parts) + "</g>"

    def legend(self) -> list[str]:
        """Explain the marks above the drawing with a sample of each border, in words as well."""
        x, y, parts, words = self.x0 + 16, self.y0 + 20, ['<g class="legend">'], self.words
        samples = ((f'fill="#fff4d6" stroke="{_INK}" stroke-width="4"', words["legend_now"],
                    ' font-weight="bold"'),
                   (f'fill="#eef4fb" stroke="{_TAKEN}" stroke-width="3" stroke-dasharray="7 4"',
                    words["legend_visited"], ""))
        for box, text, style in samples:
            parts.append(f'<rect x="{_n(x)}" y="{_n(y - 9)}" width="30" height="18" rx="5" {box}/>')
            parts.append(_text(x + 38, y, [text], "start", extra=style))
            x += 38 + _width([text], _SMALL_FONT) + 30
        return ["".join(parts) + "</g>"]


def _lane_path(x0: float, y0: float, lane: float, y1: float, x1: float) -> str:
    """Go sideways from one box to the lane, along it, and sideways into the other box, rounding corners."""
    r = min(10.0, abs(y1 - y0) / 2)
    h0, v, h1 = (1 if lane > x0 else -1), (1 if y1 > y0 else -1), (1 if x1 > lane else -1)
    return (f"M{_n(x0)},{_n(y0)} H{_n(lane - h0 * r)} Q{_n(lane)},{_n(y0)} {_n(lane)},{_n(y0 + v * r)} "
            f"V{_n(y1 - v * r)} Q{_n(lane)},{_n(y1)} {_n(lane + h1 * r)},{_n(y1)} H{_n(x1)}")
