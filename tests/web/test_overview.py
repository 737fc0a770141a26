"""The coordinator's overview on both databases: de-identified counts, small cells hidden, no reference,
name or number on the page."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from cases import ConcernForm, register_concern
from cases.crypto.identity import generate_identity_number
from tests.web.test_reporter import assert_accessible, english, text


def register(db, staff, *, born: date, org: str, serial: int):
    number = generate_identity_number(born, serial)
    when = datetime.now(UTC) - timedelta(minutes=serial)
    ref = register_concern(db, staff["reporter"], ConcernForm(
        concern="Oro för en person.", reporter_org=org, identity_number=number, given_name="Ulla",
    ), now=when).ref
    return ref, number


def row(html: str, heading: str) -> str:
    """The count in the table row headed `heading` (the first such row on the page)."""
    found = re.search(rf'<th scope="row">{re.escape(heading)}</th><td>([^<]*)</td>', html)
    assert found, heading
    return found.group(1)


def section(html: str, section_id: str) -> str:
    return html[html.index(f'id="{section_id}"'):].split("</section>", 1)[0]


@pytest.fixture
def coordinator(client_as):
    return english(client_as("coordinator"), "/overview")


def test_the_overview_counts_concerns_and_hides_small_cells(app, db, staff, coordinator):
    made = [register(db, staff, born=date(1990, 1, 1), org="school", serial=100 + i) for i in range(6)]
    made += [register(db, staff, born=date(2012, 5, 17), org="leisure", serial=200 + i) for i in range(2)]
    assert coordinator.get("/").headers["Location"].endswith("/overview")
    page = coordinator.get("/overview")
    html = text(page)
    assert page.status_code == 200
    assert_accessible(html)
    assert "Concerns registered in total: <strong>8</strong>" in html
    orgs = section(html, "h-org")
    assert row(orgs, "School") == "6" and row(orgs, "Youth and leisure services") == "fewer than 5"
    assert row(section(html, "h-state"), "Concern registered") == "8"
    ages = section(html, "h-age")  # 2 children: the adults are hidden too, or the children could be worked out
    assert row(ages, "Child (under 18)") == row(ages, "Adult (18 or older)") == "fewer than 5"
    assert row(section(html, "h-month"), datetime.now(UTC).strftime("%Y-%m")) in ("8", "fewer than 5")
    assert not re.search(r"<td>[1-4]</td>", html)  # no count between 1 and 4 is ever shown
    assert "VO-" not in html and "Ulla" not in html
    for ref, number in made:
        assert ref not in html and number not in html and number[:8] not in html


def test_an_empty_picture_shows_no_numbers(app, coordinator):
    html = text(coordinator.get("/overview"))
    assert "Concerns registered in total: <strong>fewer than 5</strong>" in html
    assert not re.search(r"<td>\d+</td>", html)


def test_only_coordinators_see_the_overview(client_as):
    for role in ("reporter", "intake", "caseworker", "decider", "partner", "auditor", "admin"):
        assert client_as(role).get("/overview").status_code == 403
