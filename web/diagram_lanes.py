"""The interventions beside the flowchart's picture: a lane per intervention, each its own lifecycle, side by side.

From version 3 an intervention is a record of its own (`policies.interventions`): proposed, decided, running,
ended, several at once while the case stands in its "interventions running" state. `web.diagram` draws the case's
path as before and, for a version with interventions, this panel to the right of it, joined by a dashed line to
the case's state where they run. The flowchart's picture has a lane per kind (each runs the same lifecycle); a
case's picture a lane per intervention of the case, its state marked as the case's states are (border, dash and a
text mark, never colour alone). Pure and deterministic, like `web.diagram`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from web.diagram import _INK as INK
from web.diagram import _LINE as LINE
from web.diagram import _PAD as PAD
from web.diagram import _SMALL_FONT as SMALL_FONT
from web.diagram import _TAKEN as TAKEN
from web.diagram import _n as n
from web.diagram import _text as text
from web.diagram import _width as width
from web.diagram import _wrap as wrap

if TYPE_CHECKING:
    from policies import Flowchart

__all__ = ["Lane", "Panel", "lanes_of_chart", "panel"]

_WORDS = {
    "sv": {"title": "Insatser: var och en för sig, flera samtidigt",
           "note": "Varje insats har sin egen livscykel och sitt eget samtycke.",
           "lanes": "Insatser", "now": "Nu", "visited": "Passerat"},
    "en": {"title": "Interventions: each its own, several at once",
           "note": "Each intervention has its own lifecycle and its own consent.",
           "lanes": "Interventions", "now": "Now", "visited": "Visited"},
}
_GAP_MIN, _ARC, _LABEL_WRAP, _BOX_WRAP = 64.0, 16.0, 16, 12


@dataclass(frozen=True)
class Lane:
    """One lane: a kind of intervention (the flowchart's picture) or one of the case's interventions."""

    title: str
    current: str | None = None  # the intervention's state now
    visited: tuple[str, ...] = ()  # the states it has passed through before


@dataclass(frozen=True)
class Panel:
    """The drawn panel: its SVG parts, its size, and what it shows in words for the picture's description."""

    parts: list[str]
    width: float
    height: float
    summary: str


def lanes_of_chart(chart: Flowchart, lang: str) -> list[Lane]:
    """A lane per kind of intervention, unmarked: the flowchart's own picture."""
    life = chart.interventions
    return [] if life is None else [Lane(kind.label(lang)) for kind in life.kinds.values()]


def panel(chart: Flowchart, lang: str, lanes: Sequence[Lane], x0: float, y0: float) -> Panel:
    """Draw the lifecycle once per lane, lanes stacked, the first lane carrying the steps' names."""
    life = chart.interventions
    assert life is not None  # noqa: S101 - web.diagram asks only for a version with interventions
    words = _WORDS["en" if lang == "en" else "sv"]
    order = list(life.states)
    index = {name: i for i, name in enumerate(order)}
    labels = {name: wrap(state.label(lang), _BOX_WRAP) for name, state in life.states.items()}
    marked = any(lane.current for lane in lanes)
    w = max(96.0, *(width(lines, SMALL_FONT, True) + 2 * PAD for lines in labels.values()),
            width([f"● {words['now']}", f"✓ {words['visited']}"], SMALL_FONT) + 2 * PAD)
    h = 2 * PAD + LINE * (max(len(lines) for lines in labels.values()) + marked)
    edges: dict[tuple[str, str], list[str]] = {}
    for t in life.transitions:
        names = edges.setdefault((t.source, t.dest), [])
        if t.label(lang) not in names:
            names.append(t.label(lang))
    near = {k: v for k, v in edges.items() if index[k[1]] == index[k[0]] + 1}
    far = sorted((k for k in edges if k not in near and k[0] != k[1]),
                 key=lambda k: (abs(index[k[1]] - index[k[0]]), index[k[0]]))
    texts = {k: [line for i, name in enumerate(v) for line in wrap(name + (" /" if i < len(v) - 1 else ""),
                                                                     _LABEL_WRAP)]
             for k, v in edges.items()}
    gap = max(_GAP_MIN, *(width(texts[k], SMALL_FONT) + 12 for k in near)) if near else _GAP_MIN
    above = max((len(texts[k]) for k in near), default=0) * LINE + 8
    depth = {k: _ARC * (i + 1) for i, k in enumerate(far)}
    below = (max(depth.values()) if depth else 0) + 6
    below_first = below + max((len(texts[k]) for k in far), default=0) * LINE + 10

    parts = ['<g class="interventions">']
    title = [words["title"]]
    parts.append(text(x0 + 12, y0 + 16, title, "start", size=14, extra=' font-weight="bold"', halo=False))
    parts.append(text(x0 + 12, y0 + 16 + LINE + 2, [words["note"]], "start", halo=False))
    y = y0 + 16 + 2 * LINE + 14
    for number, lane in enumerate(lanes):
        first = number == 0
        parts.append(text(x0 + 12, y + 8, [lane.title], "start", extra=' font-weight="bold"', halo=False))
        top = y + 20 + (above if first else 8)
        xs = {name: x0 + 12 + i * (w + gap) for i, name in enumerate(order)}
        for (source, dest), _names in edges.items():
            if source == dest:
                continue
            taken = source in lane.visited and (dest in lane.visited or dest == lane.current)
            stroke = (f'stroke="{TAKEN}" stroke-width="3"' if taken else 'stroke="#555555" stroke-width="1.5"')
            marker = "vd-arrow-taken" if taken else "vd-arrow"
            if (source, dest) in near:
                sx, dx, my = xs[source] + w, xs[dest], top + h / 2
                parts.append(f'<path class="edge{" taken" if taken else ""}" {stroke} fill="none" '
                             f'marker-end="url(#{marker})" d="M{n(sx)},{n(my)} H{n(dx)}"/>')
                if first:
                    lines = texts[source, dest]
                    parts.append(text((sx + dx) / 2, my - 8 - len(lines) * LINE / 2, lines))
            else:
                forward = index[dest] > index[source]
                sx = xs[source] + w / 2 + (12 if forward else -12)
                dx = xs[dest] + w / 2 - (12 if forward else -12)
                bottom, low = top + h, top + h + depth[source, dest]
                parts.append(f'<path class="edge{" taken" if taken else ""}" {stroke} fill="none" '
                             f'marker-end="url(#{marker})" d="M{n(sx)},{n(bottom)} V{n(low - 6)} '
                             f'Q{n(sx)},{n(low)} {n(sx + (6 if forward else -6))},{n(low)} '
                             f'H{n(dx - (6 if forward else -6))} Q{n(dx)},{n(low)} {n(dx)},{n(low - 6)} '
                             f'V{n(bottom)}"/>')
                if first:  # below the deepest arc, by the arc's own start: the arcs' names never meet
                    lines = texts[source, dest]
                    parts.append(text(sx + 4, top + h + below + 4 + len(lines) * LINE / 2, lines, "start"))
        for name in order:
            parts.append(_box(name, labels[name], xs[name], top, w, h, lane, words))
        y = top + h + (below_first if first else below) + 12
    parts.append("</g>")
    right = x0 + 12 + len(order) * w + (len(order) - 1) * gap + 12
    frame = (f'<rect x="{n(x0)}" y="{n(y0)}" width="{n(right - x0)}" height="{n(y - y0)}" rx="12" '
             f'fill="none" stroke="{INK}" stroke-width="1" stroke-dasharray="2 4"/>')
    steps = "; ".join(f"{life.states[s].label(lang)} → {life.states[d].label(lang)}: {' / '.join(v)}"
                      for (s, d), v in edges.items() if s != d)
    marks = "; ".join(f"{lane.title}: {life.states[lane.current].label(lang)}" for lane in lanes
                      if lane.current is not None and lane.current in life.states)
    summary = f"{words['title']}. {steps}." + (f" {words['lanes']}: {marks}." if marks else "")
    return Panel([frame, *parts], right - x0, y - y0, summary)


def _box(name: str, lines: list[str], x: float, y: float, w: float, h: float, lane: Lane,
         words: dict[str, str]) -> str:
    """One state of one lane's lifecycle; now and visited marked by border and text, as the case's states."""
    box, mark = f'fill="#ffffff" stroke="{INK}" stroke-width="1.5"', ""
    if name == lane.current:
        box, mark = f'fill="#fff4d6" stroke="{INK}" stroke-width="4"', f"● {words['now']}"
    elif name in lane.visited:
        box, mark = f'fill="#eef4fb" stroke="{TAKEN}" stroke-width="3" stroke-dasharray="7 4"', f"✓ {words['visited']}"
    shown = [*lines, *([mark] if mark else [])]
    return (f'<g class="intervention-state"><rect x="{n(x)}" y="{n(y)}" width="{n(w)}" height="{n(h)}" rx="8" '
            f'{box}/>' + text(x + w / 2, y + h / 2, shown, extra=' font-weight="bold"', halo=False) + "</g>")
