"""The work list page: each row's state and deadline by their labels, badges in words, everything escaped,
links under the mount point, pages by cursor."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from flask import render_template, session

from cases import ConcernForm, register_concern
from cases.casework.worklist import PER_PAGE, WorkItem, WorkList
from cases.crypto.identity import generate_identity_number
from cases.flowcharts import RELATIVE, current_engine
from cases.reports.demo import PATHS, fill_demo
from tests.conftest import NOW
from web.worklist import labels

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


def listing(items=()) -> WorkList:
    return WorkList(tuple(items), has_next=False, has_previous=False, next_cursor=None, previous_cursor=None)


def rendered(app, lang: str, items, states=None, deadlines=None) -> tuple[str, Cells]:
    with app.test_request_context("/cases"):
        session["lang"] = lang
        engine = current_engine() if states is None else labelled(states, deadlines or {})
        found_states, found_deadlines = labels(engine.chart)
        html = render_template("_worklist_rows.html", listing=listing(items), states=found_states,
                               deadlines=found_deadlines)
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
@pytest.mark.usefixtures("flowchart_v2")
def test_the_state_filter_offers_every_state_by_its_label_with_the_chosen_one_selected(client_as, db, lang):
    chart = current_engine().chart
    client = client_as("decider")
    with client.session_transaction() as stored:
        stored["lang"] = lang
    for asked, chosen in (("investigation", "investigation"), ("sig", "sig"), ("no-such-state", None), ("", None)):
        page = client.get(f"/cases?state={asked}").get_data(as_text=True)
        options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', page)
        # the subject's flowchart's states first, then those only a relative's own matter has (it is listed too)
        relative_only = [name for name in current_engine(RELATIVE).chart.states if name not in chart.states]
        assert relative_only and [value for value, _, _ in options] == ["", *chart.states, *relative_only]
        assert [value for value, selected, _ in options if selected] == ([chosen] if chosen else [])
        labels = dict((value, text) for value, _, text in options)
        assert labels["investigation"] == WORDS[lang]["investigation"]


def filter_options(app, lang: str, engine, chosen: str | None) -> list[tuple[str, str, str]]:
    with app.test_request_context("/cases"):
        session["lang"] = lang
        states, deadlines = labels(engine.chart)
        page = render_template("worklist.html", listing=listing(), states=states, deadlines=deadlines,
                               state=chosen, bad_cursor=False, first_page=True)
    return re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', page)


def test_the_state_filter_escapes_labels_and_marks_the_chosen_one(app):
    engine = labelled({"a": "<b>A</b>", "b": "B & C"}, {})
    assert filter_options(app, "en", engine, "a") == [
        ("", "", "All states"), ("a", " selected", "&lt;b&gt;A&lt;/b&gt;"), ("b", "", "B &amp; C")]
    assert [value for value, selected, _ in filter_options(app, "en", engine, "b") if selected] == ["b"]
    assert not [value for value, selected, _ in filter_options(app, "sv", engine, None) if selected]


def test_the_links_of_the_work_list_follow_the_mount_point(client_as, db):
    """Served under a prefix (SCRIPT_NAME, e.g. behind a proxy at /vidoro), every link of the page carries it:
    the cases, the filter and the pages (the rows once linked to /cases/... whatever the mount point)."""
    refs = fill_demo(db, per_state=2 * PER_PAGE // len(PATHS), now=NOW)  # the decider sees more than a page
    assert len(refs) > PER_PAGE
    client = client_as("decider")
    root = "http://localhost/vidoro"
    first = client.get("/cases", base_url=root).get_data(as_text=True)
    links = re.findall(r'<(?:a|form)[^>]* (?:href|action)="([^"]+)"', first)
    cases = [link for link in links if "/cases/" in link]
    assert len(cases) == PER_PAGE and all(link.startswith("/vidoro/cases/") for link in cases), cases
    assert all(link.startswith("/vidoro/") for link in links if link != "#main"), links  # "#main": skip link
    [after] = re.findall(r'<a href="([^"]+)" rel="next">', first)
    assert after.startswith("/vidoro/cases?cursor=")
    second = client.get(after.removeprefix("/vidoro").replace("&amp;", "&"), base_url=root).get_data(as_text=True)
    assert re.search(r'<a href="/vidoro/cases\?cursor=[^"]+" rel="prev">', second), second
    assert '<a href="/vidoro/cases">' in second  # the first page
    assert not set(re.findall(r'href="/vidoro/cases/([^"]+)"', second)) & {link.rsplit("/", 1)[1] for link in cases}


def test_a_cursor_that_is_not_ours_shows_the_first_page_and_says_why(client_as, db):
    fill_demo(db, per_state=1, now=NOW)
    client = client_as("decider")
    with client.session_transaction() as stored:
        stored["lang"] = "en"
    first = client.get("/cases").get_data(as_text=True)
    response = client.get("/cases?cursor=not-a-cursor")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "could not be found; this is the first page" in page
    rows = re.findall(r'<th scope="row"><a href="([^"]+)"', page)
    assert rows and rows == re.findall(r'<th scope="row"><a href="([^"]+)"', first)
    assert "could not be found" not in first


def test_a_version_2_case_in_sig_is_found_by_its_state_after_version_3_ships(client_as, db, staff, monkeypatch):
    from tests.cases.test_old_version_states import _in_sig_on_v2

    ref = _in_sig_on_v2(db, staff, monkeypatch)
    page = client_as("decider").get("/cases?state=sig").get_data(as_text=True)
    options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', page)
    assert ("sig", " selected", "Social insatsgrupp") in options
    assert f'href="/cases/{ref}"' in page
