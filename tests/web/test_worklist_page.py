"""The work list page: each row's state and deadline by their labels, badges in words, everything escaped."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from flask import session

from cases import ConcernForm, register_concern
from cases.flowcharts import current_engine
from cases.identity import generate_identity_number
from cases.worklist import WorkItem
from tests.conftest import NOW
from web.worklist import _labels, _rows, _state_options

WORDS = {
    "sv": {"overdue": "försenad", "soon": "går snart ut", "none": "ingen löper", "acute": "akut fara",
           "investigation": "Utredning", "protection": "Skyddsbedömning genast"},
    "en": {"overdue": "overdue", "soon": "due soon", "none": "none running", "acute": "acute danger",
           "investigation": "Investigation", "protection": "Protection assessment at once"},
}
RECEIVED = datetime(2026, 7, 1, 22, 30, tzinfo=UTC)  # 00:30 the next day in Stockholm (summer time)


def item(ref: str, **changes) -> WorkItem:
    fields = {"ref": ref, "state": "investigation", "received_at": RECEIVED, "acute_danger": False,
              "deadline": "protection_assessment", "due_on": date(2026, 7, 3), "overdue": False, "soon": False}
    return WorkItem(**{**fields, **changes})


class Cells(HTMLParser):
    """The text of each row's cells, and the classes of the badges in each cell."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.badges: list[list[list[str]]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
            self.badges.append([])
        elif tag in ("th", "td"):
            self.rows[-1].append("")
            self.badges[-1].append([])
        elif tag == "span":
            self.badges[-1][-1].append(dict(attrs)["class"])

    def handle_data(self, data):
        if self.rows and self.rows[-1]:
            self.rows[-1][-1] += data


def labelled(states: dict[str, str], deadlines: dict[str, str]):
    """An engine whose flowchart has these state and deadline labels (the same in both languages)."""
    def named(labels):
        return {name: SimpleNamespace(label={"sv": text, "en": text}) for name, text in labels.items()}

    return SimpleNamespace(version=uuid.uuid4().hex, chart=SimpleNamespace(states=named(states),
                                                                           deadlines=named(deadlines)))


def rendered(app, lang: str, items, states=None, deadlines=None) -> tuple[str, Cells]:
    with app.test_request_context("/cases"):
        session["lang"] = lang
        engine = current_engine() if states is None else labelled(states, deadlines or {})
        html = str(_rows(items, *_labels(engine, lang)))
    cells = Cells()
    cells.feed(html)
    return html, cells


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_each_row_says_its_state_received_time_deadline_and_badge_in_words(app, lang):
    words = WORDS[lang]
    items = [item("VO-A", overdue=True, acute_danger=True), item("VO-B", soon=True), item("VO-C"),
             item("VO-D", deadline=None, due_on=None)]
    html, cells = rendered(app, lang, items)
    spaced = [[" ".join(c.split()) for c in row] for row in cells.rows]
    assert spaced == [
        [f"VO-A {words['acute']}", words["investigation"], "2026-07-02 00:30",
         f"{words['protection']}, 2026-07-03 {words['overdue']}"],
        ["VO-B", words["investigation"], "2026-07-02 00:30", f"{words['protection']}, 2026-07-03 {words['soon']}"],
        ["VO-C", words["investigation"], "2026-07-02 00:30", f"{words['protection']}, 2026-07-03"],
        ["VO-D", words["investigation"], "2026-07-02 00:30", words["none"]],
    ]
    assert cells.badges == [[["badge badge-overdue"], [], [], ["badge badge-overdue"]],
                            [[], [], [], ["badge badge-soon"]], [[], [], [], []], [[], [], [], ["hint"]]]
    assert re.findall(r'<a href="([^"]+)">', html) == ["/cases/VO-A", "/cases/VO-B", "/cases/VO-C", "/cases/VO-D"]
    assert all(re.search(r'<th scope="row">', row) for row in html.split("<tr>")[1:])


def test_every_value_is_escaped_and_unknown_codes_show_as_themselves(app):
    odd = '<img src=x onerror="alert(1)">&'
    html, cells = rendered(app, "en", [item(odd, state=odd, deadline=odd)],
                           states={"investigation": "<b>label</b>"}, deadlines={"x": "y"})
    assert "<img" not in html and "<b>" not in html and "&amp;" in html
    assert [" ".join(c.split()) for c in cells.rows[0]] == [odd, odd, "2026-07-02 00:30", f"{odd}, 2026-07-03"]
    html, cells = rendered(app, "en", [item("VO-E")], states={"investigation": "<b>label</b>"})
    assert "&lt;b&gt;label&lt;/b&gt;" in html and cells.rows[0][1].strip() == "<b>label</b>"


def test_the_page_shows_a_registered_case_with_its_running_deadline_in_both_languages(client_as, db, staff):
    fired = register_concern(db, staff["reporter"], ConcernForm(
        concern="Oro för en elev.", reporter_org="school", acute_danger=True,
        identity_number=generate_identity_number(date(2012, 2, 3), 7)), now=NOW)
    client = client_as("decider")
    for lang in ("sv", "en"):
        with client.session_transaction() as stored:
            stored["lang"] = lang
        page = client.get("/cases").get_data(as_text=True)
        row = re.search(rf'<tr>\s*<th scope="row"><a href="/cases/{fired.ref}">.*?</tr>', page, re.S)
        assert row, page
        text = " ".join(re.sub(r"<[^>]+>", " ", row.group(0)).split())
        assert WORDS[lang]["acute"] in text and WORDS[lang]["protection"] in text
        assert WORDS[lang]["overdue"] in text  # registered on NOW, shown today: the same-day deadline has passed


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_state_filter_offers_every_state_by_its_label_with_the_chosen_one_selected(client_as, db, lang):
    chart = current_engine().chart
    client = client_as("decider")
    with client.session_transaction() as stored:
        stored["lang"] = lang
    for asked, chosen in (("investigation", "investigation"), ("sig", "sig"), ("no-such-state", None), ("", None)):
        page = client.get(f"/cases?state={asked}").get_data(as_text=True)
        options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', page)
        assert [value for value, _, _ in options] == ["", *chart.states]
        assert [value for value, selected, _ in options if selected] == ([chosen] if chosen else [])
        labels = dict((value, text) for value, _, text in options)
        assert labels["investigation"] == WORDS[lang]["investigation"]


def test_the_state_filter_escapes_labels_and_is_written_apart_per_language_and_choice(app):
    engine = labelled({"a": "<b>A</b>", "b": "B & C"}, {})
    with app.test_request_context("/cases"):
        one = str(_state_options(engine, "en", "a"))
        assert one == ('      <option value="a" selected>&lt;b&gt;A&lt;/b&gt;</option>\n'
                       '      <option value="b">B &amp; C</option>\n')
        assert 'value="b" selected' in str(_state_options(engine, "en", "b"))
        assert "selected" not in str(_state_options(engine, "sv", None))
        assert str(_state_options(engine, "en", "a")) == one
